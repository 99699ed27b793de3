// The opencode web UI: sessions, chat with streamed markdown, tool calls and their diffs,
// permission and question prompts, agent and model pickers, abort, undo and redo, a file panel
// with the changed files, cost and context usage. Plain DOM, no framework: every piece of
// model or file text goes in through textContent (see markdown.js), never as HTML.

import { api } from "./api.js";
import { codeBlock, h, languageOf, renderDiff, renderMarkdown, unifiedDiff } from "./markdown.js";

const $ = (id) => document.getElementById(id);

const state = {
  sessions: new Map(), // id -> Session
  current: null, // the open session's id
  messages: [], // the open session's [{info, parts: []}] in order
  status: new Map(), // sessionID -> "idle" | "busy" | "retry"
  permissions: new Map(), // requestID -> permission.asked properties
  questions: new Map(), // requestID -> question.asked properties
  agents: [],
  providers: [],
  models: new Map(), // "provider/model" -> {provider, model}
  agent: localStorage.getItem("opencode.agent") || null,
  model: localStorage.getItem("opencode.model") || null,
  search: "",
  panel: "changes",
  openTools: new Set(), // tool part ids the user expanded
  closedTools: new Set(), // tool part ids the user collapsed
  pendingDelete: null,
  loadSeq: 0,
  backlog: null, // while a session's messages load: the message events that came meanwhile
};

// --- small helpers --------------------------------------------------------------------------------

function toast(message, kind = "error") {
  const item = h("div", { class: `toast ${kind}`, role: "status", "data-testid": "toast", text: String(message) });
  $("toasts").append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 3500);
}

async function attempt(work) {
  try {
    return await work();
  } catch (error) {
    toast(error.message || String(error));
    return undefined;
  }
}

function ago(ms) {
  if (!ms) return "";
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(ms).toLocaleDateString();
}

function compact(n) {
  const short = (value, unit) => `${value.toFixed(value < 10 ? 1 : 0).replace(/\.0$/, "")}${unit}`;
  if (n >= 1_000_000) return short(n / 1_000_000, "M");
  if (n >= 1000) return short(n / 1000, "k");
  return String(n);
}

function money(n) {
  return `$${(n || 0).toFixed(n >= 1 ? 2 : 4)}`;
}

// A path inside the session's project, shown relative to it.
function rel(path) {
  if (typeof path !== "string") return path;
  const root = current()?.directory;
  return root && path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
}

function isMobile() {
  return window.matchMedia("(max-width: 800px)").matches;
}

function closeDrawers() {
  document.body.classList.remove("drawer-open", "files-open");
}

// --- sessions -------------------------------------------------------------------------------------

function renderSessions() {
  const list = $("session-list");
  const query = state.search.trim().toLowerCase();
  const sessions = [...state.sessions.values()]
    .filter((s) => !s.parentID && !s.time?.archived)
    .filter((s) => !query || (s.title || "").toLowerCase().includes(query))
    .sort((a, b) => (b.time?.updated || 0) - (a.time?.updated || 0));
  list.replaceChildren(
    ...sessions.map((s) => {
      const asks = [...state.permissions.values(), ...state.questions.values()].filter((p) => p.sessionID === s.id);
      const busy = state.status.get(s.id) === "busy" || state.status.get(s.id) === "retry";
      const confirming = state.pendingDelete === s.id;
      const del = h("button", {
        class: `icon del${confirming ? " confirm" : ""}`,
        type: "button",
        title: confirming ? "Click again to delete" : "Delete session",
        "aria-label": "Delete session",
        "data-testid": "delete-session",
        text: confirming ? "delete?" : "×",
        onclick: (event) => {
          event.stopPropagation();
          if (state.pendingDelete !== s.id) {
            state.pendingDelete = s.id;
            renderSessions();
            return;
          }
          state.pendingDelete = null;
          attempt(async () => {
            await api.deleteSession(s.id);
            removeSession(s.id);
          });
        },
      });
      return h(
        "li",
        {
          class: `session${s.id === state.current ? " active" : ""}`,
          "data-testid": "session-item",
          "data-id": s.id,
          tabindex: 0,
          onclick: () => openSession(s.id),
          onkeydown: (event) => event.key === "Enter" && openSession(s.id),
        },
        h(
          "div",
          { class: "session-main" },
          h("span", { class: "session-title", text: s.title || "Untitled" }),
          h(
            "span",
            { class: "session-meta" },
            busy ? h("span", { class: "dot busy", title: "working" }) : null,
            asks.length ? h("span", { class: "badge", text: `${asks.length} waiting` }) : null,
            ago(s.time?.updated),
          ),
        ),
        del,
      );
    }),
  );
  if (!sessions.length) list.append(h("li", { class: "empty", text: query ? "No session matches" : "No sessions yet" }));
}

