"""The `webfetch` tool: one web page, as markdown, readable text or the raw HTML.

Only http and https URLs are fetched, and only after the `webfetch` permission is asked for the
URL. The request goes through the project's one HTTP client factory (`opencode.provider.http`:
proxies, SSL_CERT_FILE, the system trust store), follows at most `MAX_REDIRECTS` redirects and is
cut off by `timeout` as a whole (30 s by default, 120 s at most), so a server that trickles bytes
cannot hold the run. The body is streamed and reading stops at `MAX_BYTES` (5 MB); the output then
says so at the top, where the registry's own cap (the head of the text) cannot cut the note away.
Binary bodies (images, PDFs, archives, octet-stream) are refused with their content type.

HTML becomes markdown through markdownify (scripts, styles and embedded frames dropped), or
readable text through BeautifulSoup; other text types come back as they are. Parsing runs in a
thread, because a 5 MB page takes a while.

This module also holds the small helpers the other web tools share (`until_aborted`,
`read_capped`, `status_error`).
"""

from __future__ import annotations

import asyncio
import codecs
import re
import warnings
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Literal, TypeVar
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, Field

from opencode.tool.read import looks_binary
from opencode.tool.tool import Aborted, PermissionRequest, Tool, ToolContext, ToolError, ToolResult

if TYPE_CHECKING:
    import httpx
    from bs4 import BeautifulSoup

T = TypeVar("T")

MAX_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT_S = 30.0
MAX_TIMEOUT_S = 120.0
MAX_REDIRECTS = 5
SNIFF_BYTES = 4096
# Many sites answer a library's user agent with a block page; opencode sends a browser's too.
BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36"
)
ACCEPT = {
    "markdown": "text/markdown;q=1.0, text/x-markdown;q=0.9, text/plain;q=0.8, text/html;q=0.7, */*;q=0.1",
    "text": "text/plain;q=1.0, text/markdown;q=0.9, text/html;q=0.8, */*;q=0.1",
    "html": "text/html;q=1.0, application/xhtml+xml;q=0.9, text/plain;q=0.8, text/markdown;q=0.7, */*;q=0.1",
}
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# fmt: off
TEXT_TYPES = frozenset({
    "application/json", "application/xml", "application/javascript", "application/x-javascript",
    "application/ecmascript", "application/x-yaml", "application/yaml", "application/toml", "application/x-sh",
    "application/sql", "application/graphql", "application/x-ndjson", "application/csv", "application/x-tex",
    "application/x-httpd-php", "application/x-www-form-urlencoded",
})
OTHER_SCHEMES = frozenset({
    "file", "ftp", "ftps", "sftp", "ssh", "git", "javascript", "data", "mailto", "about", "blob", "chrome",
    "ws", "wss", "tel", "smb", "view-source",
})
# fmt: on
DROPPED_TAGS = ["script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas", "meta", "link"]
BLOCK_TAGS = [
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "footer",
    "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "table", "tr", "ul", "title",
]  # fmt: skip


class WebFetchParams(BaseModel):
    url: str = Field(description="The URL to fetch (http:// or https://)")
    format: Literal["text", "markdown", "html"] = Field(
        "markdown", description="What to return: markdown (default), text (no markup) or html (as served)"
    )
    timeout: float = Field(DEFAULT_TIMEOUT_S, gt=0, description="Timeout in seconds (default 30, at most 120)")


class WebFetchTool(Tool[WebFetchParams]):
    name = "webfetch"
    params = WebFetchParams
    description_file = "webfetch.txt"

    async def run(self, params: WebFetchParams, ctx: ToolContext) -> ToolResult:
        url = check_url(params.url)
        timeout = min(params.timeout, MAX_TIMEOUT_S)
        await ctx.ask(
            PermissionRequest(
                "webfetch",
                [url],
                f"Fetch {url}",
                {"url": url, "format": params.format, "timeout": timeout},
                ["*"],
            )
        )
        ctx.check_abort()
        try:
            async with asyncio.timeout(timeout):
                page = await until_aborted(_fetch(url, params.format, timeout), ctx)
        except TimeoutError:
            raise ToolError(
                f"fetching {url} timed out after {timeout:g} s; try again with a larger timeout (at most 120)"
            )
        return await asyncio.to_thread(_render, page, params.format)


