"""The `youtube` tool: a YouTube video's metadata and the transcript of its captions.

Fetched with httpx through the project's client factory (proxies, trust store), the way
youtube-transcript-api does it today, so no second HTTP stack is needed and metadata comes along:

1. the watch page (`/watch?v=ID`): the InnerTube API key, and `ytInitialPlayerResponse` as a
   fallback; a consent page is answered once with the cookie it asks for;
2. the InnerTube player (`POST /youtubei/v1/player`, as the Android app): `playabilityStatus`,
   `videoDetails` (title, channel, length, description) and the caption tracks;
3. one caption track (`timedtext` XML, the classic `<transcript><text>` or srv3 `<p t d>`),
   preferring manual English captions, then automatic English, then whatever there is.

The transcript is grouped into lines of about `LINE_SECONDS` with a timestamp each. Output is
capped by the registry (2000 lines / 50 KB, the rest saved to a file, the cap stated), and every
download is capped at `MAX_BYTES`. A video without captions gets its metadata and a plain note.
The base URL is a constructor argument, so tests point the tool at a local server.

Asks the `webfetch` permission (for the watch URL): it is the same kind of access, and a user who
denies fetching means this too.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urljoin, urlsplit

from pydantic import BaseModel, Field

from opencode.tool.tool import PermissionRequest, Tool, ToolContext, ToolError, ToolResult
from opencode.tool.webfetch import BROWSER_UA, read_capped, size, status_error, until_aborted

if TYPE_CHECKING:
    import httpx

BASE_URL = "https://www.youtube.com"
TIMEOUT_S = 60.0
MAX_BYTES = 5 * 1024 * 1024
LINE_SECONDS = 30.0
MAX_DESCRIPTION_CHARS = 1500
VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
HOSTS = ("youtube.com", "youtube-nocookie.com")
PATH_FORMS = ("shorts", "embed", "live", "v", "e")
INNERTUBE_CONTEXT = {"client": {"clientName": "ANDROID", "clientVersion": "20.10.38"}}
ACCEPTED = (
    "https://www.youtube.com/watch?v=ID, https://youtu.be/ID, https://www.youtube.com/shorts/ID, "
    "https://www.youtube.com/embed/ID, or the 11-character video ID"
)


class YouTubeParams(BaseModel):
    url: str = Field(description="The video's URL (watch?v=, youtu.be/, shorts/, embed/) or its 11-character ID")


@dataclass
class Track:
    url: str
    language: str
    code: str
    generated: bool


class YouTubeTool(Tool[YouTubeParams]):
    name = "youtube"
    params = YouTubeParams
    description_file = "youtube.txt"

    def __init__(self, base_url: str = BASE_URL) -> None:
        self.base_url = base_url.rstrip("/")

    async def run(self, params: YouTubeParams, ctx: ToolContext) -> ToolResult:
        vid = video_id(params.url)
        watch = f"https://www.youtube.com/watch?v={vid}"
        await ctx.ask(PermissionRequest("webfetch", [watch], f"Fetch the YouTube video {watch}", {"url": watch}, ["*"]))
        ctx.check_abort()
        try:
            async with asyncio.timeout(TIMEOUT_S):
                return await until_aborted(self._fetch(vid, watch), ctx)
        except TimeoutError:
            raise ToolError(f"YouTube did not answer within {TIMEOUT_S:g} s; try again later")

    async def _fetch(self, vid: str, watch: str) -> ToolResult:
        import httpx

        from opencode.provider.http import make_client

        try:
            async with make_client(connect_timeout=TIMEOUT_S, read_timeout=TIMEOUT_S) as client:
                client.headers["user-agent"] = BROWSER_UA
                client.headers["accept-language"] = "en-US,en;q=0.9"
                player = await self._player(client, vid)
                details = player.get("videoDetails") or {}
                tracks = caption_tracks(player)
                header = describe(details, vid, watch)
                if not tracks:
                    note = "This video has no captions (subtitles), so there is no transcript to return."
                    return ToolResult(f"{header}\n\n{note}", _title(details, vid), _metadata(vid, details, None))
                track = choose(tracks)
                xml = await _get(client, urljoin(self.base_url + "/", track.url), "fetching the captions")
        except httpx.TimeoutException:
            raise ToolError(f"YouTube did not answer within {TIMEOUT_S:g} s; try again later")
        except httpx.HTTPError as exc:
            raise ToolError(f"could not reach YouTube: {type(exc).__name__}: {exc}")
        snippets = parse_captions(xml)
        if not snippets:
            note = f"The {track.language} caption track is empty, so there is no transcript to return."
            return ToolResult(f"{header}\n\n{note}", _title(details, vid), _metadata(vid, details, track))
        kind = "auto-generated" if track.generated else "manual"
        name = track.language if kind in track.language.lower() else f"{track.language} ({kind})"
        others = sorted({t.code for t in tracks} - {track.code})
        also = f"; also available: {', '.join(others)}" if others else ""
        output = f"{header}\nCaptions: {name}{also}\n\nTranscript:\n{format_transcript(snippets)}"
        return ToolResult(output, _title(details, vid), _metadata(vid, details, track))

    async def _player(self, client: httpx.AsyncClient, vid: str) -> dict[str, Any]:
        """The player response: from InnerTube when it answers, else the one embedded in the watch page."""
        page = await self._watch_page(client, vid)
        if 'class="g-recaptcha"' in page:
            raise ToolError("YouTube answered with a captcha (it blocks automated requests from some networks)")
        embedded = _embedded_player(page)
        player: dict[str, Any] = {}
        key = re.search(r'"INNERTUBE_API_KEY":\s*"([A-Za-z0-9_-]+)"', page)
        if key is not None:
            response = await client.post(
                f"{self.base_url}/youtubei/v1/player",
                params={"key": key.group(1)},
                json={"context": INNERTUBE_CONTEXT, "videoId": vid},
            )
            if response.is_success:
                try:
                    player = response.json()
                except ValueError:
                    player = {}
        if not isinstance(player, dict) or not player.get("playabilityStatus"):
            player = embedded
        if not player:
            raise ToolError(
                f"could not read the page of video {vid}: YouTube may have changed it or blocked the request"
            )
        check_playable(player, vid)
        if not player.get("videoDetails") and embedded.get("videoDetails"):
            player["videoDetails"] = embedded["videoDetails"]
        if not caption_tracks(player) and caption_tracks(embedded):
            player["captions"] = embedded["captions"]
        return player

    async def _watch_page(self, client: httpx.AsyncClient, vid: str) -> str:
        url = f"{self.base_url}/watch?v={vid}&hl=en"
        page = (await _get(client, url, f"fetching video {vid}")).decode("utf-8", errors="replace")
        if 'action="https://consent.youtube.com/s"' in page:
            consent = re.search(r'name="v" value="(.*?)"', page)
            if consent is None:
                raise ToolError("YouTube asked for cookie consent and the consent form could not be read")
            client.cookies.set("CONSENT", "YES+" + consent.group(1), domain=urlsplit(self.base_url).hostname or "")
            page = (await _get(client, url, f"fetching video {vid}")).decode("utf-8", errors="replace")
            if 'action="https://consent.youtube.com/s"' in page:
                raise ToolError("YouTube kept asking for cookie consent; the video page could not be read")
        return page


def video_id(raw: str) -> str:
    """The 11-character ID in a YouTube URL (or the ID itself); a ToolError for anything else."""
    text = raw.strip()
    if VIDEO_ID.match(text):
        return text
    candidate = ""
    if "://" not in text and re.match(r"^(www\.|m\.)?(youtube\.com|youtu\.be|youtube-nocookie\.com)/", text):
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise ToolError(f"{raw!r} is not a YouTube video URL; give {ACCEPTED}")
    if parts.scheme.lower() not in ("http", "https"):
        raise ToolError(f"{raw!r} is not a YouTube video URL; give {ACCEPTED}")
    host = host.removeprefix("www.").removeprefix("m.").removeprefix("music.")
    segments = [s for s in parts.path.split("/") if s]
    if host == "youtu.be" and segments:
        candidate = segments[0]
    elif host in HOSTS:
        if segments == ["watch"]:
            candidate = (parse_qs(parts.query).get("v") or [""])[0]
        elif len(segments) >= 2 and segments[0] in PATH_FORMS:
            candidate = segments[1]
    if VIDEO_ID.match(candidate):
        return candidate
    raise ToolError(f"{raw!r} is not a YouTube video URL; give {ACCEPTED}")


def check_playable(player: dict[str, Any], vid: str) -> None:
    status = player.get("playabilityStatus") or {}
    state = status.get("status")
    if state in (None, "OK"):
        return
    reason = status.get("reason") or state
    if state == "LOGIN_REQUIRED" and "bot" in str(reason).lower():
        raise ToolError(
            "YouTube asked to sign in to prove this is not a bot; it blocks automated requests from some networks"
        )
    raise ToolError(f"YouTube cannot play video {vid}: {reason}")


def caption_tracks(player: dict[str, Any]) -> list[Track]:
    renderer = (player.get("captions") or {}).get("playerCaptionsTracklistRenderer") or {}
    tracks = []
    for raw in renderer.get("captionTracks") or []:
        if not isinstance(raw, dict) or not raw.get("baseUrl"):
            continue
        if "&exp=xpe" in raw["baseUrl"]:
            continue  # needs a proof-of-origin token this tool cannot make
        name = raw.get("name") or {}
        language = name.get("simpleText") or "".join(run.get("text", "") for run in name.get("runs") or [])
        code = str(raw.get("languageCode") or "")
        tracks.append(Track(str(raw["baseUrl"]), language or code or "unknown", code, raw.get("kind") == "asr"))
    return tracks


def choose(tracks: list[Track]) -> Track:
    """Manual English, automatic English, any manual track, any track: in that order."""
    english = [t for t in tracks if t.code.lower().startswith("en")]
    return min(english or tracks, key=lambda t: t.generated)


def parse_captions(data: bytes) -> list[tuple[float, str]]:
    """(start in seconds, text) from a timedtext document: `<text start dur>` or srv3 `<p t d>`."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ToolError(f"YouTube's captions could not be read ({exc})")
    snippets = []
    for element in root.iter():
        if element.tag == "text" and "start" in element.attrib:
            start = _seconds(element.attrib["start"])
        elif element.tag == "p" and "t" in element.attrib:
            start = _seconds(element.attrib["t"]) / 1000
        else:
            continue
        text = " ".join(html.unescape(re.sub(r"<[^>]*>", "", "".join(element.itertext()))).split())
        if text:
            snippets.append((start, text))
    return snippets