function upsertSession(info) {
  const before = state.sessions.get(info.id);
  state.sessions.set(info.id, info);
  renderSessions();
  if (info.id === state.current) {
    renderHeader();
    // Only an undo or redo changes which messages show; other updates (title, time) leave them be.
    if (JSON.stringify(before?.revert ?? null) !== JSON.stringify(info.revert ?? null)) renderMessages();
  }
}

function removeSession(id) {
  state.sessions.delete(id);
  if (state.current === id) {
    state.current = null;
    state.messages = [];
    history.replaceState(null, "", "#");
    renderAll();
  }
  renderSessions();
}

async function newSession() {
  const info = await attempt(() => api.createSession({}));
  if (!info) return;
  state.sessions.set(info.id, info);
  await openSession(info.id);
  $("prompt").focus();
}

async function openSession(id) {
  if (!state.sessions.has(id)) {
    const info = await attempt(() => api.session(id));
    if (!info) return;
    state.sessions.set(id, info);
  }
  state.current = id;
  state.pendingDelete = null;
  history.replaceState(null, "", `#/session/${encodeURIComponent(id)}`);
  if (isMobile()) closeDrawers();
  const seq = ++state.loadSeq;
  state.messages = [];
  state.backlog = []; // events that arrive while the messages load, replayed over them
  renderAll();
  const messages = await attempt(() => api.messages(id));
  if (seq !== state.loadSeq) return;
  state.messages = (messages || []).map((m) => ({ info: m.info, parts: [...(m.parts || [])] }));
  const backlog = state.backlog;
  state.backlog = null;
  for (const event of backlog) handle(event);
  renderMessages(true);
  renderHeader();
  refreshChanges();
}

function current() {
  return state.current ? state.sessions.get(state.current) : null;
}

// --- messages -------------------------------------------------------------------------------------

function visibleMessages() {
  const session = current();
  const cut = session?.revert?.messageID;
  if (!cut) return state.messages;
  const index = state.messages.findIndex((m) => m.info.id === cut);
  return index < 0 ? state.messages : state.messages.slice(0, index);
}

function revertedCount() {
  return state.messages.length - visibleMessages().length;
}

let renderQueued = false;
const dirty = new Set();

function scheduleMessage(id) {
  dirty.add(id);
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const ids = [...dirty];
    dirty.clear();
    const stick = nearBottom();
    for (const messageID of ids) updateMessage(messageID);
    renderHeader();
    if (stick) scrollToBottom();
  });
}

