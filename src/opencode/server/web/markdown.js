// Markdown to DOM, code highlighting and unified diffs, for the web UI.
//
// Everything here builds DOM nodes with textContent: model text is never parsed as HTML, so it
// cannot inject markup or script, whatever it contains. Links keep only http(s) and mailto URLs.
// The renderer is forgiving of half-streamed input: an unclosed ``` fence is a code block to
// the end, an unclosed ** stays literal text.

export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// --- blocks -----------------------------------------------------------------------------------

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const BULLET = /^(\s*)([-*+])\s+(.*)$/;
const ORDERED = /^(\s*)(\d{1,9})[.)]\s+(.*)$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const TABLE_RULE = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

export function renderMarkdown(text) {
  const root = h("div", { class: "md" });
  append(root, blocks(String(text ?? "").replace(/\r\n?/g, "\n").split("\n")));
  return root;
}

function blocks(lines) {
  const out = [];
  let i = 0;
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) out.push(h("p", null, inline(paragraph.join("\n"))));
    paragraph = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if ((m = FENCE.exec(line))) {
      flush();
      const marker = m[1];
      const lang = m[2] || "";
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(marker)) body.push(lines[i++]);
      i++; // the closing fence (or past the end while streaming)
      out.push(codeBlock(body.join("\n"), lang));
      continue;
    }
    if (!line.trim()) {
      flush();
      i++;
      continue;
    }
    if ((m = HEADING.exec(line))) {
      flush();
      out.push(h(`h${m[1].length}`, null, inline(m[2])));
      i++;
      continue;
    }
    if (RULE.test(line) && !paragraph.length) {
      out.push(h("hr"));
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      flush();
      const body = [];
      while (i < lines.length && (m = QUOTE.exec(lines[i]))) {
        body.push(m[1]);
        i++;
      }
      out.push(h("blockquote", null, blocks(body)));
      continue;
    }
    if (BULLET.test(line) || ORDERED.test(line)) {
      flush();
      const [list, next] = listBlock(lines, i);
      out.push(list);
      i = next;
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      flush();
      const rows = [line];
      i += 2;
      while (i < lines.length && lines[i].includes("|") && lines[i].trim()) rows.push(lines[i++]);
      out.push(table(rows));
      continue;
    }
    paragraph.push(line);
    i++;
  }
  flush();
  return out;
}

function listBlock(lines, start) {
  const first = BULLET.exec(lines[start]) || ORDERED.exec(lines[start]);
  const ordered = !BULLET.test(lines[start]);
  const indent = first[1].length;
  const items = [];
  let i = start;
  while (i < lines.length) {
    const line = lines[i];
    const m = BULLET.exec(line) || ORDERED.exec(line);
    if (m && m[1].length <= indent + 1 && ordered === !BULLET.test(line)) {
      items.push([m[3]]);
      i++;
      continue;
    }
    if (m && m[1].length <= indent) break; // a list of the other kind, or one further out
    const item = items[items.length - 1];
    if (!line.trim()) {
      const next = lines[i + 1];
      if (next === undefined || !(BULLET.test(next) || ORDERED.test(next) || /^\s{2,}\S/.test(next))) break;
      item.push("");
      i++;
      continue;
    }
    if (m || /^\s+\S/.test(line)) {
      item.push(line.slice(Math.min(indent + 2, line.length - line.trimStart().length)));
      i++;
      continue;
    }
    if (FENCE.test(line) || HEADING.test(line) || QUOTE.test(line)) break;
    item.push(line); // a lazy continuation line
    i++;
  }
  const list = ordered ? h("ol", first[2] !== "1" ? { start: first[2] } : null) : h("ul");
  for (const body of items) while (body.length > 1 && body[body.length - 1] === "") body.pop();
  const tight = items.every((body) => !body.includes(""));
  for (const body of items) {
    const li = h("li");
    for (const block of blocks(body)) {
      if (tight && block.tagName === "P") append(li, [...block.childNodes]);
      else li.append(block);
    }
    list.append(li);
  }
  return [list, i];
}

function table(rows) {
  const cells = (row) =>
    row
      .trim()
      .replace(/^\|/, "")
      .replace(/\|$/, "")
      .split("|")
      .map((c) => c.trim());
  const [head, ...body] = rows;
  return h(
    "div",
    { class: "table" },
    h(
      "table",
      null,
      h("thead", null, h("tr", null, cells(head).map((c) => h("th", null, inline(c))))),
      h("tbody", null, body.map((row) => h("tr", null, cells(row).map((c) => h("td", null, inline(c)))))),
    ),
  );
}

