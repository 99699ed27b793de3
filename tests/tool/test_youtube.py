from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from opencode.tool.registry import ToolRegistry
from opencode.tool.tool import PermissionRequest, ToolContext, ToolError, ToolResult
from opencode.tool.youtube import YouTubeParams, YouTubeTool, parse_captions, video_id
from tests.tool.webserver import Received, Reply, WebServer, json_reply

VID = "dQw4w9WgXcQ"
CAPTIONS = b"""<?xml version="1.0" encoding="utf-8" ?><transcript>
<text start="0.5" dur="2.1">Hello and welcome</text>
<text start="3.0" dur="2.0">it&amp;#39;s a &lt;b&gt;test&lt;/b&gt;</text>
<text start="31.0" dur="2.0">second line</text>
<text start="3700.2" dur="2.0">the very end</text>
<text start="3702" dur="1"></text>
</transcript>"""


class FakeYouTube:
    """The three endpoints the tool uses: the watch page, the InnerTube player, timedtext."""

    def __init__(self) -> None:
        self.server = WebServer(self.handle)
        self.url = self.server.url
        self.player: dict[str, Any] = {
            "playabilityStatus": {"status": "OK"},
            "videoDetails": {
                "videoId": VID,
                "title": "A talk about testing",
                "author": "Test Channel",
                "lengthSeconds": "3725",
                "shortDescription": "What this talk covers.",
            },
            "captions": {
                "playerCaptionsTracklistRenderer": {
                    "captionTracks": [
                        self.track("de", "German (auto-generated)", asr=True),
                        self.track("en", "English", asr=False),
                        self.track("en", "English (auto-generated)", asr=True),
                    ]
                }
            },
        }
        self.player_status = 200
        self.embedded: dict[str, Any] | None = None
        self.captions = CAPTIONS
        self.consent_first = False

    def track(self, code: str, name: str, *, asr: bool) -> dict[str, Any]:
        kind = "&kind=asr" if asr else ""
        entry: dict[str, Any] = {
            "baseUrl": f"{self.url}/api/timedtext?v={VID}&lang={code}{kind}",
            "name": {"runs": [{"text": name}]},
            "languageCode": code,
        }
        if asr:
            entry["kind"] = "asr"
        return entry

    def handle(self, request: Received) -> Reply:
        if request.path == "/watch":
            if self.consent_first and "CONSENT=YES+cb.123" not in request.headers.get("cookie", ""):
                return Reply(body='<form action="https://consent.youtube.com/s"><input name="v" value="cb.123"></form>')
            embedded = (
                f"<script>var ytInitialPlayerResponse = {json.dumps(self.embedded)};</script>" if self.embedded else ""
            )
            return Reply(
                body=f'<html><script>ytcfg.set({{"INNERTUBE_API_KEY": "test-key"}});</script>{embedded}</html>'
            )
        if request.path == "/youtubei/v1/player":
            return json_reply(self.player, self.player_status)
        if request.path == "/api/timedtext":
            return Reply(body=self.captions, content_type="text/xml; charset=UTF-8")
        return Reply(404)

    def __enter__(self) -> FakeYouTube:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)


async def fetch(ctx: ToolContext, fake: FakeYouTube, url: str = f"https://youtu.be/{VID}") -> ToolResult:
    return await YouTubeTool(fake.url).run(YouTubeParams(url=url), ctx)


async def test_transcript_and_metadata(ctx: ToolContext) -> None:
    with FakeYouTube() as fake:
        result = await fetch(ctx, fake)

    watch, player, captions = fake.server.requests
    assert (watch.method, watch.path, watch.query) == ("GET", "/watch", {"v": [VID], "hl": ["en"]})
    assert (player.method, player.path, player.query) == ("POST", "/youtubei/v1/player", {"key": ["test-key"]})
    assert player.json() == {
        "context": {"client": {"clientName": "ANDROID", "clientVersion": "20.10.38"}},
        "videoId": VID,
    }
    assert captions.query == {"v": [VID], "lang": ["en"]}  # manual English beats automatic English and German
    assert result.output == (
        "Title: A talk about testing\n"
        "Channel: Test Channel\n"
        "Length: 1:02:05\n"
        f"URL: https://www.youtube.com/watch?v={VID}\n"
        "Description:\nWhat this talk covers.\n"
        "Captions: English (manual); also available: de\n\n"
        "Transcript:\n"
        "[0:00] Hello and welcome it's a test\n"
        "[0:31] second line\n"
        "[1:01:40] the very end"
    )
    assert result.title == "A talk about testing"
    assert result.metadata == {
        "videoId": VID,
        "title": "A talk about testing",
        "channel": "Test Channel",
        "lengthSeconds": "3725",
        "captions": "en",
        "generated": False,
    }


async def test_a_video_without_captions_says_so(ctx: ToolContext) -> None:
    with FakeYouTube() as fake:
        del fake.player["captions"]
        result = await fetch(ctx, fake)
    assert [r.path for r in fake.server.requests] == ["/watch", "/youtubei/v1/player"]
    assert result.output.startswith("Title: A talk about testing\nChannel: Test Channel\nLength: 1:02:05\n")
    assert result.output.endswith("\n\nThis video has no captions (subtitles), so there is no transcript to return.")
    assert result.metadata["captions"] is None


