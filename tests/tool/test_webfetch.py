from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from opencode.testing.model_server import ScriptedModelServer
from opencode.tool import webfetch
from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import PermissionRequest, ToolContext, ToolError
from opencode.tool.webfetch import WebFetchParams, WebFetchTool
from tests.tool.webserver import Received, Reply, WebServer, json_reply

PAGE = """<!doctype html>
<html><head><title>Release notes</title>
<style>body { color: red; }</style>
<script>var secret = "tracking-code";</script>
</head>
<body>
<h1>Version 2.0</h1>
<p>The <strong>new</strong> parser is faster. See the <a href="https://example.org/guide">migration guide</a>.</p>
<ul><li>first_change</li><li>second change</li></ul>
<p><a href="/docs/api.html">API</a> <a href="#top">top</a> <img src="img/logo.png" alt="logo"></p>
<pre><code>pip install thing==2.0</code></pre>
<noscript>enable javascript</noscript>
</body></html>"""


async def fetch(ctx: ToolContext, url: str, **params: object) -> str:
    result = await WebFetchTool().run(WebFetchParams.model_validate({"url": url, **params}), ctx)
    return result.output


def serve(reply: Reply) -> WebServer:
    return WebServer(lambda request: reply)


async def test_html_becomes_markdown(ctx: ToolContext) -> None:
    with serve(Reply(body=PAGE)) as server:
        result = await WebFetchTool().run(WebFetchParams(url=server.url + "/notes"), ctx)

    [request] = server.requests
    assert (request.method, request.path) == ("GET", "/notes")
    assert request.headers["accept"].startswith("text/markdown")
    assert "Mozilla/5.0" in request.headers["user-agent"]
    text = result.output
    assert "# Version 2.0" in text
    assert "The **new** parser is faster. See the [migration guide](https://example.org/guide)." in text
    assert "- first_change\n- second change" in text
    assert "```\npip install thing==2.0\n```" in text
    assert f"[API]({server.url}/docs/api.html) [top](#top) ![logo]({server.url}/img/logo.png)" in text
    assert "tracking-code" not in text and "color: red" not in text and "enable javascript" not in text
    assert result.metadata["status"] == 200
    assert result.metadata["contentType"] == "text/html; charset=utf-8"
    assert result.title == f"{server.url}/notes (text/html; charset=utf-8)"


async def test_text_format_strips_the_markup(ctx: ToolContext) -> None:
    with serve(Reply(body=PAGE)) as server:
        text = await fetch(ctx, server.url, format="text")
    assert server.requests[0].headers["accept"].startswith("text/plain")
    lines = text.splitlines()
    assert "Version 2.0" in lines
    assert "The new parser is faster. See the migration guide." in lines
    assert "first_change" in lines and "second change" in lines
    assert "<" not in text and "**" not in text and "#" not in text
    assert "tracking-code" not in text


async def test_html_format_returns_the_page_as_served(ctx: ToolContext) -> None:
    with serve(Reply(body=PAGE)) as server:
        text = await fetch(ctx, server.url, format="html")
    assert server.requests[0].headers["accept"].startswith("text/html")
    assert text == PAGE


async def test_other_text_types_come_back_unchanged(ctx: ToolContext) -> None:
    with serve(json_reply({"name": "thing", "version": "2.0"})) as server:
        text = await fetch(ctx, server.url + "/api")
    assert text == '{"name": "thing", "version": "2.0"}'


async def test_the_declared_charset_is_used(ctx: ToolContext) -> None:
    body = "<p>Café crème</p>".encode("latin-1")
    with serve(Reply(body=body, content_type="text/html; charset=ISO-8859-1")) as server:
        assert await fetch(ctx, server.url) == "Café crème"


def redirects(total: int) -> WebServer:
    """/hop/N redirects to /hop/N-1; /hop/0 is the page."""

    def handle(request: Received) -> Reply:
        left = int(request.path.rsplit("/", 1)[1])
        if left == 0:
            return Reply(body="<p>arrived</p>")
        return Reply(302, headers={"Location": f"/hop/{left - 1}"})

    return WebServer(handle)


async def test_redirects_are_followed_up_to_the_cap(ctx: ToolContext) -> None:
    with redirects(5) as server:
        text = await fetch(ctx, server.url + "/hop/5")
    assert [r.path for r in server.requests] == [f"/hop/{n}" for n in range(5, -1, -1)]
    assert text == f"(Redirected to {server.url}/hop/0)\n\narrived"