function nearBottom() {
  const box = $("messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
}

function scrollToBottom() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

function renderMessages(toBottom = false) {
  const box = $("messages");
  const stick = toBottom || nearBottom();
  const shown = visibleMessages();
  const nodes = shown.map(messageEl).filter(Boolean);
  if (!state.current) nodes.push(welcome());
  else if (!shown.length && !revertedCount()) nodes.push(h("div", { class: "hint", text: "Send a message to start." }));
  const undone = revertedCount();
  if (undone) {
    nodes.push(
      h(
        "div",
        { class: "reverted", "data-testid": "reverted" },
        `${undone} message${undone === 1 ? "" : "s"} undone. `,
        h("button", { class: "link", type: "button", text: "Redo", onclick: redo }),
      ),
    );
  }
  box.replaceChildren(...nodes);
  renderPrompts();
  if (stick) scrollToBottom();
}

function welcome() {
  return h(
    "div",
    { class: "welcome" },
    h("h1", { text: "opencode" }),
    h("p", { text: "Pick a session on the left, or start a new one." }),
    h("button", { class: "primary", type: "button", text: "New session", onclick: newSession }),
  );
}

function updateMessage(id) {
  const message = state.messages.find((m) => m.info.id === id);
  const old = document.querySelector(`#messages [data-message="${CSS.escape(id)}"]`);
  if (!message) {
    old?.remove();
    return;
  }
  if (!visibleMessages().includes(message)) return;
  const fresh = messageEl(message);
  if (old && fresh) old.replaceWith(fresh);
  else if (old) old.remove();
  else if (fresh) {
    const box = $("messages");
    const tail = box.querySelector(".reverted, .hint");
    tail?.classList.contains("hint") && tail.remove();
    box.insertBefore(fresh, box.querySelector(".reverted"));
  }
}

function messageEl(message) {
  const { info, parts } = message;
  const body = parts.map((p) => partEl(p, info)).filter(Boolean);
  if (info.role === "user") {
    if (!body.length) return null;
    return h(
      "article",
      { class: "msg user", "data-message": info.id, "data-role": "user", "data-testid": "message" },
      h("div", { class: "bubble" }, body),
    );
  }
  const meta = [];
  if (info.error && info.error.name !== "MessageAbortedError") {
    body.push(h("div", { class: "error", "data-testid": "message-error", text: info.error.data?.message || info.error.name }));
  } else if (info.error) {
    body.push(h("div", { class: "note", text: "Interrupted" }));
  }
  const model = info.modelID ? `${info.modelID}` : "";
  if (model) meta.push(model);
  if (info.agent || info.mode) meta.push(info.agent || info.mode);
  if (info.time?.completed) {
    if (info.cost) meta.push(money(info.cost));
    const t = info.tokens || {};
    const total = (t.input || 0) + (t.output || 0) + (t.reasoning || 0) + (t.cache?.read || 0) + (t.cache?.write || 0);
    if (total) meta.push(`${compact(total)} tokens`);
    if (info.time.created) meta.push(`${((info.time.completed - info.time.created) / 1000).toFixed(1)}s`);
  } else if (!info.error) {
    meta.push("working…");
  }
  return h(
    "article",
    { class: "msg assistant", "data-message": info.id, "data-role": "assistant", "data-testid": "message" },
    body,
    h("footer", { class: "msg-meta", text: meta.join(" · ") }),
  );
}

function partEl(part, info) {
  switch (part.type) {
    case "text":
      if (part.synthetic || part.ignored) return null;
      if (!part.text && info.role === "assistant") return null;
      return info.role === "user"
        ? h("div", { class: "part text plain", "data-testid": "part-text", text: part.text })
        : h("div", { class: "part text", "data-testid": "part-text" }, renderMarkdown(part.text));
    case "reasoning":
      if (!part.text) return null;
      return remembered(
        h(
          "details",
          { class: "part reasoning", open: state.openTools.has(part.id) || undefined },
          h("summary", { text: part.time?.end ? "Thought" : "Thinking…" }),
          renderMarkdown(part.text),
        ),
        part.id,
      );
    case "tool":
      return toolEl(part);
    case "file":
      return h("div", { class: "part file", text: `📎 ${part.filename || part.url}` });
    case "patch":
      return part.files?.length
        ? h("div", { class: "part patch", text: `Changed ${part.files.map((f) => f.split("/").pop()).join(", ")}` })
        : null;
    case "agent":
      return h("div", { class: "part note", text: `@${part.name}` });
    case "subtask":
      return h("div", { class: "part note", text: `Sub-agent ${part.agent}: ${part.description}` });
    case "compaction":
      return h("div", { class: "part note", text: "Conversation compacted" });
    case "retry":
      return h("div", { class: "part note warn", text: `Retrying (attempt ${part.attempt}): ${part.error?.data?.message || ""}` });
    default:
      return null; // step-start, step-finish, snapshot
  }
}

const TOOL_LABELS = {
  bash: (i) => i.command,
  read: (i) => i.filePath,
  write: (i) => i.filePath,
  edit: (i) => i.filePath,
  multiedit: (i) => i.filePath,
  list: (i) => i.path,
  glob: (i) => i.pattern,
  grep: (i) => i.pattern,
  webfetch: (i) => i.url,
  task: (i) => i.description,
  todowrite: () => "todos",
};

const FILE_TOOLS = new Set(["read", "write", "edit", "multiedit", "list", "glob", "grep", "apply_patch", "patch"]);

function toolEl(part) {
  const st = part.state || {};
  const input = st.input || {};
  const meta = st.metadata || {};
  const label = rel(st.title || TOOL_LABELS[part.tool]?.(input) || "");
  const diff = typeof meta.diff === "string" && meta.diff ? meta.diff : null;
  const running = st.status === "pending" || st.status === "running";
  const asked = [...state.permissions.values()].some((p) => p.tool?.callID === part.callID);
  const open = state.openTools.has(part.id) || (!state.closedTools.has(part.id) && (diff || st.status === "error" || asked));
  const body = [];
  if (part.tool === "bash" && input.command) body.push(h("pre", { class: "cmd", text: `$ ${input.command}` }));
  if (diff) body.push(renderDiff(diff));
  if (st.status === "error") body.push(h("pre", { class: "tool-error", "data-testid": "tool-error", text: st.error }));
  const output = typeof meta.output === "string" && part.tool === "bash" ? meta.output : st.output;
  if (st.status === "completed" && output && !diff) body.push(outputEl(output));
  const child = typeof meta.sessionId === "string" ? meta.sessionId : null;
  if (part.tool === "task" && child) {
    body.push(h("button", { class: "link", type: "button", text: "Open the sub-agent's session", onclick: () => openSession(child) }));
  }
  if (!body.length && part.tool === "write" && typeof input.content === "string") {
    body.push(codeBlock(input.content, languageOf(input.filePath)));
  } else if (!body.length && Object.keys(input).length && !FILE_TOOLS.has(part.tool) && part.tool !== "bash") {
    body.push(h("pre", { class: "tool-input", text: JSON.stringify(input, null, 2) }));
  }
  const details = h(
    "details",
    {
      class: `part tool ${st.status || "pending"}`,
      "data-testid": "tool",
      "data-tool": part.tool,
      "data-status": st.status || "pending",
      open: open || undefined,
    },
    h(
      "summary",
      null,
      h("span", { class: `tool-dot ${st.status}`, "aria-hidden": "true" }),
      h("span", { class: "tool-name", text: part.tool }),
      h("span", { class: "tool-title", text: label }),
      running ? h("span", { class: "spinner", "aria-label": "running" }) : null,
      meta.additions || meta.deletions
        ? h("span", { class: "counts" }, h("span", { class: "add", text: `+${meta.additions || 0}` }), h("span", { class: "del", text: ` -${meta.deletions || 0}` }))
        : null,
    ),
    h("div", { class: "tool-body" }, body),
  );
  return remembered(details, part.id);
}

// A <details> whose open or closed state outlives the re-render of its message.
function remembered(details, id) {
  details.addEventListener("toggle", () => {
    if (details.open) {
      state.openTools.add(id);
      state.closedTools.delete(id);
    } else {
      state.openTools.delete(id);
      state.closedTools.add(id);
    }
  });
  return details;
}

function outputEl(text) {
  const limit = 4000;
  const pre = h("pre", { class: "tool-output", "data-testid": "tool-output", text: text.length > limit ? text.slice(0, limit) : text });
  if (text.length <= limit) return pre;
  const more = h("button", {
    class: "link",
    type: "button",
    text: `Show all (${compact(text.length)} characters)`,
    onclick: () => {
      pre.textContent = text;
      more.remove();
    },
  });
  return h("div", null, pre, more);
}

function findMessage(id) {
  return state.messages.find((m) => m.info.id === id);
}

function upsertMessage(info) {
  if (info.sessionID !== state.current) return;
  const found = findMessage(info.id);
  if (found) found.info = info;
  else state.messages.push({ info, parts: [] });
  scheduleMessage(info.id);
}

function upsertPart(part, delta) {
  if (part.sessionID !== state.current) return;
  let message = findMessage(part.messageID);
  if (!message) {
    // A part before its message (a page that connected mid-turn): hold it under a placeholder.
    message = { info: { id: part.messageID, sessionID: part.sessionID, role: "assistant", time: {} }, parts: [] };
    state.messages.push(message);
  }
  const index = message.parts.findIndex((p) => p.id === part.id);
  if (index >= 0) message.parts[index] = part;
  else message.parts.push(part);
  void delta;
  scheduleMessage(message.info.id);
}

function appendDelta(props) {
  // opencode's newer `message.part.delta`: {sessionID, messageID, partID, field, delta}
  if (props.sessionID !== state.current) return;
  const message = findMessage(props.messageID);
  const part = message?.parts.find((p) => p.id === props.partID);
  if (!part) return;
  const field = props.field || "text";
  part[field] = (part[field] || "") + (props.delta || "");
  scheduleMessage(message.info.id);
}

// --- the header: title, status, usage, undo/redo --------------------------------------------------

function usage() {
  let cost = 0;
  let last = null;
  for (const { info } of visibleMessages()) {
    if (info.role !== "assistant") continue;
    cost += info.cost || 0;
    const t = info.tokens;
    if (t && (t.input || t.output)) last = info;
  }
  let tokens = 0;
  let limit = 0;
  if (last) {
    const t = last.tokens;
    tokens = (t.input || 0) + (t.output || 0) + (t.reasoning || 0) + (t.cache?.read || 0) + (t.cache?.write || 0);
    limit = state.models.get(`${last.providerID}/${last.modelID}`)?.model?.limit?.context || 0;
  }
  return { cost, tokens, limit };
}

function renderHeader() {
  const session = current();
  $("title").textContent = session ? session.title || "Untitled" : "opencode";
  document.title = session ? `${session.title || "Untitled"} · opencode` : "opencode";
  const busy = session && (state.status.get(session.id) === "busy" || state.status.get(session.id) === "retry");
  $("status").textContent = busy ? (state.status.get(session.id) === "retry" ? "retrying…" : "working…") : "";
  $("status").classList.toggle("busy", Boolean(busy));
  const { cost, tokens, limit } = usage();
  const parts = [];
  if (session) parts.push(money(cost));
  if (tokens) parts.push(limit ? `${compact(tokens)} / ${compact(limit)} (${Math.round((tokens / limit) * 100)}%)` : `${compact(tokens)} tokens`);
  $("usage").textContent = parts.join(" · ");
  $("usage").title = limit ? "Cost of this session · tokens in context / the model's context window" : "Cost of this session";
  const bar = $("context-bar");
  bar.style.width = limit ? `${Math.min(100, (tokens / limit) * 100).toFixed(1)}%` : "0";
  const parent = $("parent");
  parent.hidden = !session?.parentID;
  parent.onclick = session?.parentID ? () => openSession(session.parentID) : null;
  $("undo").disabled = !session || busy || !undoTarget();
  $("redo").disabled = !session || busy || !session.revert;
  $("send").hidden = Boolean(busy);
  $("abort").hidden = !busy;
}

function undoTarget() {
  const users = visibleMessages().filter(
    (m) => m.info.role === "user" && !m.parts.every((p) => p.type === "text" && p.synthetic),
  );
  return users.length ? users[users.length - 1] : null;
}

async function undo() {
  const session = current();
  const target = undoTarget();
  if (!session || !target) return;
  const info = await attempt(() => api.revert(session.id, target.info.id));
  if (!info) return;
  upsertSession(info);
  const text = target.parts
    .filter((p) => p.type === "text" && !p.synthetic)
    .map((p) => p.text)
    .join("\n");
  const prompt = $("prompt");
  if (!prompt.value.trim()) {
    prompt.value = text;
    autosize();
  }
  refreshChanges();
}

async function redo() {
  const session = current();
  if (!session?.revert) return;
  const info = await attempt(() => api.unrevert(session.id));
  if (!info) return;
  upsertSession(info);
  refreshChanges();
}

// --- composer -------------------------------------------------------------------------------------

function modelRef() {
  const value = state.model || $("model").value;
  if (!value || !value.includes("/")) return undefined;
  const cut = value.indexOf("/");
  return { providerID: value.slice(0, cut), modelID: value.slice(cut + 1) };
}

async function send(event) {
  event?.preventDefault();
  const prompt = $("prompt");
  const text = prompt.value.trim();
  if (!text) return;
  if (!state.current) {
    const info = await attempt(() => api.createSession({}));
    if (!info) return;
    state.sessions.set(info.id, info);
    await openSession(info.id);
  }
  const id = state.current;
  const session = current();
  if (session?.revert) {
    // A prompt after an undo makes it final: the engine deletes the undone messages (it sends no
    // message.removed for them), so they go here too.
    state.messages = visibleMessages();
    state.sessions.set(id, { ...session, revert: undefined });
    renderMessages(true);
  }
  const body = { parts: [{ type: "text", text }] };
  if (state.agent) body.agent = state.agent;
  const model = modelRef();
  if (model) body.model = model;
  prompt.value = "";
  autosize();
  state.status.set(id, "busy");
  renderHeader();
  const ok = await attempt(() => api.promptAsync(id, body));
  if (ok === undefined) {
    prompt.value = text;
    state.status.set(id, "idle");
    renderHeader();
  }
}

async function abort() {
  if (!state.current) return;
  await attempt(() => api.abort(state.current));
}

function autosize() {
  const prompt = $("prompt");
  prompt.style.height = "auto";
  prompt.style.height = `${Math.min(prompt.scrollHeight, window.innerHeight * 0.4)}px`;
}

function renderPickers() {
  const agentSelect = $("agent");
  const primary = state.agents.filter((a) => a.mode !== "subagent" && !a.hidden);
  if (!state.agent || !primary.some((a) => a.name === state.agent)) {
    state.agent = (primary.find((a) => a.name === "build") || primary[0])?.name || null;
  }
  agentSelect.replaceChildren(
    ...primary.map((a) => h("option", { value: a.name, selected: a.name === state.agent, title: a.description || "", text: a.name })),
  );
  const modelSelect = $("model");
  const groups = state.providers.map((p) =>
    h(
      "optgroup",
      { label: p.name || p.id },
      Object.values(p.models || {}).map((m) =>
        h("option", { value: `${p.id}/${m.id}`, selected: `${p.id}/${m.id}` === state.model, text: m.name || m.id }),
      ),
    ),
  );
  modelSelect.replaceChildren(...groups);
  if (state.model && state.models.has(state.model)) modelSelect.value = state.model;
  else state.model = modelSelect.value || null;
}

// --- permission and question prompts --------------------------------------------------------------

const cards = new Map(); // request id -> its card, kept while it waits (a half-typed answer survives re-renders)

function renderPrompts() {
  const box = $("asks");
  const shown = [];
  const waiting = new Set();
  for (const [kind, asks] of [
    [permissionCard, state.permissions],
    [questionCard, state.questions],
  ]) {
    for (const ask of asks.values()) {
      waiting.add(ask.id);
      if (ask.sessionID !== state.current) continue;
      if (!cards.has(ask.id)) cards.set(ask.id, kind(ask));
      shown.push(cards.get(ask.id));
    }
  }
  for (const id of [...cards.keys()]) if (!waiting.has(id)) cards.delete(id);
  if (shown.length !== box.children.length || shown.some((card, i) => box.children[i] !== card)) box.replaceChildren(...shown);
  box.hidden = !shown.length;
  renderSessions();
}

function permissionCard(ask) {
  const meta = ask.metadata || {};
  const reply = (response) =>
    attempt(async () => {
      await api.respondPermission(ask.sessionID, ask.id, response);
      state.permissions.delete(ask.id);
      renderPrompts();
    });
  const what = rel(meta.description || meta.command || meta.filePath || (ask.patterns || []).join(", "));
  return h(
    "section",
    { class: "ask permission", "data-testid": "permission", "data-id": ask.id, role: "alertdialog", "aria-label": "Permission" },
    h("header", null, h("strong", { text: `Allow ${ask.permission}?` }), h("span", { class: "ask-what", text: what })),
    typeof meta.diff === "string" && meta.diff ? renderDiff(meta.diff) : null,
    ask.patterns?.length && ask.patterns.join(", ") !== what && !meta.diff
      ? h("div", { class: "patterns", text: ask.patterns.join("  ") })
      : null,
    h(
      "div",
      { class: "actions" },
      h("button", { class: "primary", type: "button", "data-testid": "permission-once", text: "Allow once", onclick: () => reply("once") }),
      h("button", { type: "button", "data-testid": "permission-always", text: "Always allow", onclick: () => reply("always") }),
      h("button", { class: "danger", type: "button", "data-testid": "permission-reject", text: "Reject", onclick: () => reply("reject") }),
    ),
  );
}

function questionCard(ask) {
  const chosen = ask.questions.map(() => new Set());
  const typed = ask.questions.map(() => "");
  const blocks = ask.questions.map((question, index) => {
    const options = (question.options || []).map((option) => {
      const button = h(
        "button",
        {
          type: "button",
          class: "option",
          "data-testid": "question-option",
          title: option.description || "",
          onclick: () => {
            const set = chosen[index];
            if (!question.multiple) {
              set.clear();
              for (const sibling of button.parentNode.children) sibling.classList.remove("chosen");
            }
            if (set.has(option.label)) set.delete(option.label);
            else set.add(option.label);
            button.classList.toggle("chosen", set.has(option.label));
            if (!question.multiple && ask.questions.length === 1 && question.custom === false) submit();
          },
        },
        h("span", { text: option.label }),
        option.description ? h("small", { text: option.description }) : null,
      );
      return button;
    });
    const custom =
      question.custom === false
        ? null
        : h("input", {
            type: "text",
            class: "custom",
            placeholder: "Type your own answer",
            "data-testid": "question-custom",
            oninput: (event) => (typed[index] = event.target.value),
            onkeydown: (event) => event.key === "Enter" && submit(),
          });
    return h(
      "div",
      { class: "question" },
      question.header ? h("div", { class: "q-header", text: question.header }) : null,
      h("p", { class: "q-text", text: question.question }),
      h("div", { class: "options" }, options),
      custom,
    );
  });
  const submit = () =>
    attempt(async () => {
      const answers = ask.questions.map((_, i) => {
        const list = [...chosen[i]];
        if (typed[i].trim()) list.push(typed[i].trim());
        return list;
      });
      await api.replyQuestion(ask.id, answers);
      state.questions.delete(ask.id);
      renderPrompts();
    });
  const dismiss = () =>
    attempt(async () => {
      await api.rejectQuestion(ask.id);
      state.questions.delete(ask.id);
      renderPrompts();
    });
  return h(
    "section",
    { class: "ask question-card", "data-testid": "question", "data-id": ask.id, role: "dialog", "aria-label": "Question" },
    blocks,
    h(
      "div",
      { class: "actions" },
      h("button", { class: "primary", type: "button", "data-testid": "question-submit", text: "Answer", onclick: submit }),
      h("button", { type: "button", "data-testid": "question-dismiss", text: "Dismiss", onclick: dismiss }),
    ),
  );
}

// --- the file panel: the session's changes, the project's changed files, a file tree --------------

let changesTimer = null;
function refreshChanges() {
  clearTimeout(changesTimer);
  changesTimer = setTimeout(renderPanel, 150);
}

async function renderPanel() {
  const tabs = document.querySelectorAll("#files-tabs button");
  for (const tab of tabs) tab.classList.toggle("active", tab.dataset.tab === state.panel);
  const list = $("files-list");
  if (state.panel === "changes") {
    if (!state.current) {
      list.replaceChildren(h("div", { class: "hint", text: "Open a session to see the files it changed." }));
      return;
    }
    const id = state.current;
    const diffs = await api.diff(id).catch((error) => error);
    if (id !== state.current || state.panel !== "changes") return;
    if (diffs instanceof Error) {
      list.replaceChildren(h("div", { class: "hint error", text: diffs.message }));
      return;
    }
    if (!diffs?.length) {
      list.replaceChildren(h("div", { class: "hint", text: "No files changed in this session yet." }));
      return;
    }
    list.replaceChildren(
      ...diffs.map((d) =>
        h(
          "button",
          { type: "button", class: "file-row", "data-testid": "changed-file", "data-file": d.file, onclick: () => showDiff(d) },
          h("span", { class: "file-name", text: d.file }),
          h("span", { class: "counts" }, h("span", { class: "add", text: `+${d.additions ?? 0}` }), h("span", { class: "del", text: ` -${d.deletions ?? 0}` })),
        ),
      ),
    );
    return;
  }
  await renderTree(list, "");
}

async function renderTree(list, path) {
  const [nodes, status] = await Promise.all([
    api.files(path).catch((error) => error),
    api.fileStatus().catch(() => []),
  ]);
  if (state.panel !== "files") return;
  if (nodes instanceof Error) {
    list.replaceChildren(h("div", { class: "hint error", text: nodes.message }));
    return;
  }
  const changed = new Map((Array.isArray(status) ? status : []).map((f) => [f.path, f]));
  const rows = [];
  if (path) {
    const up = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    rows.push(h("button", { type: "button", class: "file-row dir", "data-testid": "tree-item", text: "..", onclick: () => renderTree(list, up) }));
  }
  const sorted = [...(nodes || [])].sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === "directory" ? -1 : 1));
  for (const node of sorted) {
    const mark = changed.get(node.path);
    rows.push(
      h(
        "button",
        {
          type: "button",
          class: `file-row ${node.type === "directory" ? "dir" : ""}${node.ignored ? " ignored" : ""}`,
          "data-testid": "tree-item",
          onclick: () => (node.type === "directory" ? renderTree(list, node.path) : showFile(node.path, mark)),
        },
        h("span", { class: "file-name", text: node.type === "directory" ? `${node.name}/` : node.name }),
        mark ? h("span", { class: `status ${mark.status}`, text: mark.status?.[0]?.toUpperCase() || "M" }) : null,
      ),
    );
  }
  if (!sorted.length) rows.push(h("div", { class: "hint", text: "Empty folder" }));
  list.replaceChildren(h("div", { class: "crumb", text: `/${path}` }), ...rows);
}