def format_transcript(snippets: list[tuple[float, str]]) -> str:
    lines: list[str] = []
    start, words = snippets[0][0], [snippets[0][1]]
    for at, text in snippets[1:]:
        if at - start >= LINE_SECONDS:
            lines.append(f"[{clock(start)}] {' '.join(words)}")
            start, words = at, []
        words.append(text)
    lines.append(f"[{clock(start)}] {' '.join(words)}")
    return "\n".join(lines)


def clock(seconds: float) -> str:
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def describe(details: dict[str, Any], vid: str, watch: str) -> str:
    lines = [f"Title: {details.get('title') or '(unknown)'}", f"Channel: {details.get('author') or '(unknown)'}"]
    length = str(details.get("lengthSeconds") or "")
    if length.isdigit() and int(length) > 0:
        lines.append(f"Length: {clock(int(length))}")
    elif details.get("isLiveContent"):
        lines.append("Length: live stream")
    lines.append(f"URL: {watch}")
    description = str(details.get("shortDescription") or "").strip()
    if description:
        if len(description) > MAX_DESCRIPTION_CHARS:
            description = description[:MAX_DESCRIPTION_CHARS].rstrip() + f"… (cut at {MAX_DESCRIPTION_CHARS} chars)"
        lines.append(f"Description:\n{description}\n")
    return "\n".join(lines).rstrip()


async def _get(client: httpx.AsyncClient, url: str, what: str) -> bytes:
    async with client.stream("GET", url) as response:
        if not response.is_success:
            raise status_error(what, response)
        data, cut = await read_capped(response, MAX_BYTES)
    if cut:
        raise ToolError(f"{what}: YouTube sent more than {size(MAX_BYTES)}; stopped")
    return data


def _embedded_player(page: str) -> dict[str, Any]:
    match = re.search(r"ytInitialPlayerResponse\s*=\s*", page)
    if match is None:
        return {}
    try:
        found, _ = json.JSONDecoder().raw_decode(page, match.end())
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _seconds(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def _title(details: dict[str, Any], vid: str) -> str:
    return str(details.get("title") or f"YouTube video {vid}")


def _metadata(vid: str, details: dict[str, Any], track: Track | None) -> dict[str, Any]:
    return {
        "videoId": vid,
        "title": details.get("title"),
        "channel": details.get("author"),
        "lengthSeconds": details.get("lengthSeconds"),
        "captions": track.code if track else None,
        "generated": track.generated if track else None,
    }
