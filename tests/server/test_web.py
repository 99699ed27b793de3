"""The browser UI (`opencode web`) in a real browser: Debian's chromium driven by Playwright, against
a live server over the scripted model server, at desktop (1280x800) and phone (390x844) sizes.

Screenshots go to $OPENCODE_TEST_ARTIFACTS/web (or a folder under the system temp dir); each test
prints where. `scripts/setup-browser` installs chromium (scripts/test runs it).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from opencode.testing.model_server import Reply, ScriptedModelServer, Text, ToolCall
from tests.server.conftest import Live

CHROMIUM = "/usr/bin/chromium"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
TIMEOUT_MS = 20_000


# --- the page and its assets, without a browser ------------------------------------------------


def test_the_page_and_its_assets_are_served_with_a_strict_policy(live: Live) -> None:
    page = live.http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/assets/app.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    script = live.http.get("/assets/app.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    again = live.http.get("/assets/app.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    for name in ("markdown.js", "api.js", "app.css", "icon.svg"):
        assert live.http.get(f"/assets/{name}").status_code == 200, name


def test_asset_names_cannot_reach_other_files(live: Live) -> None:
    for path in ("/assets/..%2F__init__.py", "/assets/web.py", "/assets/.hidden.js", "/assets/nope.js"):
        reply = live.http.get(path)
        assert reply.status_code == 404, path
        assert reply.json()["name"] == "NotFoundError"
    # API paths are not shadowed by the UI's routes
    assert live.http.get("/global/health").json()["healthy"] is True


def test_the_assets_are_package_data() -> None:
    # src/opencode is packaged whole (pyproject's hatch wheel target), so these ship in the wheel.
    from importlib import resources

    shipped = {item.name for item in resources.files("opencode.server").joinpath("web").iterdir()}
    assert {"index.html", "app.js", "app.css", "markdown.js", "api.js"} <= shipped


# --- a real browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        missing = f"{CHROMIUM} is missing: run scripts/setup-browser (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(missing)  # in CI the browser tests must run for real
        pytest.skip(missing)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-background-networking"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    base = os.environ.get("OPENCODE_TEST_ARTIFACTS") or os.path.join(tempfile.gettempdir(), "opencode-test-artifacts")
    folder = Path(base) / "web"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nweb UI screenshots: {folder}", file=sys.stderr)
    return folder


class Page:
    """One browser tab on the live server, collecting the page's console errors."""

    def __init__(
        self, browser: Any, live: Live, size: str, artifacts: Path, name: str, credentials: dict[str, str] | None
    ) -> None:
        # Desktop in the dark theme, phone in the light one: both themes get seen.
        self.context = browser.new_context(
            viewport=SIZES[size],
            device_scale_factor=1,
            is_mobile=size == "phone",
            color_scheme="dark" if size == "desktop" else "light",
            http_credentials=credentials,
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        self.live = live
        self.size = size
        self.artifacts = artifacts
        self.name = name

    def open(self, fragment: str = "") -> Any:
        self.page.goto(self.live.url + "/" + fragment)
        self.page.wait_for_selector("body[data-ready=true]")
        return self.page

    def shot(self, label: str) -> Path:
        path = self.artifacts / f"{self.name}-{label}-{self.size}.png"
        self.page.screenshot(path=str(path))
        print(f"screenshot: {path}", file=sys.stderr)
        return path

    def fits(self) -> None:
        """Nothing wider than the window (no sideways scrolling on a phone)."""
        width = self.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= SIZES[self.size]["width"], f"page is {width}px wide"

    def send(self, text: str) -> None:
        self.page.fill("[data-testid=prompt]", text)
        self.page.press("[data-testid=prompt]", "Enter")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tab(browser: Any, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    opened: list[Page] = []

    def open_tab(live: Live, size: str, credentials: dict[str, str] | None = None) -> Page:
        name = request.node.originalname.removeprefix("test_")
        page = Page(browser, live, size, artifacts, name, credentials)
        opened.append(page)
        return page

    yield open_tab
    for page in opened:
        page.close()


def messages_of(live: Live) -> list[Any]:
    (session,) = live.engine.store.list_sessions()
    return live.engine.store.list_messages(session.id)


def with_context_limit(models: ScriptedModelServer, context: int) -> dict[str, Any]:
    """Config whose test model has a context window (the page shows how full it is)."""
    options = {"baseURL": models.base_url("openai-chat"), "apiKey": models.api_key, "maxRetries": 2}
    model = {"tool_call": True, "cost": {"input": 3.0, "output": 15.0}, "limit": {"context": context, "output": 100}}
    entry = {"npm": "@ai-sdk/openai-compatible", "options": options, "models": {"test-model": model}}
    return {"provider": {"mine": entry}}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_prompt_streams_its_answer_into_the_chat(
    size: str, start_server: Callable[..., Live], model_server: ScriptedModelServer, tab: Callable[..., Page]
) -> None:
    live = start_server(with_context_limit(model_server, 1000))
    answer = "Here is **the plan**:\n\n1. read the code\n2. fix it\n\n```python\ndef greet():\n    return 'hi'\n```\n"
    # The stream stalls after a few chunks, so the page must show the answer half-written first.
    model_server.push(Reply([Text(answer)], chunk_size=8, stall_after=4, stall_seconds=3))
    ui = tab(live, size)
    page = ui.open()
    ui.send("make a plan")
    text = page.locator("[data-role=assistant] [data-testid=part-text]")
    text.first.wait_for()
    partial = text.first.inner_text()
    assert partial and "def greet" not in partial
    assert "working" in page.locator("[data-role=assistant] .msg-meta").first.inner_text()
    page.locator("[data-role=assistant] .code .tok-keyword", has_text="def").wait_for()
    assert page.locator("[data-role=assistant] strong", has_text="the plan").count() == 1
    assert page.locator("[data-role=assistant] ol li").count() == 2
    page.wait_for_function(
        "() => !document.querySelector('[data-role=assistant] .msg-meta').textContent.includes('working')"
    )
    assert page.locator("[data-role=user]").inner_text().strip() == "make a plan"
    # cost and context: 10 in + 5 out of a 1,000-token window, at $3 / $15 per million
    page.locator("[data-testid=usage]", has_text="(2%)").wait_for()
    assert page.locator("[data-testid=usage]").inner_text() == "$0.0001 · 15 / 1k (2%)"
    ui.fits()
    ui.shot("answer")
    # the real outcome: the prompt reached the model, the answer is in the store
    assert "make a plan" in str(model_server.requests[-1].body)
    stored = messages_of(live)
    assert [m.info.role for m in stored] == ["user", "assistant"]
    assert stored[1].parts and any(getattr(p, "text", "") == answer for p in stored[1].parts)
    # the session shows in the list (on a phone, behind the drawer)
    if size == "phone":
        assert not page.locator("#sidebar").is_visible() or page.locator("#sidebar").bounding_box()["x"] < 0
        page.click("[data-testid=drawer-toggle]")
        page.wait_for_timeout(300)
    page.locator("[data-testid=session-item].active").wait_for()
    assert page.locator("[data-testid=session-item]").count() == 1
    if size == "phone":
        ui.shot("drawer")
    assert not ui.errors, ui.errors


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_approving_a_permission_runs_the_tool_and_shows_its_diff(
    size: str, start_server: Callable[..., Live], model_server: ScriptedModelServer, tab: Callable[..., Page]
) -> None:
    live = start_server({"permission": {"edit": "ask"}})
    target = live.project / "hello.py"
    model_server.push(
        Reply([ToolCall("write", {"filePath": str(target), "content": "def hello():\n    return 'web'\n"})]),
        Reply([Text("Wrote `hello.py`.")]),
    )
    ui = tab(live, size)
    page = ui.open()
    ui.send("write a hello module")
    card = page.locator("[data-testid=permission]")
    card.wait_for()
    assert "edit" in card.inner_text()
    card.locator("[data-testid=diff] .dl.add", has_text="def hello():").wait_for()
    assert not target.exists()
    ui.shot("permission")
    card.locator("[data-testid=permission-once]").click()
    tool = page.locator("[data-testid=tool][data-tool=write][data-status=completed]")
    tool.wait_for()
    tool.locator("[data-testid=diff] .dl.add", has_text="return 'web'").wait_for()
    page.locator("[data-role=assistant] [data-testid=part-text] code", has_text="hello.py").wait_for()
    assert page.locator("[data-testid=permission]").count() == 0
    assert target.read_text() == "def hello():\n    return 'web'\n"
    ui.fits()
    # the changed file in the file panel (beside the chat on a desktop, a drawer on a phone), with its diff
    changed = page.locator("[data-testid=changed-file][data-file='hello.py']")
    if size == "desktop":
        changed.wait_for()
    ui.shot("tool-diff")
    if size == "phone":
        page.click("[data-testid=files-toggle]")
    changed.click()
    page.locator("[data-testid=viewer] .dl.add", has_text="def hello():").wait_for()
    ui.shot("changes")
    assert not ui.errors, ui.errors


def test_model_text_is_never_run_as_markup(
    live: Live, model_server: ScriptedModelServer, tab: Callable[..., Page]
) -> None:
    hostile = (
        "<img src=x onerror=\"window.__xss='img'\"> <script>window.__xss='script'</script>\n\n"
        "[click me](javascript:window.__xss='link') and `<b>code</b>`\n\n"
        "```html\n<iframe src=\"javascript:window.__xss='frame'\"></iframe>\n```\n"
    )
    model_server.push(Reply([Text(hostile)]))
    ui = tab(live, "desktop")
    page = ui.open()
    ui.send("<img src=y onerror=\"window.__xss='user'\">")
    page.locator("[data-role=assistant] .code").wait_for()
    page.wait_for_timeout(200)
    messages = page.locator("#messages")
    assert messages.locator("img, script, iframe, b").count() == 0
    assert messages.locator("a[href^=javascript]").count() == 0
    assert "<script>window.__xss='script'</script>" in messages.inner_text()
    assert "<img src=y" in page.locator("[data-role=user]").inner_text()
    assert page.evaluate("() => window.__xss") is None
    assert not ui.errors, ui.errors


def test_sessions_can_be_searched_created_and_deleted(live: Live, tab: Callable[..., Page]) -> None:
    engine = live.engine
    for title in ("Fix the parser", "Write the docs"):
        session = engine.create_session(title=title)
        assert session.title == title
    ui = tab(live, "desktop")
    page = ui.open()
    items = page.locator("[data-testid=session-item]")
    assert items.count() == 2
    page.fill("[data-testid=search]", "parser")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=session-item]').length === 1")
    assert "Fix the parser" in items.inner_text()
    page.fill("[data-testid=search]", "")
    page.click("[data-testid=new-session]")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=session-item]').length === 3")
    assert len(engine.store.list_sessions()) == 3
    doomed = page.locator("[data-testid=session-item]", has_text="Write the docs")
    doomed.hover()
    doomed.locator("[data-testid=delete-session]").click()
    doomed.locator("[data-testid=delete-session]", has_text="delete?").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=session-item]').length === 2")
    titles = sorted(s.title for s in engine.store.list_sessions())
    assert "Write the docs" not in titles and "Fix the parser" in titles and len(titles) == 2
    assert not ui.errors, ui.errors