function showViewer(title, content) {
  $("viewer-title").textContent = title;
  $("viewer-body").replaceChildren(content);
  $("viewer").hidden = false;
  $("files-list").hidden = true;
}

function hideViewer() {
  $("viewer").hidden = true;
  $("files-list").hidden = false;
}

function showDiff(d) {
  const patch = d.patch || unifiedDiff(d.before || "", d.after || "", d.file);
  showViewer(d.file, renderDiff(patch, { single: true }));
}

async function showFile(path, mark) {
  const content = await attempt(() => api.fileContent(path));
  if (!content) return;
  if (mark && content.patch?.hunks) {
    // opencode's structured patch: turn it back into unified text
    const lines = content.patch.hunks.flatMap((hunk) => [`@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`, ...hunk.lines]);
    showViewer(path, renderDiff(lines.join("\n"), { single: true }));
    return;
  }
  if (mark && typeof content.diff === "string" && content.diff) {
    showViewer(path, renderDiff(content.diff, { single: true }));
    return;
  }
  if (content.encoding === "base64" && /^image\/(png|jpeg|gif|webp|svg\+xml)$/.test(content.mimeType || "")) {
    showViewer(path, h("img", { class: "preview", alt: path, src: `data:${content.mimeType};base64,${content.content}` }));
    return;
  }
  if (content.type === "binary" || content.encoding === "base64") {
    showViewer(path, h("div", { class: "hint", text: "Binary file" }));
    return;
  }
  showViewer(path, codeBlock(content.content || "", languageOf(path)));
}