async def test_automatic_captions_are_used_when_there_are_no_manual_ones(ctx: ToolContext) -> None:
    with FakeYouTube() as fake:
        tracks = fake.player["captions"]["playerCaptionsTracklistRenderer"]["captionTracks"]
        del tracks[1]
        result = await fetch(ctx, fake)
    assert fake.server.requests[-1].query == {"v": [VID], "lang": ["en"], "kind": ["asr"]}
    assert "Captions: English (auto-generated); also available: de" in result.output
    assert result.metadata["generated"] is True


async def test_the_page_s_own_player_response_is_the_fallback(ctx: ToolContext) -> None:
    with FakeYouTube() as fake:
        fake.embedded = fake.player
        fake.player = {"error": "unavailable"}
        fake.player_status = 500
        result = await fetch(ctx, fake)
    assert [r.path for r in fake.server.requests] == ["/watch", "/youtubei/v1/player", "/api/timedtext"]
    assert "[0:31] second line" in result.output


async def test_a_consent_page_is_answered_once(ctx: ToolContext) -> None:
    with FakeYouTube() as fake:
        fake.consent_first = True
        result = await fetch(ctx, fake)
    first, second = fake.server.requests[:2]
    assert "cookie" not in first.headers and "CONSENT=YES+cb.123" in second.headers["cookie"]
    assert "Transcript:" in result.output


async def test_an_unplayable_video_is_a_clear_error(ctx: ToolContext) -> None:
    with FakeYouTube() as fake:
        fake.player = {"playabilityStatus": {"status": "ERROR", "reason": "This video is unavailable"}}
        with pytest.raises(ToolError, match=f"YouTube cannot play video {VID}: This video is unavailable"):
            await fetch(ctx, fake)


async def test_a_missing_page_names_the_status(ctx: ToolContext) -> None:
    with (
        WebServer(lambda request: Reply(404)) as server,
        pytest.raises(ToolError, match=f"fetching video {VID} failed: HTTP 404"),
    ):
        await YouTubeTool(server.url).run(YouTubeParams(url=VID), ctx)


async def test_permission_is_asked_and_a_refusal_sends_nothing(ctx: ToolContext) -> None:
    asked: list[PermissionRequest] = []

    async def refuse(request: PermissionRequest) -> None:
        asked.append(request)
        raise ToolError("the user rejected this")

    ctx.ask = refuse
    with FakeYouTube() as fake, pytest.raises(ToolError, match="the user rejected this"):
        await fetch(ctx, fake)
    assert fake.server.requests == []
    [request] = asked
    assert (request.permission, request.patterns) == ("webfetch", [f"https://www.youtube.com/watch?v={VID}"])


async def test_a_long_transcript_is_capped_with_the_cap_stated(ctx: ToolContext) -> None:
    lines = "".join(f'<text start="{n * 40}" dur="2">sentence number {n}</text>' for n in range(3000))
    with FakeYouTube() as fake:
        fake.captions = f"<transcript>{lines}</transcript>".encode()
        registry = ToolRegistry([YouTubeTool(fake.url)])
        result = await registry.execute("youtube", {"url": f"https://www.youtube.com/watch?v={VID}"}, ctx)
    assert "[0:00] sentence number 0\n[0:40] sentence number 1\n" in result.output
    assert "[Output truncated: showing the first" in result.output
    assert result.metadata["truncated"] is True
    assert "sentence number 2999" in Path(result.metadata["outputPath"]).read_text("utf-8")


@pytest.mark.parametrize(
    "url",
    [
        f"https://www.youtube.com/watch?v={VID}",
        f"https://www.youtube.com/watch?feature=share&v={VID}&t=42s",
        f"http://m.youtube.com/watch?v={VID}",
        f"https://youtu.be/{VID}?si=abc",
        f"https://www.youtube.com/shorts/{VID}",
        f"https://www.youtube.com/embed/{VID}?start=3",
        f"https://www.youtube-nocookie.com/embed/{VID}",
        f"https://www.youtube.com/live/{VID}",
        f"https://music.youtube.com/watch?v={VID}",
        f"youtube.com/watch?v={VID}",
        f"youtu.be/{VID}",
        f"  {VID}  ",
    ],
)
def test_the_usual_url_shapes_give_the_id(url: str) -> None:
    assert video_id(url) == VID


@pytest.mark.parametrize(
    "url",
    [
        "https://vimeo.com/123456789",
        "https://www.youtube.com/playlist?list=PL1234567890",
        "https://www.youtube.com/@SomeChannel",
        "https://www.youtube.com/watch?v=short",
        f"file:///videos/{VID}",
        f"ftp://youtube.com/watch?v={VID}",
        "not a video",
        "",
    ],
)
async def test_other_urls_are_refused(ctx: ToolContext, url: str) -> None:
    with pytest.raises(ToolError, match=r"is not a YouTube video URL; give https://www\.youtube\.com/watch"):
        await YouTubeTool("http://127.0.0.1:9").run(YouTubeParams(url=url), ctx)


def test_srv3_captions_are_read_too() -> None:
    srv3 = b"""<timedtext format="3"><body>
    <p t="1500" d="2000"><s>Hello</s><s> there</s></p>
    <p t="65000" d="1000">again &amp; again</p>
    </body></timedtext>"""
    assert parse_captions(srv3) == [(1.5, "Hello there"), (65.0, "again & again")]


def test_broken_captions_are_a_tool_error() -> None:
    with pytest.raises(ToolError, match="captions could not be read"):
        parse_captions(b"<transcript><text")