export function codeBlock(code, lang) {
  const copy = h("button", { class: "copy", type: "button", title: "Copy", text: "copy" });
  copy.addEventListener("click", () => {
    navigator.clipboard?.writeText(code).then(
      () => (copy.textContent = "copied"),
      () => (copy.textContent = "copy failed"),
    );
  });
  const label = lang ? h("span", { class: "lang", text: lang }) : null;
  return h("div", { class: "code" }, h("div", { class: "code-head" }, label, copy), h("pre", null, highlight(code, lang)));
}

// --- inline -----------------------------------------------------------------------------------

const SAFE_URL = /^(https?:|mailto:)/i;

function inline(text) {
  const out = [];
  let i = 0;
  let plain = "";
  const push = (node) => {
    if (plain) out.push(plain);
    plain = "";
    out.push(node);
  };
  while (i < text.length) {
    const c = text[i];
    if (c === "\\" && i + 1 < text.length && /[\\`*_[\]()#+\-.!~|<>]/.test(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (c === "`") {
      const ticks = /^`+/.exec(text.slice(i))[0];
      const end = text.indexOf(ticks, i + ticks.length);
      if (end > 0) {
        push(h("code", { text: text.slice(i + ticks.length, end).replace(/^ (.*) $/, "$1") }));
        i = end + ticks.length;
        continue;
      }
    }
    if (c === "*" || c === "_" || c === "~") {
      const two = text.slice(i, i + 2);
      const inWord = two === "__" && /\w/.test(text[i - 1] || "");
      if ((two === "**" || two === "__" || two === "~~") && text.length > i + 2 && !inWord) {
        const end = closingRun(text, two, i + 2);
        if (end > i + 2) {
          push(h(two === "~~" ? "del" : "strong", null, inline(text.slice(i + 2, end))));
          i = end + 2;
          continue;
        }
      } else if (c !== "~" && text[i + 1] && text[i + 1] !== " " && (c === "*" || !/\w/.test(text[i - 1] || ""))) {
        const end = findClosing(text, c, i + 1);
        if (end > i + 1) {
          push(h("em", null, inline(text.slice(i + 1, end))));
          i = end + 1;
          continue;
        }
      }
    }
    if (c === "[") {
      const m = /^\[([^\]\n]*)\]\(([^)\s]*)(?:\s+"[^"]*")?\)/.exec(text.slice(i));
      if (m) {
        push(link(m[2], inline(m[1])));
        i += m[0].length;
        continue;
      }
    }
    if (c === "h" && (text.startsWith("http://", i) || text.startsWith("https://", i)) && !/\w/.test(text[i - 1] || "")) {
      const m = /^https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]/.exec(text.slice(i));
      if (m) {
        push(link(m[0], [m[0]]));
        i += m[0].length;
        continue;
      }
    }
    if (c === "\n") {
      push(h("br"));
      i++;
      continue;
    }
    plain += c;
    i++;
  }
  if (plain) out.push(plain);
  return out;
}

// Underscores neither open nor close inside a word (snake_case stays as typed).
function findClosing(text, marker, from) {
  for (let j = from; j < text.length; j++) {
    if (text[j] === "\\") j++;
    else if (text[j] === marker && text[j - 1] !== " " && text[j + 1] !== marker) {
      if (marker === "_" && /\w/.test(text[j + 1] || "")) continue;
      return j;
    }
  }
  return -1;
}

function closingRun(text, run, from) {
  let end = text.indexOf(run, from);
  while (run === "__" && end > 0 && /\w/.test(text[end + 2] || "")) end = text.indexOf(run, end + 2);
  return end;
}

function link(url, children) {
  if (!SAFE_URL.test(url)) return h("span", { class: "link-unsafe" }, children);
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow" }, children);
}

// --- highlighting -----------------------------------------------------------------------------

const KEYWORDS = {
  js: "async await break case catch class const continue default delete do else export extends false finally for from function if import in instanceof let new null of return static super switch this throw true try typeof undefined var void while yield interface type enum implements private public protected readonly as",
  py: "and as assert async await break class continue def del elif else except False finally for from global if import in is lambda None nonlocal not or pass raise return self True try while with yield match case",
  sh: "if then else elif fi for while do done case esac in function return export local set unset echo cd exit source alias readonly",
  go: "break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var nil true false",
  rs: "as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod move mut pub ref return self Self static struct super trait true type unsafe use where while",
  c: "auto break case char const continue default do double else enum extern float for goto if int long register return short signed sizeof static struct switch typedef union unsigned void volatile while class namespace public private protected template typename virtual new delete nullptr true false bool include define",
  json: "true false null",
  sql: "select from where insert into values update set delete create table drop alter join left right inner outer on group by order having limit and or not null as distinct",
};
const ALIASES = {
  javascript: "js", ts: "js", typescript: "js", tsx: "js", jsx: "js", mjs: "js",
  python: "py", bash: "sh", shell: "sh", zsh: "sh", console: "sh",
  golang: "go", rust: "rs", cpp: "c", "c++": "c", h: "c", hpp: "c", java: "c", cs: "c", csharp: "c", kotlin: "c", swift: "c",
  toml: "sh", yaml: "sh", yml: "sh", jsonc: "json",
};
const KEYWORD_SETS = Object.fromEntries(Object.entries(KEYWORDS).map(([k, v]) => [k, new Set(v.split(" "))]));

export function languageOf(name) {
  const ext = String(name || "").toLowerCase().split(".").pop();
  return ALIASES[ext] ? ext : KEYWORDS[ext] ? ext : ext;
}

export function highlight(code, lang) {
  const key = String(lang || "").toLowerCase();
  if (key === "diff" || key === "patch") return diffText(code);
  const family = ALIASES[key] || (KEYWORDS[key] ? key : null);
  const wrap = h("code", { class: family ? `lang-${family}` : "" });
  if (!family || code.length > 200_000) {
    wrap.textContent = code;
    return wrap;
  }
  const words = KEYWORD_SETS[family];
  const comments =
    family === "py" || family === "sh"
      ? "(#[^\\n]*)"
      : family === "sql"
        ? "(--[^\\n]*)"
        : family === "json"
          ? "((?!))"
          : "(\\/\\/[^\\n]*|\\/\\*[\\s\\S]*?(?:\\*\\/|$))";
  const strings =
    family === "py"
      ? '("""[\\s\\S]*?(?:"""|$)|\'\'\'[\\s\\S]*?(?:\'\'\'|$)|"(?:[^"\\\\\\n]|\\\\.)*"?|\'(?:[^\'\\\\\\n]|\\\\.)*\'?)'
      : '("(?:[^"\\\\\\n]|\\\\.)*"?|\'(?:[^\'\\\\\\n]|\\\\.)*\'?|`(?:[^`\\\\]|\\\\.)*`?)';
  const pattern = new RegExp(
    [comments, strings, "(\\b0x[\\da-f]+\\b|\\b\\d[\\d_]*(?:\\.\\d+)?(?:e[+-]?\\d+)?\\b)", "([A-Za-z_$][\\w$]*)"].join("|"),
    "gi",
  );
  let last = 0;
  for (const m of code.matchAll(pattern)) {
    if (m.index > last) wrap.append(code.slice(last, m.index));
    const [all, comment, string, number, word] = m;
    if (comment) wrap.append(h("span", { class: "tok-comment", text: all }));
    else if (string) wrap.append(h("span", { class: "tok-string", text: all }));
    else if (number) wrap.append(h("span", { class: "tok-number", text: all }));
    else if (word && (words.has(word) || (family === "sql" && words.has(word.toLowerCase()))))
      wrap.append(h("span", { class: "tok-keyword", text: all }));
    else if (word && code[m.index + word.length] === "(") wrap.append(h("span", { class: "tok-fn", text: all }));
    else wrap.append(all);
    last = m.index + all.length;
  }
  if (last < code.length) wrap.append(code.slice(last));
  return wrap;
}

function diffText(code) {
  const wrap = h("code", { class: "lang-diff" });
  for (const line of code.split("\n")) {
    const cls = line.startsWith("+++") || line.startsWith("---") ? "meta" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "";
    wrap.append(h("span", { class: `dl ${cls}`, text: line + "\n" }));
  }
  return wrap;
}

// --- diffs ------------------------------------------------------------------------------------

// A unified diff as a table of lines with old/new numbers: `patch` is git's text (several files
// allowed); headers are shown as a file label, hunks as separators.
export function renderDiff(patch, options = {}) {
  const rows = [];
  let oldNo = 0;
  let newNo = 0;
  for (const line of String(patch || "").split("\n")) {
    if (line.startsWith("diff --git") || line.startsWith("index ") || line.startsWith("new file") || line.startsWith("deleted file") || line.startsWith("similarity") || line.startsWith("rename ")) continue;
    if (line.startsWith("--- ")) continue;
    if (line.startsWith("+++ ")) {
      const name = line.slice(4).replace(/^b\//, "");
      if (name !== "/dev/null" && !options.single) rows.push(h("div", { class: "dl file", text: name }));
      continue;
    }
    const hunk = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$/.exec(line);
    if (hunk) {
      oldNo = Number(hunk[1]);
      newNo = Number(hunk[2]);
      rows.push(h("div", { class: "dl hunk" }, h("span", { class: "no" }), h("span", { class: "no" }), h("span", { class: "tx", text: line })));
      continue;
    }
    if (line.startsWith("\\")) continue;
    const kind = line[0];
    if (kind === "+") rows.push(diffRow("add", "", newNo++, line.slice(1), "+"));
    else if (kind === "-") rows.push(diffRow("del", oldNo++, "", line.slice(1), "-"));
    else if (kind === " ") rows.push(diffRow("", oldNo++, newNo++, line.slice(1), " "));
  }
  if (!rows.length) rows.push(h("div", { class: "dl empty", text: "no changes" }));
  return h("div", { class: "diff", "data-testid": "diff" }, rows);
}

function diffRow(kind, a, b, text, sign) {
  return h(
    "div",
    { class: `dl ${kind}` },
    h("span", { class: "no", text: a }),
    h("span", { class: "no", text: b }),
    h("span", { class: "tx" }, h("span", { class: "sign", text: sign }), text),
  );
}

// A unified diff of two texts (for opencode's FileDiff, which carries before and after): LCS on
// lines for files of moderate size, the whole file replaced beyond that.
export function unifiedDiff(before, after, name = "file", context = 3) {
  const a = before ? before.replace(/\n$/, "").split("\n") : [];
  const b = after ? after.replace(/\n$/, "").split("\n") : [];
  const ops = [];
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  for (let k = 0; k < start; k++) ops.push([" ", a[k]]);
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  if (midA.length * midB.length <= 4_000_000) {
    const n = midA.length;
    const m = midB.length;
    const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let x = n - 1; x >= 0; x--)
      for (let y = m - 1; y >= 0; y--)
        table[x][y] = midA[x] === midB[y] ? table[x + 1][y + 1] + 1 : Math.max(table[x + 1][y], table[x][y + 1]);
    let x = 0;
    let y = 0;
    while (x < n || y < m) {
      if (x < n && y < m && midA[x] === midB[y]) {
        ops.push([" ", midA[x]]);
        x++;
        y++;
      } else if (y < m && (x === n || table[x][y + 1] >= table[x + 1][y])) ops.push(["+", midB[y++]]);
      else ops.push(["-", midA[x++]]);
    }
  } else {
    for (const line of midA) ops.push(["-", line]);
    for (const line of midB) ops.push(["+", line]);
  }
  for (let k = endA; k < a.length; k++) ops.push([" ", a[k]]);
  // Hunks with `context` lines around each change.
  const out = [`--- a/${name}`, `+++ b/${name}`];
  const changed = ops.map((op) => op[0] !== " ");
  let i = 0;
  let oldNo = 1;
  let newNo = 1;
  while (i < ops.length) {
    if (!changed[i]) {
      oldNo++;
      newNo++;
      i++;
      continue;
    }
    let from = Math.max(0, i - context);
    let hunkOld = oldNo - (i - from);
    let hunkNew = newNo - (i - from);
    let to = i;
    let quiet = 0;
    while (to < ops.length && (changed[to] || quiet < context * 2)) {
      quiet = changed[to] ? 0 : quiet + 1;
      to++;
    }
    to = Math.min(ops.length, to - Math.max(0, quiet - context));
    const body = ops.slice(from, to);
    const olds = body.filter((op) => op[0] !== "+").length;
    const news = body.filter((op) => op[0] !== "-").length;
    out.push(`@@ -${olds ? hunkOld : hunkOld - 1},${olds} +${news ? hunkNew : hunkNew - 1},${news} @@`);
    for (const [sign, text] of body) out.push(sign + text);
    for (let k = i; k < to; k++) {
      if (ops[k][0] !== "+") oldNo++;
      if (ops[k][0] !== "-") newNo++;
    }
    i = to;
  }
  return out.join("\n");
}