// --- events ---------------------------------------------------------------------------------------

function handle(event) {
  const p = event.properties || {};
  if (state.backlog && event.type.startsWith("message.")) {
    state.backlog.push(event);
    return;
  }
  switch (event.type) {
    case "server.connected":
      if (connectedBefore) resync();
      connectedBefore = true;
      setOnline(true);
      break;
    case "session.created":
    case "session.updated":
      upsertSession(p.info);
      if (p.info.id === state.current) refreshChanges();
      break;
    case "session.deleted":
      removeSession(p.info.id);
      break;
    case "session.status":
      state.status.set(p.sessionID, p.status?.type || "idle");
      renderSessions();
      if (p.sessionID === state.current) {
        renderHeader();
        if (p.status?.type === "idle") refreshChanges();
      }
      break;
    case "session.idle":
      state.status.set(p.sessionID, "idle");
      renderSessions();
      if (p.sessionID === state.current) {
        renderHeader();
        refreshChanges();
      }
      break;
    case "session.error":
      if (!p.sessionID || p.sessionID === state.current) {
        if (p.error?.name !== "MessageAbortedError") toast(p.error?.data?.message || p.error?.name || "error");
      }
      break;
    case "session.diff":
      if (p.sessionID === state.current) refreshChanges();
      break;
    case "message.updated":
      upsertMessage(p.info);
      break;
    case "message.removed": {
      if (p.sessionID !== state.current) break;
      state.messages = state.messages.filter((m) => m.info.id !== p.messageID);
      scheduleMessage(p.messageID);
      break;
    }
    case "message.part.updated":
      upsertPart(p.part, p.delta);
      if (p.part.type === "patch" || (p.part.type === "tool" && p.part.state?.status === "completed")) refreshChanges();
      break;
    case "message.part.delta":
      appendDelta(p);
      break;
    case "message.part.removed": {
      const message = findMessage(p.messageID);
      if (!message) break;
      message.parts = message.parts.filter((part) => part.id !== p.partID);
      scheduleMessage(p.messageID);
      break;
    }
    case "permission.asked":
      state.permissions.set(p.id, p);
      renderPrompts();
      if (p.sessionID === state.current && p.tool) scheduleMessage(p.tool.messageID);
      break;
    case "permission.replied":
      state.permissions.delete(p.requestID || p.permissionID);
      renderPrompts();
      break;
    case "question.asked":
      state.questions.set(p.id, p);
      renderPrompts();
      break;
    case "question.replied":
    case "question.rejected":
      state.questions.delete(p.requestID);
      renderPrompts();
      break;
    case "file.edited":
    case "file.watcher.updated":
      refreshChanges();
      break;
    default:
      break;
  }
}