def test_undo_and_redo_restore_the_file_and_the_chat(
    start_server: Callable[..., Live], model_server: ScriptedModelServer, tab: Callable[..., Page]
) -> None:
    live = start_server()
    target = live.project / "notes.txt"
    model_server.push(
        Reply([ToolCall("write", {"filePath": str(target), "content": "first\n"})]),
        Reply([Text("done")]),
    )
    ui = tab(live, "desktop")
    page = ui.open()
    ui.send("write notes")
    page.locator("[data-testid=tool][data-status=completed]").wait_for()
    page.locator("[data-role=assistant] [data-testid=part-text]", has_text="done").wait_for()
    page.wait_for_function("() => !document.querySelector('[data-testid=undo]').disabled")
    assert target.read_text() == "first\n"
    page.click("[data-testid=undo]")
    page.locator("[data-testid=reverted]").wait_for()
    assert page.locator("[data-testid=message]").count() == 0
    assert page.input_value("[data-testid=prompt]") == "write notes"
    assert not target.exists()
    page.click("[data-testid=redo]")
    page.locator("[data-role=assistant] [data-testid=part-text]", has_text="done").wait_for()
    assert target.read_text() == "first\n"
    # undo again, then a new prompt: the undone turn is gone for good, on the page and in the store
    page.click("[data-testid=undo]")
    page.locator("[data-testid=reverted]").wait_for()
    model_server.push(Reply([Text("a fresh start")]))
    ui.send("something else")
    page.locator("[data-role=assistant] [data-testid=part-text]", has_text="a fresh start").wait_for()
    assert page.locator("[data-testid=reverted]").count() == 0
    assert page.locator("[data-role=user]").all_inner_texts() == ["something else"]
    assert [m.info.role for m in messages_of(live)] == ["user", "assistant"]
    assert not target.exists()
    assert not ui.errors, ui.errors