class _Page:
    def __init__(self, url: str, final_url: str | None, status: int, content_type: str) -> None:
        self.url = url
        self.final_url = final_url
        """Where the redirects led; None when there were none."""
        self.status = status
        self.content_type = content_type
        self.data = b""
        self.cut = False

    @property
    def mime(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", self.content_type, re.IGNORECASE)
        if match is None:
            return None
        try:
            return codecs.lookup(match.group(1)).name
        except LookupError:
            return None


def check_url(raw: str) -> str:
    """The URL to fetch, or a ToolError saying why it is not one: http(s) with a host only."""
    url = raw.strip()
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in ("http", "https"):
            if any(ch.isspace() for ch in url):
                raise ValueError("it contains spaces; encode them as %20")
            parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError as exc:
        raise ToolError(f"{raw!r} is not a valid URL ({exc}); give a full URL such as https://example.com/page")
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise ToolError(f"{raw!r} has no host name; give a full URL such as https://example.com/page")
        import httpx

        try:
            httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise ToolError(f"{raw!r} is not a valid URL ({exc}); give a full URL such as https://example.com/page")
        return url
    if scheme in OTHER_SCHEMES or "://" in url:
        raise ToolError(f"{scheme}: URLs cannot be fetched; only http:// and https:// URLs are supported")
    raise ToolError(f"{raw!r} is not a URL; give a full URL starting with https:// (or http://)")


async def until_aborted(work: Awaitable[T], ctx: ToolContext) -> T:
    """Run `work` until it ends or the run is aborted (then it is cancelled and `Aborted` raised)."""
    task = asyncio.ensure_future(work)
    abort = asyncio.ensure_future(ctx.abort.wait())
    try:
        done, _ = await asyncio.wait({task, abort}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        abort.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task not in done:
        raise Aborted("aborted")
    return task.result()


async def read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the (decoded) body, and whether there was more; stops reading there."""
    data = bytearray()
    chunks = response.aiter_bytes()
    async for chunk in chunks:
        room = limit - len(data)
        if len(chunk) > room:
            data += chunk[:room]
            return bytes(data), True
        data += chunk
        if len(data) == limit:
            # Exactly at the cap: one more non-empty chunk decides whether anything was cut.
            async for more in chunks:
                if more:
                    return bytes(data), True
    return bytes(data), False


def status_error(what: str, response: httpx.Response) -> ToolError:
    """`<what> failed: HTTP 404 Not Found`."""
    reason = f" {response.reason_phrase}" if response.reason_phrase else ""
    return ToolError(f"{what} failed: HTTP {response.status_code}{reason}")


async def _fetch(url: str, format: str, timeout: float) -> _Page:
    import httpx

    from opencode.provider.http import make_client

    headers = {"user-agent": BROWSER_UA, "accept": ACCEPT[format], "accept-language": "en-US,en;q=0.9"}
    try:
        async with make_client(connect_timeout=timeout, read_timeout=timeout) as client:
            client.max_redirects = MAX_REDIRECTS
            response = await client.send(client.build_request("GET", url, headers=headers), stream=True)
            try:
                if response.status_code == 403 and response.headers.get("cf-mitigated") == "challenge":
                    # Cloudflare challenges a browser agent whose TLS does not look like a browser's;
                    # an honest agent often gets through.
                    await response.aclose()
                    del headers["user-agent"]
                    response = await client.send(client.build_request("GET", url, headers=headers), stream=True)
                return await _read(url, response)
            finally:
                await response.aclose()
    except httpx.TooManyRedirects:
        raise ToolError(f"{url} redirected more than {MAX_REDIRECTS} times; stopped. Fetch the final URL directly.")
    except httpx.InvalidURL as exc:
        raise ToolError(f"{url} is not a valid URL ({exc})")
    except httpx.UnsupportedProtocol as exc:
        raise ToolError(f"{url} redirected to a URL that is not http(s) ({exc}); it was not followed")
    except httpx.TimeoutException:
        raise ToolError(f"fetching {url} timed out after {timeout:g} s; try again with a larger timeout (at most 120)")
    except httpx.ConnectError as exc:
        raise ToolError(f"could not connect to {urlsplit(url).hostname}: {exc or type(exc).__name__}")
    except httpx.HTTPError as exc:
        raise ToolError(f"fetching {url} failed: {type(exc).__name__}: {exc}")


async def _read(url: str, response: httpx.Response) -> _Page:
    if not response.is_success:
        raise status_error(f"fetching {url}", response)
    content_type = response.headers.get("content-type", "")
    page = _Page(url, str(response.url) if response.history else None, response.status_code, content_type)
    if page.mime and not _is_text(page.mime):
        raise _binary(url, content_type)
    page.data, page.cut = await read_capped(response, MAX_BYTES)
    if page.mime not in HTML_TYPES and looks_binary(page.data[:SNIFF_BYTES]):
        raise _binary(url, content_type or "no content type; the body looks binary")
    return page


def _is_text(mime: str) -> bool:
    return mime.startswith("text/") or mime in TEXT_TYPES or mime.endswith(("+json", "+xml", "-json"))


def _binary(url: str, content_type: str) -> ToolError:
    return ToolError(
        f"{url} is binary content ({content_type}), which webfetch does not return; it fetches text such as "
        "HTML, JSON or plain text. For a file to work with, download it with the bash tool (e.g. curl -o)."
    )


def _render(page: _Page, format: str) -> ToolResult:
    html = page.mime in HTML_TYPES or (
        not page.mime and page.data.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))
    )
    if format == "html" or not html:
        text = _decode(page.data, page.charset)
    elif format == "markdown":
        text = html_to_markdown(page.data, page.charset, page.final_url or page.url)
    else:
        text = html_to_text(page.data, page.charset)
    notes = []
    if page.final_url:
        notes.append(f"(Redirected to {page.final_url})")
    if page.cut:
        notes.append(f"(Only the first {size(MAX_BYTES)} of the response were read; the rest was cut.)")
    body = text.strip() or "(The page has no text content.)"
    output = "\n".join(notes) + "\n\n" + body if notes else body
    metadata = {
        "url": page.final_url or page.url,
        "status": page.status,
        "contentType": page.content_type,
        "bytes": len(page.data),
        "cut": page.cut,
    }
    return ToolResult(output, f"{page.url} ({page.content_type or 'unknown type'})", metadata)


def size(count: int) -> str:
    """`5 MB`, `64 KB` or `1500 bytes`."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if count >= scale and count % scale == 0:
            return f"{count // scale} {unit}"
    return f"{count} bytes"


def _decode(data: bytes, charset: str | None) -> str:
    return data.decode(charset or "utf-8", errors="replace").removeprefix("\ufeff")


def _soup(data: bytes, charset: str | None) -> BeautifulSoup:
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(data, "html.parser", from_encoding=charset)
    for tag in soup(DROPPED_TAGS):
        tag.decompose()
    return soup


def html_to_markdown(data: bytes, charset: str | None = None, base_url: str | None = None) -> str:
    """HTML as markdown: ATX headings, `-` bullets, fenced code; scripts, styles and frames dropped.
    Links and images are made absolute against `base_url`, so the model can fetch them as they are."""
    from markdownify import MarkdownConverter

    soup = _soup(data, charset)
    if base_url:
        for tag, attribute in (("a", "href"), ("img", "src")):
            for element in soup.find_all(tag, attrs={attribute: True}):
                value = element.get(attribute)
                if isinstance(value, str) and not value.startswith(("#", "data:", "javascript:", "mailto:")):
                    element[attribute] = urljoin(base_url, value)
    converter = MarkdownConverter(
        heading_style="ATX", bullets="-", escape_asterisks=False, escape_underscores=False, code_language=""
    )
    text = converter.convert_soup(soup)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines()))


def html_to_text(data: bytes, charset: str | None = None) -> str:
    """HTML as plain text: one line per block, runs of spaces collapsed, at most one blank line in a row."""
    soup = _soup(data, charset)
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(BLOCK_TAGS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