let connectedBefore = false;
let source = null;

function connect() {
  source = new EventSource("/event");
  source.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    try {
      handle(event);
    } catch (error) {
      console.error("event handler failed", event?.type, error);
    }
  };
  source.onerror = () => setOnline(false);
}

function setOnline(online) {
  document.body.classList.toggle("offline", !online);
  $("offline").hidden = online;
}

async function resync() {
  await loadSessions();
  await loadAsks();
  if (state.current) await openSession(state.current);
}

// --- start ----------------------------------------------------------------------------------------

async function loadSessions() {
  const sessions = await attempt(() => api.sessions());
  if (!sessions) return;
  state.sessions = new Map(sessions.map((s) => [s.id, s]));
  const statuses = await api.statuses().catch(() => ({}));
  for (const [id, status] of Object.entries(statuses || {})) state.status.set(id, status?.type || "idle");
  renderSessions();
}

async function loadAsks() {
  const [permissions, questions] = await Promise.all([api.permissions().catch(() => []), api.questions().catch(() => [])]);
  state.permissions = new Map((Array.isArray(permissions) ? permissions : []).map((p) => [p.id, p]));
  state.questions = new Map((Array.isArray(questions) ? questions : []).map((q) => [q.id, q]));
  renderPrompts();
}

async function loadPickers() {
  const [agents, providers, config] = await Promise.all([
    api.agents().catch(() => []),
    api.providers().catch(() => ({ providers: [], default: {} })),
    api.config().catch(() => ({})),
  ]);
  state.agents = Array.isArray(agents) ? agents : [];
  state.providers = providers?.providers || [];
  state.models = new Map();
  for (const provider of state.providers)
    for (const model of Object.values(provider.models || {})) state.models.set(`${provider.id}/${model.id}`, { provider, model });
  if (!state.model || !state.models.has(state.model)) {
    const configured = typeof config?.model === "string" ? config.model : null;
    const fallback = Object.entries(providers?.default || {})[0];
    state.model = configured && state.models.has(configured) ? configured : fallback ? `${fallback[0]}/${fallback[1]}` : null;
  }
  renderPickers();
  renderHeader();
}