def test_abort_stops_a_running_answer(live: Live, model_server: ScriptedModelServer, tab: Callable[..., Page]) -> None:
    model_server.push(Reply([Text("a long answer " * 50)], stall_after=2, stall_seconds=30))
    ui = tab(live, "desktop")
    page = ui.open()
    ui.send("talk a lot")
    page.locator("[data-testid=abort]").wait_for()
    page.locator("[data-role=assistant] [data-testid=part-text]").first.wait_for()
    page.click("[data-testid=abort]")
    page.locator("[data-testid=send]").wait_for()
    stored = messages_of(live)
    assert stored[-1].info.role == "assistant"
    error = stored[-1].info.error
    assert error is not None and error.name == "MessageAbortedError"
    assert not ui.errors, ui.errors


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_question_is_answered_from_the_page(
    size: str, live: Live, model_server: ScriptedModelServer, tab: Callable[..., Page]
) -> None:
    question = {
        "questions": [
            {
                "question": "Which database should the app use?",
                "header": "Database",
                "options": [
                    {"label": "Postgres", "description": "a server"},
                    {"label": "SQLite", "description": "a file"},
                ],
            }
        ]
    }
    model_server.push(Reply([ToolCall("question", question)]), Reply([Text("SQLite it is.")]))
    ui = tab(live, size)
    page = ui.open()
    ui.send("set up storage")
    card = page.locator("[data-testid=question]")
    card.wait_for()
    assert "Which database should the app use?" in card.inner_text()
    ui.shot("question")
    card.locator("[data-testid=question-option]", has_text="SQLite").click()
    card.locator("[data-testid=question-submit]").click()
    page.locator("[data-role=assistant] [data-testid=part-text]", has_text="SQLite it is.").wait_for()
    assert page.locator("[data-testid=question]").count() == 0
    # the model was told the answer
    assert "SQLite" in str(model_server.requests[-1].body)
    assert not ui.errors, ui.errors