async def test_a_redirect_chain_over_the_cap_is_refused(ctx: ToolContext) -> None:
    with redirects(8) as server, pytest.raises(ToolError, match="redirected more than 5 times"):
        await fetch(ctx, server.url + "/hop/8")
    # the first request and five redirects; the sixth redirect is not followed
    assert [r.path for r in server.requests] == [f"/hop/{n}" for n in range(8, 2, -1)]


async def test_a_redirect_to_another_scheme_is_not_followed(ctx: ToolContext) -> None:
    with (
        serve(Reply(301, headers={"Location": "ftp://example.org/file"})) as server,
        pytest.raises(ToolError, match="not http"),
    ):
        await fetch(ctx, server.url)
    assert len(server.requests) == 1


async def test_reading_stops_at_the_size_cap(ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webfetch, "MAX_BYTES", 4096)
    sent = 0
    total = 256 * 1024 * 1024  # "endless": far more than a client that stops at its cap ever takes

    def endless() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(total // 65536):
            sent += 65536
            yield (b"x" * 1023 + b"\n") * 64

    with serve(Reply(content_type="text/plain", stream=endless())) as server:
        result = await WebFetchTool().run(WebFetchParams(url=server.url), ctx)
    note, body = result.output.split("\n\n", 1)
    assert note == "(Only the first 4 KB of the response were read; the rest was cut.)"
    assert len(body.encode()) <= 4096 and set(body) == {"x", "\n"}
    assert result.metadata["cut"] is True and result.metadata["bytes"] == 4096
    assert sent < total  # the client hung up long before the end (what was sent sits in socket buffers)


async def test_a_body_exactly_at_the_cap_is_not_cut(ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webfetch, "MAX_BYTES", 4096)
    with serve(Reply(body=b"y" * 4096, content_type="text/plain")) as server:
        result = await WebFetchTool().run(WebFetchParams(url=server.url), ctx)
    assert result.output == "y" * 4096 and result.metadata["cut"] is False


async def test_a_stalled_server_times_out(ctx: ToolContext) -> None:
    with serve(Reply(stall=True)) as server:
        started = time.monotonic()
        with pytest.raises(ToolError, match=r"timed out after 0.5 s"):
            await fetch(ctx, server.url, timeout=0.5)
        assert time.monotonic() - started < 5
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("image/png", b"\x89PNG\r\n\x1a\n\0\0\0"),
        ("application/pdf", b"%PDF-1.7\n"),
        ("application/octet-stream", b"\0\1\2\3"),
        ("application/zip; charset=binary", b"PK\3\4"),
    ],
)
async def test_binary_content_is_refused_with_its_type(ctx: ToolContext, content_type: str, body: bytes) -> None:
    with (
        serve(Reply(body=body, content_type=content_type)) as server,
        pytest.raises(ToolError, match="binary content") as caught,
    ):
        await fetch(ctx, server.url + "/file")
    assert f"({content_type})" in str(caught.value)
    assert len(server.requests) == 1


async def test_an_untyped_binary_body_is_refused(ctx: ToolContext) -> None:
    with (
        serve(Reply(body=b"\0\0\0\1binary\0data" * 10, content_type=None)) as server,
        pytest.raises(ToolError, match=r"binary content.*looks binary"),
    ):
        await fetch(ctx, server.url)


@pytest.mark.parametrize("status", [404, 500])
async def test_http_errors_name_the_status(ctx: ToolContext, status: int) -> None:
    with serve(Reply(status, body="<p>nope</p>")) as server, pytest.raises(ToolError, match=f"HTTP {status}"):
        await fetch(ctx, server.url + "/missing")