function renderAll() {
  renderSessions();
  renderHeader();
  renderMessages(true);
  refreshChanges();
  hideViewer();
}

function wire() {
  $("composer").addEventListener("submit", send);
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) send(event);
    if (event.key === "Escape" && state.status.get(state.current) === "busy") abort();
  });
  $("prompt").addEventListener("input", autosize);
  $("abort").addEventListener("click", abort);
  $("new-session").addEventListener("click", newSession);
  $("search").addEventListener("input", (event) => {
    state.search = event.target.value;
    renderSessions();
  });
  $("undo").addEventListener("click", undo);
  $("redo").addEventListener("click", redo);
  $("agent").addEventListener("change", (event) => {
    state.agent = event.target.value;
    localStorage.setItem("opencode.agent", state.agent);
  });
  $("model").addEventListener("change", (event) => {
    state.model = event.target.value;
    localStorage.setItem("opencode.model", state.model);
    renderHeader();
  });
  $("drawer-toggle").addEventListener("click", () => {
    document.body.classList.remove("files-open");
    document.body.classList.toggle("drawer-open");
  });
  $("files-toggle").addEventListener("click", () => {
    if (isMobile()) {
      document.body.classList.remove("drawer-open");
      document.body.classList.toggle("files-open");
    } else document.body.classList.toggle("files-hidden");
    refreshChanges();
  });
  $("scrim").addEventListener("click", closeDrawers);
  document.addEventListener("keydown", (event) => event.key === "Escape" && closeDrawers());
  $("viewer-back").addEventListener("click", hideViewer);
  for (const tab of document.querySelectorAll("#files-tabs button")) {
    tab.addEventListener("click", () => {
      state.panel = tab.dataset.tab;
      hideViewer();
      renderPanel();
    });
  }
  document.addEventListener("click", (event) => {
    if (state.pendingDelete && !event.target.closest?.(".del")) {
      state.pendingDelete = null;
      renderSessions();
    }
  });
}

async function start() {
  wire();
  if (window.innerWidth < 1100 && !isMobile()) document.body.classList.add("files-hidden");
  connect();
  await Promise.all([loadSessions(), loadPickers(), loadAsks()]);
  const wanted = decodeURIComponent((location.hash.match(/^#\/session\/(.+)$/) || [])[1] || "");
  if (wanted && state.sessions.has(wanted)) await openSession(wanted);
  else renderAll();
  document.body.dataset.ready = "true";
}

start();
