"""The browser UI (`opencode web`): `GET /` serves the page, `GET /assets/{name}` its scripts and styles.

The files live in `opencode/server/web/` and ship in the wheel (plain ES modules, no build step);
they call the same HTTP API as any other client. This module comes last in `ROUTE_MODULES`, so an
API path always wins. These routes are the UI, not opencode's API: they are not in `GET /doc`.

Every response carries a strict Content-Security-Policy (scripts, styles and connections from this
origin only, no inline script, no framing), so even a rendering bug cannot run a model's text as
code. The page and its assets are revalidated on each load (`no-cache` with an ETag: a 304 on
loopback costs nothing), so an upgraded package never serves a stale script.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.requests import Request

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@cache
def asset(name: str) -> tuple[bytes, str] | None:
    """The bytes of one shipped file and its ETag; None for a name that is not one of them."""
    if "/" in name or "\\" in name or name.startswith(".") or not any(name.endswith(ext) for ext in TYPES):
        return None
    item = resources.files("opencode.server").joinpath("web", name)
    if not item.is_file():
        return None
    data = item.read_bytes()
    return data, '"' + hashlib.sha256(data).hexdigest()[:20] + '"'


def _serve(request: Request, name: str) -> Response:
    found = asset(name)
    if found is None:
        error = {"name": "NotFoundError", "data": {"message": f"no such asset: {name[:80]}"}}
        return JSONResponse(error, status_code=404)
    data, etag = found
    headers = {
        "etag": etag,
        "cache-control": "no-cache",
        "content-security-policy": POLICY,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    content_type = TYPES[name[name.rfind(".") :]]
    return Response(data, headers=headers, media_type=content_type)


async def index(request: Request) -> Response:
    """The web UI's page."""
    return _serve(request, "index.html")


async def static(request: Request) -> Response:
    """One of the page's scripts or styles."""
    return _serve(request, request.path_params["name"])


routes = [
    Route("/", index, methods=["GET", "HEAD"]),
    Route("/assets/{name}", static, methods=["GET", "HEAD"]),
]