def test_the_file_panel_browses_the_project_and_shows_a_changed_file(live: Live, tab: Callable[..., Page]) -> None:
    import subprocess

    root = live.project
    (root / ".git").rmdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def main():\n    return 1\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=root, check=True)
    (root / "src" / "app.py").write_text("def main():\n    return 2\n")
    ui = tab(live, "desktop")
    page = ui.open()
    page.click("[data-testid=tab-files]")
    page.locator("[data-testid=tree-item]", has_text="src/").click()
    item = page.locator("[data-testid=tree-item]", has_text="app.py")
    assert item.locator(".status").inner_text() == "M"
    item.click()
    viewer = page.locator("[data-testid=viewer]")
    viewer.locator(".dl.add", has_text="return 2").wait_for()
    assert viewer.locator(".dl.del", has_text="return 1").count() == 1
    page.click("#viewer-back")
    page.locator("[data-testid=tree-item]", has_text="..").click()
    page.locator("[data-testid=tree-item]", has_text="README.md").click()
    viewer.locator("pre", has_text="# demo").wait_for()
    ui.shot("files")
    assert not ui.errors, ui.errors


def test_the_page_works_behind_the_servers_password(
    start_server: Callable[..., Live], model_server: ScriptedModelServer, tab: Callable[..., Page]
) -> None:
    live = start_server(environ={"OPENCODE_SERVER_PASSWORD": "s3cret"})
    assert live.http.get("/").status_code == 401
    model_server.push(Reply([Text("behind the password")]))
    ui = tab(live, "desktop", {"username": "opencode", "password": "s3cret"})
    page = ui.open()
    ui.send("hello")
    # the answer streams over the event stream, which needs the password too
    page.locator("[data-role=assistant] [data-testid=part-text]", has_text="behind the password").wait_for()
    assert not ui.errors, ui.errors


