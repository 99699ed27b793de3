"""One language server process and the JSON-RPC conversation with it, over stdio.

`LspClient.start` spawns the server, runs `initialize` (our capabilities are built with
`lsprotocol`'s types, imported here only) and `initialized`, then reads the server's messages in
a background task: responses settle the pending request's future, `publishDiagnostics` goes to
`on_diagnostics`, and the few requests servers send us (configuration, capability registration,
progress tokens, workspace folders) are answered. Documents are synced in full (`didOpen`, then
`didChange` with the whole text and a rising version).

When the process exits (a crash, a kill), every pending request fails with `LspCrashed` and
`on_exit` is called; the manager decides whether to start it again. Nothing here blocks on the
server without a timeout.

Errors:

    LspError        the server answered with an error, or the request timed out (`LspTimeout`)
    LspCrashed      the process is gone
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

log = logging.getLogger("opencode.lsp")
_T = TypeVar("_T")

INITIALIZE_TIMEOUT_S = 45.0
REQUEST_TIMEOUT_S = 20.0
SHUTDOWN_TIMEOUT_S = 2.0


class LspError(Exception):
    """The server answered with an error, or did not answer in time."""


class LspTimeout(LspError):
    pass


class LspCrashed(LspError):
    """The server process is gone."""


def path_to_uri(path: Path) -> str:
    return path.resolve().as_uri()


def uri_to_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


@dataclass
class PublishedDiagnostics:
    """The latest diagnostics a server pushed for one document."""

    version: int | None
    seq: int
    """Counts every publish of this client, so a wait can tell a publish after its change."""
    items: list[dict[str, Any]]


@dataclass
class OpenDocument:
    version: int
    text: str
    changed_seq: int
    """The client's publish counter when this version was sent."""
    checked: bool = False
    """The server gave diagnostics for it once (so it has loaded the project around it)."""


