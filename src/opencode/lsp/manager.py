"""The language servers of one project: started lazily, kept per (server, root), shut down together.

`LspManager` picks the servers for a file (`servers.configured` by extension), finds each one's
root, and starts it on first use (one start shared by concurrent callers). A server that is not
installed is reported once (logged, kept in `status()`, `lsp.updated` published) and then left
alone. A server that exits unexpectedly is started again once, on the next use; after a second
crash it is reported as broken and not started again this session.

Diagnostics (`diagnostics`): the file's current text on disk is synced to each server (didOpen,
or didChange with a new version), then we ask for diagnostics the server computed for that
version: pulled (`textDocument/diagnostic`) where the server offers it, else the first push for
our version (or, for servers that publish without a version, the first push after our change),
waiting at most `timeout`. When nothing fresh arrives the file is marked not ready, and old
diagnostics are never shown in its place.

`after_edit` is the engine's hook: it appends the changed files' errors to a tool result.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opencode.lsp.client import (
    LspClient,
    LspCrashed,
    LspError,
    OpenDocument,
    PublishedDiagnostics,
    path_to_uri,
    uri_to_path,
)
from opencode.lsp.servers import ServerDef, configured, find_root, language_id

if TYPE_CHECKING:
    from opencode.bus import Bus
    from opencode.config.schema import LspServerConfig
    from opencode.tool.tool import ToolResult

log = logging.getLogger("opencode.lsp")

DIAGNOSTICS_WAIT_S = 8.0
"""How long an edit's result waits for the server's diagnostics of the new text."""
START_WAIT_S = 10.0
"""How long an edit waits for a server that is still starting (it goes on starting after)."""
LOADED_WAIT_S = 30.0
"""How long a rename or format waits for the server to have loaded the project around the file."""
MAX_ERRORS = 20

Key = tuple[str, Path]


@dataclass
class FileDiagnostics:
    path: Path
    ready: bool
    """False: no server gave diagnostics for the current text in time."""
    items: list[dict[str, Any]] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)

    def errors(self) -> list[dict[str, Any]]:
        return [d for d in self.items if d.get("severity", 1) == 1]


class LspUnavailable(Exception):
    """No server can take this file; the message says why (none for the type, not installed, broken)."""


class LspManager:
    def __init__(
        self,
        project: Path,
        config: bool | Mapping[str, LspServerConfig] | None = None,
        *,
        bus: Bus | None = None,
    ) -> None:
        self.project = project.resolve()
        self.servers = configured(config)
        self.bus = bus
        self.clients: dict[Key, LspClient] = {}
        self._starting: dict[Key, asyncio.Task[LspClient | None]] = {}
        self.crashes: dict[Key, int] = {}
        self.broken: dict[Key, str] = {}
        self.missing: dict[str, str] = {}
        self._closed = False
        self.on_crash: Callable[[str], None] | None = None

    # --- servers ------------------------------------------------------------------------------

    def servers_for(self, path: Path) -> list[ServerDef]:
        return [server for server in self.servers if server.handles(path)]

    def _root(self, server: ServerDef, path: Path) -> Path:
        return find_root(path, server.markers, self.project) if server.markers else self.project

    async def clients_for(self, path: Path, *, wait: float | None = None) -> list[LspClient]:
        """The running clients for `path`, starting them as needed; those not up within `wait` are skipped."""
        if self._closed:
            return []
        tasks: list[asyncio.Future[LspClient | None]] = []
        for server in self.servers_for(path):
            key = (server.id, self._root(server, path))
            client = self.clients.get(key)
            if client is not None and client.alive:
                tasks.append(asyncio.ensure_future(_ready(client)))
                continue
            if key in self.broken or server.id in self.missing:
                continue
            task = self._starting.get(key)
            if task is None:
                task = self._starting[key] = asyncio.create_task(self._start(server, key))
                task.add_done_callback(functools.partial(self._started, key))
            tasks.append(asyncio.shield(task))
        if not tasks:
            return []
        done, pending = await asyncio.wait(tasks, timeout=wait)
        for item in pending:
            item.cancel()  # the shield: the start itself goes on
        found: list[LspClient] = []
        for item in done:
            if item.cancelled():
                continue
            if item.exception() is not None:
                log.warning("language server start failed: %r", item.exception())
                continue
            client = item.result()
            if client is not None:
                found.append(client)
        return found

    def _started(self, key: Key, task: asyncio.Task[LspClient | None]) -> None:
        if self._starting.get(key) is task:
            del self._starting[key]

    async def _start(self, server: ServerDef, key: Key) -> LspClient | None:
        root = key[1]
        command = server.resolve(root, self.project)
        if command is None:
            self.missing[server.id] = f"{server.id}: {server.binaries()} not found (install it to get its diagnostics)"
            log.warning("language server %s", self.missing[server.id])
            self._updated()
            return None
        client = LspClient(
            server.id,
            root,
            command,
            env=server.env,
            initialization=server.settings(root),
            on_diagnostics=self._published,
            on_exit=self._exited,
        )
        try:
            await client.start()
        except (OSError, LspError) as exc:
            self._crashed(key, f"{server.id} failed to start: {exc}")
            return None
        if self._closed:
            await client.shutdown()
            return None
        self.clients[key] = client
        log.info("language server %s started in %s", server.id, root)
        self._updated()
        return client

    def _exited(self, client: LspClient) -> None:
        key = (client.server_id, client.root)
        if self.clients.get(key) is client:
            del self.clients[key]
        tail = f" ({client.stderr_tail[-1]})" if client.stderr_tail else ""
        self._crashed(key, f"{client.server_id} crashed{tail}")

    def _crashed(self, key: Key, reason: str) -> None:
        self.crashes[key] = self.crashes.get(key, 0) + 1
        if self.crashes[key] >= 2:
            self.broken[key] = f"{reason}; it was restarted once and is not started again"
            log.warning("language server %s", self.broken[key])
        else:
            log.warning("language server %s; it is restarted on next use", reason)
        if self.on_crash is not None:
            self.on_crash(reason)
        self._updated()

    def _published(self, client: LspClient, path: Path) -> None:
        if self.bus is not None:
            from opencode.bus import LspDiagnostics

            self.bus.publish(LspDiagnostics(serverID=client.server_id, path=str(path)))

    def _updated(self) -> None:
        if self.bus is not None:
            from opencode.bus import LspUpdated

            self.bus.publish(LspUpdated())

    def status(self) -> list[dict[str, Any]]:
        """One entry per server started or tried (opencode's LSP status shape, plus `error`)."""
        out: list[dict[str, Any]] = []
        for (server_id, root), _client in self.clients.items():
            out.append({"id": server_id, "name": server_id, "root": str(root), "status": "connected"})
        for (server_id, root), reason in self.broken.items():
            out.append({"id": server_id, "name": server_id, "root": str(root), "status": "error", "error": reason})
        for server_id, reason in self.missing.items():
            out.append({"id": server_id, "name": server_id, "root": "", "status": "error", "error": reason})
        return out

    def unavailable(self, path: Path) -> str:
        """Why no server takes `path`, for the model."""
        servers = self.servers_for(path)
        if not servers:
            return f"No language server is configured for {path.suffix or path.name} files."
        reasons = [self.missing.get(s.id) or self._broken_reason(s, path) for s in servers]
        found = [r for r in reasons if r]
        if found:
            return "No language server available: " + "; ".join(found) + "."
        return f"The language server for {path.name} ({', '.join(s.id for s in servers)}) is still starting; try again."

    def _broken_reason(self, server: ServerDef, path: Path) -> str | None:
        return self.broken.get((server.id, self._root(server, path)))

    # --- documents ----------------------------------------------------------------------------

    async def sync(self, path: Path, clients: Iterable[LspClient]) -> list[tuple[LspClient, OpenDocument]]:
        """Give each client the file's current text; a file gone from disk is closed."""
        try:
            raw = await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError):
            for client in clients:
                with contextlib.suppress(LspError):
                    client.close(path)
            return []
        text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")  # exactly, line endings kept
        synced = []
        for client in clients:
            with contextlib.suppress(LspCrashed):
                synced.append((client, client.sync(path, text, language_id(path))))
        return synced

    async def diagnostics(self, path: Path, *, timeout: float | None = None) -> FileDiagnostics:
        """The diagnostics of `path` as it is on disk now, from every server that takes it."""
        timeout = DIAGNOSTICS_WAIT_S if timeout is None else timeout
        path = _real(path)
        clients = await self.clients_for(path, wait=START_WAIT_S)
        synced = await self.sync(path, clients)
        if not synced:
            return FileDiagnostics(path, ready=False)
        results = await asyncio.gather(*(self._fresh(client, path, timeout) for client, _ in synced))
        for (_, doc), items in zip(synced, results, strict=True):
            doc.checked = doc.checked or items is not None
        out = FileDiagnostics(path, ready=all(r is not None for r in results))
        for (client, _), items in zip(synced, results, strict=True):
            if items is not None:
                out.items += items
                out.servers.append(client.server_id)
        return out

    async def _fresh(self, client: LspClient, path: Path, timeout: float) -> list[dict[str, Any]] | None:
        """Diagnostics of the document's current version: pulled where the server offers it, else pushed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        def pull_or_push() -> str | PublishedDiagnostics | None:
            if client.supports("diagnosticProvider", "textDocument/diagnostic"):
                return "pull"
            return client.fresh(path)

        try:
            got = await client.wait_for(pull_or_push, timeout)
        except LspCrashed:
            return None
        if isinstance(got, PublishedDiagnostics):
            return got.items
        if got is None:
            return None
        try:
            report = await client.request(
                "textDocument/diagnostic",
                {"textDocument": {"uri": path_to_uri(path)}},
                timeout=max(0.5, deadline - loop.time()),
            )
        except LspError:
            return None
        if isinstance(report, dict) and isinstance(report.get("items"), list):
            return list(report["items"])
        return None

    def known_diagnostics(self) -> dict[Path, list[dict[str, Any]]]:
        """Everything the running servers have pushed, by file (the latest publish of each)."""
        found: dict[Path, list[dict[str, Any]]] = {}
        for client in self.clients.values():
            for path, published in client.diagnostics.items():
                if published.items:
                    found.setdefault(path, []).extend(published.items)
        return found

    async def request(
        self,
        path: Path,
        method: str,
        params: dict[str, Any],
        capability: str,
        *,
        timeout: float = 20.0,
        loaded: bool = False,
    ) -> tuple[LspClient, Any]:
        """Send `method` to the first server for `path` that has `capability`, the file synced first.

        With `loaded` (edits: a rename must not miss files) the server must have checked the file
        once, else LspUnavailable asks to try again; reads go ahead after a bounded wait. A server
        that crashed meanwhile is started again once and asked again. Raises LspUnavailable."""
        path = _real(path)
        for _attempt in range(2):
            clients = await self.clients_for(path, wait=START_WAIT_S)
            able = [c for c in clients if c.capabilities.get(capability)]
            if not able:
                if clients:
                    names = ", ".join(c.server_id for c in clients)
                    raise LspUnavailable(f"{names} cannot do {method.split('/')[-1]} ({capability} not offered).")
                raise LspUnavailable(self.unavailable(path))
            client = able[0]
            for _, doc in await self.sync(path, [client]):
                if not doc.checked:
                    # A server answers from a half-loaded project at first (tsserver: a definition in the
                    # file itself, a rename missing other files); its first diagnostics mean it has loaded.
                    wait = LOADED_WAIT_S if loaded else DIAGNOSTICS_WAIT_S
                    doc.checked = await self._fresh(client, path, wait) is not None
                if loaded and not doc.checked:
                    raise LspUnavailable(
                        f"{client.server_id} is still loading the project, so the change could miss files; "
                        "nothing was changed. Try again in a moment."
                    )
            try:
                return client, await client.request(method, params, timeout=timeout)
            except LspCrashed:
                continue
        raise LspUnavailable(self.unavailable(path))

    async def workspace_symbols(self, query: str, paths: Iterable[Path] = ()) -> list[dict[str, Any]]:
        """Symbols matching `query` from the running servers, starting the ones for `paths` first."""
        for path in paths:
            await self.clients_for(_real(path), wait=START_WAIT_S)
        found: list[dict[str, Any]] = []
        for client in list(self.clients.values()):
            if not client.capabilities.get("workspaceSymbolProvider"):
                continue
            try:
                result = await client.request("workspace/symbol", {"query": query})
            except LspError as exc:
                log.info("workspace/symbol failed on %s: %s", client.server_id, exc)
                continue
            found += list(result or [])
        return found

    # --- the engine's hook --------------------------------------------------------------------

    async def resync_open(self) -> None:
        """Send the servers the current text of every document they have open (after a tool that may
        have changed files behind our edit tools' back, such as bash); unchanged ones cost nothing."""
        for client in list(self.clients.values()):
            for path in list(client.documents):
                await self.sync(path, [client])

    async def after_edit(self, result: ToolResult) -> None:
        """Append the errors of the files `result` changed (metadata `diagnostics` too)."""
        from opencode.tool.formatter import changed_paths
        from opencode.tool.read import relative

        lines: list[str] = []
        report: dict[str, Any] = {}
        paths = [path for name in changed_paths(result.metadata) if self.servers_for(path := _real(Path(name)))]
        for path, got in zip(paths, await asyncio.gather(*(self.diagnostics(p) for p in paths)), strict=True):
            label = relative(path, self.project)
            if not got.servers and not got.ready:
                if self.busy(path):
                    report[str(path)] = {"ready": False, "errors": [], "servers": []}
                    lines.append(f"Diagnostics for {label} were not ready in time (the language server is busy).")
                continue  # no server runs for it: reported once when it was found missing
            errors = got.errors()
            report[str(path)] = {"ready": got.ready, "errors": errors[:MAX_ERRORS], "servers": got.servers}
            if errors:
                lines.append(format_errors(label, errors))
            elif not got.ready:
                lines.append(f"Diagnostics for {label} were not ready in time (the language server is busy).")
        if report:
            result.metadata["diagnostics"] = report
        if lines:
            result.output = result.output.rstrip("\n") + "\n\n" + "\n\n".join(lines)

    def busy(self, path: Path) -> bool:
        """Whether a server for `path` is running or starting (so no diagnostics means not ready yet)."""
        ids = {server.id for server in self.servers_for(path)}
        return any(key[0] in ids for key in [*self.clients, *self._starting])

    async def close(self) -> None:
        self._closed = True
        for task in list(self._starting.values()):
            task.cancel()
        clients = list(self.clients.values())
        self.clients.clear()
        await asyncio.gather(*(client.shutdown() for client in clients), return_exceptions=True)


def _real(path: Path) -> Path:
    """`path` with links resolved, as servers name files (a few syscalls; not worth a thread)."""
    return path.resolve()


async def _ready(client: LspClient) -> LspClient | None:
    return client


def position(item: Mapping[str, Any]) -> str:
    start = (item.get("range") or {}).get("start") or {}
    return f"{int(start.get('line', 0)) + 1}:{int(start.get('character', 0)) + 1}"


def format_errors(label: str, errors: list[dict[str, Any]]) -> str:
    shown = sorted(errors, key=lambda d: ((d.get("range") or {}).get("start") or {}).get("line", 0))[:MAX_ERRORS]
    body = "\n".join(f"{position(d)} {one_line(d)}" for d in shown)
    more = f"\n... and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
    noun = "error" if len(errors) == 1 else "errors"
    head = f'<diagnostics file="{label}">\n{len(errors)} {noun} reported by the language server:'
    return f"{head}\n{body}{more}\n</diagnostics>"


def one_line(diagnostic: Mapping[str, Any]) -> str:
    message = " ".join(str(diagnostic.get("message", "")).split())
    source = diagnostic.get("source")
    code = diagnostic.get("code")
    tag = f" [{source}{f' {code}' if code else ''}]" if source else ""
    return f"{message}{tag}"


def describe_location(location: Mapping[str, Any], project: Path) -> str:
    """`path:line:col` for a Location or LocationLink."""
    from opencode.tool.read import relative

    uri = location.get("uri") or location.get("targetUri") or ""
    where = location.get("range") or location.get("targetSelectionRange") or {}
    path = uri_to_path(str(uri))
    label = relative(path, project) if path is not None else str(uri)
    return f"{label}:{position({'range': where})}"