async def test_a_cloudflare_challenge_is_retried_with_an_honest_agent(ctx: ToolContext) -> None:
    def handle(request: Received) -> Reply:
        if "Mozilla" in request.headers["user-agent"]:
            return Reply(403, body="challenge", headers={"cf-mitigated": "challenge"})
        return Reply(body="<p>real page</p>")

    with WebServer(handle) as server:
        assert await fetch(ctx, server.url) == "real page"
    assert [r.headers["user-agent"].startswith("opencode-python/") for r in server.requests] == [False, True]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "file: URLs cannot be fetched"),
        ("ftp://example.org/file.txt", "ftp: URLs cannot be fetched"),
        ("javascript:alert(1)", "javascript: URLs cannot be fetched"),
        ("data:text/html,<p>hi</p>", "data: URLs cannot be fetched"),
        ("example.com/page", "is not a URL; give a full URL starting with https://"),
        ("not a url at all", "is not a URL"),
        ("https://", "has no host name"),
        ("https://example.com:99999/", "not a valid URL"),
        ("http://exa mple.com/", "contains spaces"),
    ],
)
async def test_urls_that_are_not_http_are_refused(ctx: ToolContext, url: str, message: str) -> None:
    asked: list[PermissionRequest] = []

    async def ask(request: PermissionRequest) -> None:
        asked.append(request)

    ctx.ask = ask
    with pytest.raises(ToolError, match=message):
        await fetch(ctx, url)
    assert asked == []


async def test_permission_is_asked_for_the_url_and_a_refusal_sends_nothing(ctx: ToolContext) -> None:
    asked: list[PermissionRequest] = []

    async def refuse(request: PermissionRequest) -> None:
        asked.append(request)
        raise ToolError("the user rejected this")

    ctx.ask = refuse
    with serve(Reply(body="<p>hi</p>")) as server, pytest.raises(ToolError, match="the user rejected this"):
        await fetch(ctx, server.url + "/page", timeout=500)
    assert server.requests == []
    [request] = asked
    assert (request.permission, request.patterns, request.always) == ("webfetch", [server.url + "/page"], ["*"])
    assert request.metadata == {"url": server.url + "/page", "format": "markdown", "timeout": 120}


async def test_through_the_registry_long_pages_are_capped_and_bad_arguments_refused(ctx: ToolContext) -> None:
    registry = ToolRegistry.builtin()
    body = "\n".join(f"line {n}" for n in range(5000))
    with serve(Reply(body=body, content_type="text/plain")) as server:
        result = await registry.execute("webfetch", {"url": server.url}, ctx)
        with pytest.raises(ToolError, match="format: input should be 'text', 'markdown' or 'html'"):
            await registry.execute("webfetch", {"url": server.url, "format": "pdf"}, ctx)
        with pytest.raises(ToolError, match="url: expected a string"):
            await registry.execute("webfetch", {"url": 42}, ctx)
    assert result.output.startswith("line 0\nline 1\n")
    assert "[Output truncated" in result.output and result.metadata["truncated"] is True
    assert len(server.requests) == 1


async def test_an_abort_stops_the_fetch(ctx: ToolContext) -> None:
    import asyncio

    from opencode.tool.tool import Aborted

    with serve(Reply(stall=True)) as server:
        task = asyncio.create_task(fetch(ctx, server.url))
        while not server.requests:
            await asyncio.sleep(0.01)
        ctx.abort.set()
        with pytest.raises(Aborted):
            await asyncio.wait_for(task, 5)


async def test_the_engine_runs_webfetch_without_a_snapshot(project: Path, model_server: ScriptedModelServer) -> None:
    from opencode.session.model import StepFinishPart, ToolPart, ToolStateCompleted
    from opencode.testing.model_server import Reply as ModelReply
    from opencode.testing.model_server import Text, ToolCall
    from tests.agent.test_engine import make_engine

    (project / ".git").mkdir()  # a project snapshots are taken in
    (project / "notes.txt").write_text("a file, so that a snapshot would have something to record\n")
    engine, model = make_engine(project, model_server)
    with serve(Reply(body=PAGE)) as server:
        model_server.push(
            ModelReply([ToolCall("webfetch", {"url": server.url + "/notes"})]), ModelReply([Text("read it")])
        )
        session = engine.create_session()
        await engine.prompt(session.id, "what is new in 2.0?", model=model)
    assert [r.path for r in server.requests] == ["/notes"]
    parts = [p for m in engine.store.list_messages(session.id) for p in m.parts]
    [call] = [p for p in parts if isinstance(p, ToolPart)]
    assert isinstance(call.state, ToolStateCompleted) and "# Version 2.0" in call.state.output
    tool_message = next(m for m in model_server.requests[1].json["messages"] if m["role"] == "tool")
    assert "# Version 2.0" in str(tool_message["content"])
    # webfetch changes no files: the step took no snapshot (a step that may change files ends with one)
    assert [p.snapshot for p in parts if isinstance(p, StepFinishPart)] == [None, None]
    assert "patch" not in [p.type for p in parts]