def test_rejecting_a_permission_leaves_the_file_alone(
    start_server: Callable[..., Live], model_server: ScriptedModelServer, tab: Callable[..., Page]
) -> None:
    live = start_server({"permission": {"bash": "ask"}})
    model_server.push(
        Reply([ToolCall("bash", {"command": "touch rejected.txt", "description": "Touch a file"})]),
        Reply([Text("Understood, I will not.")]),
    )
    ui = tab(live, "desktop")
    page = ui.open()
    ui.send("touch it")
    card = page.locator("[data-testid=permission]")
    card.wait_for()
    assert "touch rejected.txt" in card.inner_text()
    card.locator("[data-testid=permission-reject]").click()
    page.locator("[data-testid=tool][data-tool=bash][data-status=error] [data-testid=tool-error]").wait_for()
    page.locator("[data-role=assistant] [data-testid=part-text]", has_text="Understood").wait_for()
    assert not (live.project / "rejected.txt").exists()
    assert not ui.errors, ui.errors


def test_the_agent_picked_is_the_one_that_answers(
    live: Live, model_server: ScriptedModelServer, tab: Callable[..., Page]
) -> None:
    model_server.push(Reply([Text("planning only")]))
    ui = tab(live, "desktop")
    page = ui.open()
    names = page.locator("[data-testid=agent] option").all_inner_texts()
    assert "build" in names and "plan" in names
    assert page.locator("[data-testid=model] option").all_inner_texts() == ["test-model"]
    page.select_option("[data-testid=agent]", "plan")
    ui.send("what would you do?")
    page.locator("[data-role=assistant] [data-testid=part-text]", has_text="planning only").wait_for()
    user, assistant = (m.info for m in messages_of(live))
    assert user.role == "user" and user.agent == "plan"
    assert assistant.role == "assistant" and assistant.agent == "plan"
    assert user.model is not None and user.model.ref == "mine/test-model"
    # the choice is remembered for the next visit
    assert ui.open().input_value("[data-testid=agent]") == "plan"
    assert not ui.errors, ui.errors


def test_markdown_renders_the_usual_shapes_and_survives_odd_input(live: Live, tab: Callable[..., Page]) -> None:
    ui = tab(live, "desktop")
    page = ui.open()
    script = """async (samples) => {
        const { renderMarkdown } = await import('/assets/markdown.js');
        const out = {};
        for (const [name, text] of Object.entries(samples)) {
            const started = performance.now();
            const node = renderMarkdown(text);
            out[name] = { html: node.innerHTML, text: node.textContent, ms: performance.now() - started };
        }
        return out;
    }"""
    samples = {
        "nested": "- one\n  - inner *a*\n  - inner b\n- two\n\n3. three\n4. four",
        "table": "| a | b |\n| --- | :-: |\n| `x` | **y** |",
        "links": "see [docs](https://example.com/x) or https://example.org/y. [bad](javascript:alert(1))",
        "snake": "call do_this_now and a_b_c with 2 * 3 * 4",
        "half": "```js\nconst a = 1;\n// still streaming",
        "quote": "> quoted **bold**\n> more\n\n---\n\n# Title #",
        "odd": "*" * 500 + "_" * 500 + "[" * 300 + "`" * 301 + "\\" * 50,
        "big": ("word **bold** `code` [l](https://e.x) " * 2000),
    }
    result = page.evaluate(script, samples)
    nested = result["nested"]["html"]
    assert nested.startswith("<ul><li>one<ul><li>inner <em>a</em></li><li>inner b</li></ul></li><li>two</li></ul>")
    assert '<ol start="3"><li>three</li><li>four</li></ol>' in nested
    assert "<th>a</th>" in result["table"]["html"] and "<td><strong>y</strong></td>" in result["table"]["html"]
    links = result["links"]["html"]
    assert '<a href="https://example.com/x"' in links and '<a href="https://example.org/y"' in links
    assert "javascript:" not in links.split('class="link-unsafe"')[0] and 'href="javascript' not in links
    assert result["snake"]["text"] == "call do_this_now and a_b_c with 2 * 3 * 4"
    assert "<em>" not in result["snake"]["html"] and "<strong>" not in result["snake"]["html"]
    assert 'class="tok-keyword">const</span>' in result["half"]["html"]
    assert "tok-comment" in result["half"]["html"]
    assert (
        "<blockquote><p>quoted <strong>bold</strong><br>more</p></blockquote><hr><h1>Title</h1>"
        in result["quote"]["html"]
    )
    assert result["odd"]["text"].count("*") == 500
    assert all(sample["ms"] < 2000 for sample in result.values()), {k: v["ms"] for k, v in result.items()}
    assert not ui.errors, ui.errors
