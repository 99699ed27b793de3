// The HTTP API the page talks to: opencode's paths and JSON shapes, on the page's own origin.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(method, path, body) {
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const reply = await fetch(path, init);
  const text = await reply.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!reply.ok) {
    const message = data?.data?.message || data?.message || (typeof data === "string" && data) || reply.statusText;
    throw new ApiError(reply.status, `${method} ${path.split("?")[0]}: ${message}`);
  }
  return data;
}

const q = encodeURIComponent;

export const api = {
  sessions: () => call("GET", "/session"),
  createSession: (body = {}) => call("POST", "/session", body),
  deleteSession: (id) => call("DELETE", `/session/${q(id)}`),
  session: (id) => call("GET", `/session/${q(id)}`),
  statuses: () => call("GET", "/session/status"),
  messages: (id) => call("GET", `/session/${q(id)}/message`),
  promptAsync: (id, body) => call("POST", `/session/${q(id)}/prompt_async`, body),
  abort: (id) => call("POST", `/session/${q(id)}/abort`),
  revert: (id, messageID) => call("POST", `/session/${q(id)}/revert`, { messageID }),
  unrevert: (id) => call("POST", `/session/${q(id)}/unrevert`),
  diff: (id) => call("GET", `/session/${q(id)}/diff`),
  todo: (id) => call("GET", `/session/${q(id)}/todo`),
  respondPermission: (sessionID, permissionID, response) =>
    call("POST", `/session/${q(sessionID)}/permissions/${q(permissionID)}`, { response }),
  permissions: () => call("GET", "/permission"),
  questions: () => call("GET", "/question"),
  replyQuestion: (id, answers) => call("POST", `/question/${q(id)}/reply`, { answers }),
  rejectQuestion: (id) => call("POST", `/question/${q(id)}/reject`),
  agents: () => call("GET", "/agent"),
  providers: () => call("GET", "/config/providers"),
  config: () => call("GET", "/config"),
  fileStatus: () => call("GET", "/file/status"),
  files: (path) => call("GET", `/file?path=${q(path)}`),
  fileContent: (path) => call("GET", `/file/content?path=${q(path)}`),
  project: () => call("GET", "/project/current"),
};
