// Drive an opencode server with opencode's own JS SDK (@opencode-ai/sdk), as its users do:
// create a session, subscribe to the event stream, send a prompt, collect the streamed events
// until the session goes idle, then read the message list back. Prints one JSON object.
//
//   node drive.mjs --sdk .cache/sdk --url http://127.0.0.1:4096 --flavour v2 \
//        --prompt "hello" --model mine/test-model [--directory /path/to/project]
//
// --flavour picks the SDK's API: "v2" (`@opencode-ai/sdk/v2`, flat parameters, what opencode's
// own clients use now) or "v1" (`@opencode-ai/sdk`, `{ path, body }` parameters). On a failed
// request it prints {"failed": "<what>", "status": N, "error": <body>} and exits 1.

import { readFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { parseArgs } from "node:util"

const { values: args } = parseArgs({
  options: {
    sdk: { type: "string" },
    url: { type: "string" },
    flavour: { type: "string", default: "v2" },
    prompt: { type: "string" },
    model: { type: "string" },
    directory: { type: "string" },
    timeout: { type: "string", default: "30000" },
  },
})
for (const name of ["sdk", "url", "prompt", "model"]) {
  if (!args[name]) {
    process.stderr.write(`drive.mjs: --${name} is required\n`)
    process.exit(2)
  }
}

class Failed extends Error {
  constructor(what, status, body) {
    super(`${what}: HTTP ${status}`)
    this.what = what
    this.status = status
    this.body = body
  }
}

/** The SDK's entry point for the flavour, found through the package's own exports map. */
async function loadSdk(dir, flavour) {
  const root = join(dir, "node_modules", "@opencode-ai", "sdk")
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
  const entry = manifest.exports[flavour === "v1" ? "." : "./v2"].import
  return { version: manifest.version, module: await import(pathToFileURL(join(root, entry)).href) }
}

/** The data of a `{ data, error, response }` result; a non-2xx answer is a `Failed`. */
function must(what, result) {
  if (result.error !== undefined || !result.response?.ok) {
    throw new Failed(what, result.response?.status ?? 0, result.error ?? null)
  }
  return result.data
}

/** The two flavours' calls, behind one shape. */
function api(client, flavour) {
  if (flavour === "v1") {
    return {
      health: () => client._client.get({ url: "/global/health" }), // v1 has no method for it
      create: (title) => client.session.create({ body: { title } }),
      get: (id) => client.session.get({ path: { id } }),
      list: () => client.session.list(),
      prompt: (id, body) => client.session.prompt({ path: { id }, body }),
      messages: (id) => client.session.messages({ path: { id } }),
      subscribe: (signal) => client.event.subscribe({ signal }),
    }
  }
  return {
    health: () => client.global.health(),
    create: (title) => client.session.create({ title }),
    get: (sessionID) => client.session.get({ sessionID }),
    list: () => client.session.list(),
    prompt: (sessionID, body) => client.session.prompt({ sessionID, ...body }),
    messages: (sessionID) => client.session.messages({ sessionID }),
    subscribe: (signal) => client.event.subscribe({}, { signal }),
  }
}

async function main() {
  const flavour = args.flavour === "v1" ? "v1" : "v2"
  const timeout = Number(args.timeout)
  const sdk = await loadSdk(args.sdk, flavour)
  const options = { baseUrl: args.url }
  if (args.directory) options.directory = args.directory
  const client = sdk.module.createOpencodeClient(options)
  const calls = api(client, flavour)
  const [providerID, ...rest] = args.model.split("/")
  const model = { providerID, modelID: rest.join("/") }

  const health = must("global.health", await calls.health())
  const session = must("session.create", await calls.create("driven by the SDK"))

  // Subscribe first, and wait for the server's hello, so that no event of the turn is missed.
  const abort = new AbortController()
  const events = []
  let connected
  const isConnected = new Promise((resolve) => (connected = resolve))
  let idle
  const isIdle = new Promise((resolve) => (idle = resolve))
  const subscription = await calls.subscribe(abort.signal)
  const reading = (async () => {
    try {
      for await (const event of subscription.stream) {
        if (event?.type === "server.connected") {
          connected()
          continue
        }
        if (event?.properties?.sessionID !== undefined && event.properties.sessionID !== session.id) continue
        events.push(event)
        if (event.type === "session.idle") idle()
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error
    }
  })()
  await withTimeout(isConnected, timeout, "no server.connected event on /event")

  const reply = must(
    "session.prompt",
    await calls.prompt(session.id, { model, parts: [{ type: "text", text: args.prompt }] }),
  )
  await withTimeout(isIdle, timeout, "no session.idle event after the prompt")
  abort.abort()
  await reading.catch(() => undefined)

  const messages = must("session.messages", await calls.messages(session.id))
  const after = must("session.get", await calls.get(session.id))
  const listed = must("session.list", await calls.list())
  return { sdk: sdk.version, flavour, health, session, reply, events, messages, after, listed }
}

function withTimeout(promise, ms, message) {
  let timer
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))
  return Promise.race([promise, late]).finally(() => clearTimeout(timer))
}

try {
  const result = await main()
  process.stdout.write(JSON.stringify(result) + "\n")
  process.exit(0)
} catch (error) {
  const out =
    error instanceof Failed
      ? { failed: error.what, status: error.status, error: error.body }
      : { failed: "script", error: String(error?.stack ?? error) }
  process.stdout.write(JSON.stringify(out) + "\n")
  process.exit(1)
}