@dataclass
class LspClient:
    server_id: str
    root: Path
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    initialization: Mapping[str, Any] | None = None
    on_diagnostics: Callable[[LspClient, Path], None] | None = None
    on_exit: Callable[[LspClient], None] | None = None

    process: asyncio.subprocess.Process | None = None
    capabilities: dict[str, Any] = field(default_factory=dict)
    documents: dict[Path, OpenDocument] = field(default_factory=dict)
    diagnostics: dict[Path, PublishedDiagnostics] = field(default_factory=dict)
    published: asyncio.Condition = field(default_factory=asyncio.Condition)
    seq: int = 0
    _next_id: int = 0
    _pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _closing: bool = False
    stderr_tail: list[str] = field(default_factory=list)
    _finalizer: weakref.finalize | None = None
    registrations: dict[str, str] = field(default_factory=dict)
    """Capabilities the server registered dynamically: registration id -> method."""

    # --- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn the server and run the initialize handshake; raises LspError (the process is then gone)."""
        env = {**os.environ, **self.env}
        self.process = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.root,
            env=env,
            start_new_session=True,
        )
        self._finalizer = weakref.finalize(self, _kill_pid, self.process.pid)  # never outlive us, drained or not
        self._tasks = [
            asyncio.create_task(self._read_loop(), name=f"lsp-{self.server_id}-read"),
            asyncio.create_task(self._read_stderr(), name=f"lsp-{self.server_id}-stderr"),
        ]
        try:
            result = await self.request("initialize", self._initialize_params(), timeout=INITIALIZE_TIMEOUT_S)
        except LspError:
            await self.kill()
            raise
        self.capabilities = (result or {}).get("capabilities") or {}
        self.notify("initialized", {})
        if self.initialization:
            self.notify("workspace/didChangeConfiguration", {"settings": dict(self.initialization)})

    def _initialize_params(self) -> dict[str, Any]:
        from lsprotocol import converters
        from lsprotocol import types as t

        sync = t.TextDocumentSyncClientCapabilities(did_save=True)
        caps = t.ClientCapabilities(
            workspace=t.WorkspaceClientCapabilities(
                configuration=True,
                workspace_folders=True,
                apply_edit=False,
                workspace_edit=t.WorkspaceEditClientCapabilities(document_changes=True),
                symbol=t.WorkspaceSymbolClientCapabilities(),
                diagnostics=t.DiagnosticWorkspaceClientCapabilities(refresh_support=False),
            ),
            text_document=t.TextDocumentClientCapabilities(
                synchronization=sync,
                publish_diagnostics=t.PublishDiagnosticsClientCapabilities(version_support=True),
                diagnostic=t.DiagnosticClientCapabilities(dynamic_registration=True),
                definition=t.DefinitionClientCapabilities(link_support=True),
                implementation=t.ImplementationClientCapabilities(link_support=True),
                references=t.ReferenceClientCapabilities(),
                hover=t.HoverClientCapabilities(content_format=[t.MarkupKind.Markdown, t.MarkupKind.PlainText]),
                document_symbol=t.DocumentSymbolClientCapabilities(hierarchical_document_symbol_support=True),
                rename=t.RenameClientCapabilities(prepare_support=True),
                formatting=t.DocumentFormattingClientCapabilities(),
                code_action=t.CodeActionClientCapabilities(
                    code_action_literal_support=t.ClientCodeActionLiteralOptions(
                        code_action_kind=t.ClientCodeActionKindOptions(value_set=list(t.CodeActionKind))
                    )
                ),
                call_hierarchy=t.CallHierarchyClientCapabilities(),
            ),
            window=t.WindowClientCapabilities(work_done_progress=True),
            general=t.GeneralClientCapabilities(position_encodings=[t.PositionEncodingKind.Utf16]),
        )
        uri = path_to_uri(self.root)
        return {
            "processId": os.getpid(),
            "clientInfo": {"name": "opencode-python"},
            "rootUri": uri,
            "rootPath": str(self.root),
            "workspaceFolders": [{"uri": uri, "name": self.root.name or "workspace"}],
            "initializationOptions": dict(self.initialization or {}),
            "capabilities": converters.get_converter().unstructure(caps),
        }

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None and not self._closing

    async def shutdown(self) -> None:
        """`shutdown` then `exit`, each briefly; the process is killed if it lingers."""
        running = self.alive
        self._closing = True  # its exit from here on is no crash
        if running:
            with contextlib.suppress(LspError):
                await self.request("shutdown", None, timeout=SHUTDOWN_TIMEOUT_S)
            with contextlib.suppress(LspError):
                self.notify("exit", None)
        await self.kill(grace=SHUTDOWN_TIMEOUT_S)

    async def kill(self, grace: float = 0.0) -> None:
        self._closing = True
        proc = self.process
        if proc is not None and proc.returncode is None:
            if grace:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), grace)
            if proc.returncode is None:
                _kill_group(proc)
                with contextlib.suppress(ProcessLookupError):
                    await proc.wait()
        if self._finalizer is not None:
            self._finalizer.detach()  # reaped: its pid may be someone else's from now on
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._fail_pending(LspCrashed(f"{self.server_id} was shut down"))
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()

    # --- JSON-RPC -----------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        proc = self.process
        if proc is None or proc.stdin is None or proc.returncode is not None or proc.stdin.is_closing():
            raise LspCrashed(f"{self.server_id} is not running")
        body = json.dumps({"jsonrpc": "2.0", **message}, separators=(",", ":")).encode()
        proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def request(self, method: str, params: Any, *, timeout: float = REQUEST_TIMEOUT_S) -> Any:
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self._send({"id": request_id, "method": method, "params": params})
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            with contextlib.suppress(LspCrashed):
                self.notify("$/cancelRequest", {"id": request_id})
            raise LspTimeout(f"{self.server_id} did not answer {method} within {timeout:g}s")
        finally:
            self._pending.pop(request_id, None)

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    async def _read_loop(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        reader = self.process.stdout
        try:
            while True:
                length = None
                while True:
                    line = await reader.readline()
                    if not line:
                        raise EOFError
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.decode("ascii", "replace").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if length is None:
                    continue
                body = await reader.readexactly(length)
                try:
                    message = json.loads(body)
                except ValueError:
                    log.warning("%s sent a message that is not JSON", self.server_id)
                    continue
                await self._dispatch(message)
        except (EOFError, asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # Our loop is going away (a face closed without Engine.drain): the server goes with it.
            self._closing = True
            self._fail_pending(LspCrashed(f"{self.server_id} was stopped"))
            _kill_group(self.process)
            if self.process is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.process.wait(), 2)
            raise
        await self._exited()

    async def _exited(self) -> None:
        proc = self.process
        if proc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 1)
        code = proc.returncode if proc is not None else None
        self._fail_pending(LspCrashed(f"{self.server_id} exited (code {code})"))
        async with self.published:
            self.published.notify_all()  # waits for diagnostics see that it is gone
        if not self._closing:
            tail = " | ".join(self.stderr_tail[-3:])
            log.warning("language server %s exited (code %s)%s", self.server_id, code, f": {tail}" if tail else "")
            self._closing = True
            if self.on_exit is not None:
                self.on_exit(self)

    def _fail_pending(self, error: LspError) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()

    async def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while line := await self.process.stderr.readline():
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                log.debug("%s stderr: %s", self.server_id, text[:1000])
                self.stderr_tail = [*self.stderr_tail[-19:], text[:300]]

    async def _dispatch(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method is None:
            future = self._pending.get(message.get("id"))  # type: ignore[arg-type]
            if future is not None and not future.done():
                error = message.get("error")
                if error:
                    future.set_exception(LspError(f"{self.server_id}: {error.get('message', error)}"))
                else:
                    future.set_result(message.get("result"))
            return
        params = message.get("params")
        if "id" in message:
            try:
                result = self._answer(method, params)
                self._send({"id": message["id"], "result": result})
            except LspCrashed:
                return
            if method.startswith("client/"):
                async with self.published:
                    self.published.notify_all()  # a wait may now pull diagnostics
            return
        if method == "textDocument/publishDiagnostics" and isinstance(params, dict):
            await self._published(params)

    def _answer(self, method: str, params: Any) -> Any:
        """What we say to the server's own requests."""
        if method == "workspace/configuration":
            items = (params or {}).get("items") or []
            return [_section(self.initialization, item.get("section")) for item in items]
        if method == "workspace/workspaceFolders":
            return [{"uri": path_to_uri(self.root), "name": self.root.name or "workspace"}]
        if method == "client/registerCapability":
            for item in (params or {}).get("registrations") or []:
                self.registrations[str(item.get("id"))] = str(item.get("method"))
            return None
        if method == "client/unregisterCapability":
            for item in (params or {}).get("unregisterations") or []:
                self.registrations.pop(str(item.get("id")), None)
            return None
        if method == "workspace/applyEdit":
            return {"applied": False, "failureReason": "edits are applied by the agent's tools"}
        return None  # workDoneProgress/create, refresh requests, showMessageRequest

    async def _published(self, params: dict[str, Any]) -> None:
        path = uri_to_path(str(params.get("uri", "")))
        if path is None:
            return
        version = params.get("version")
        async with self.published:
            self.seq += 1
            self.diagnostics[path] = PublishedDiagnostics(
                version if isinstance(version, int) else None, self.seq, list(params.get("diagnostics") or [])
            )
            self.published.notify_all()
        if self.on_diagnostics is not None:
            self.on_diagnostics(self, path)

    # --- documents ----------------------------------------------------------------------------

    def sync(self, path: Path, text: str, language_id: str) -> OpenDocument:
        """Open the document, or send its whole new text when it changed; returns what the server has."""
        doc = self.documents.get(path)
        uri = path_to_uri(path)
        if doc is None:
            doc = self.documents[path] = OpenDocument(0, text, self.seq)
            self.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": uri, "languageId": language_id, "version": 0, "text": text}},
            )
            return doc
        if doc.text == text:
            return doc
        doc.version += 1
        doc.text = text
        doc.changed_seq = self.seq
        self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": doc.version}, "contentChanges": [{"text": text}]},
        )
        self.notify("textDocument/didSave", {"textDocument": {"uri": uri}, "text": text})
        return doc

    def close(self, path: Path) -> None:
        if self.documents.pop(path, None) is not None:
            self.notify("textDocument/didClose", {"textDocument": {"uri": path_to_uri(path)}})

    def fresh(self, path: Path) -> PublishedDiagnostics | None:
        """The pushed diagnostics if they are for the document's current version, else None."""
        doc = self.documents.get(path)
        got = self.diagnostics.get(path)
        if doc is None or got is None:
            return None
        if got.version is not None:
            return got if got.version == doc.version else None
        return got if got.seq > doc.changed_seq else None

    async def wait_for(self, ready: Callable[[], _T | None], timeout: float) -> _T | None:
        """Wait until `ready()` gives a value (checked after each publish, registration or exit); None on timeout."""

        async def until() -> _T:
            async with self.published:
                while (got := ready()) is None:
                    if not self.alive:
                        raise LspCrashed(f"{self.server_id} is not running")
                    await self.published.wait()
                return got

        try:
            return await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            return None

    def supports(self, capability: str, method: str | None = None) -> bool:
        """Whether the server offers `capability` (statically, or registered `method` since)."""
        return bool(self.capabilities.get(capability)) or (method is not None and method in self.registrations.values())


def _kill_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _kill_group(proc: asyncio.subprocess.Process | None) -> None:
    """SIGKILL the server's process group (it runs in its own session: wrappers spawn node and the like)."""
    if proc is not None and proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _section(settings: Mapping[str, Any] | None, section: str | None) -> Any:
    node: Any = dict(settings or {})
    if not section:
        return node
    for key in section.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node
