"""The one factory for outgoing HTTP clients (providers now; MCP and web tools later).

Companies' networks: `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY` from the
environment (loopback is always reached directly), `SSL_CERT_FILE` / `SSL_CERT_DIR` when set,
otherwise the operating system's trust store through `truststore`.
"""

from __future__ import annotations

import functools
import os
import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

LOOPBACK = ("all://127.0.0.1", "all://localhost", "all://[::1]")


def ssl_context() -> ssl.SSLContext:
    """The TLS context for outgoing connections; built once per trust setting (loading roots costs ~20 ms)."""
    return _context(os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)


@functools.lru_cache(maxsize=4)
def _context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile or capath:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    try:
        import truststore

        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    except Exception:  # truststore unavailable on this platform: fall back to certifi's bundle
        return ssl.create_default_context()


def make_client(
    *, connect_timeout: float = 15.0, read_timeout: float = 300.0, base_url: str | None = None
) -> httpx.AsyncClient:
    """The client for every outgoing connection. With `base_url` a plain-http loopback address (a
    local model server, the test suite's scripted server), the client talks to that server only:
    no TLS trust store is loaded (tens of milliseconds with SSL_CERT_FILE) and no redirect is
    followed, so nothing can lead it to an https address it would not verify."""
    import httpx

    # Loopback always goes direct, whatever the proxy variables say: local model servers and
    # the test suite's scripted server must not be sent through a company proxy.
    mounts: dict[str, httpx.AsyncBaseTransport | None] = dict.fromkeys(LOOPBACK)
    local = base_url is not None and is_loopback_http(base_url)
    return httpx.AsyncClient(
        verify=False if local else ssl_context(),
        trust_env=True,
        mounts=mounts,
        timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=60.0, pool=60.0),
        follow_redirects=not local,
        headers={"user-agent": f"opencode-python/{_version()}"},
    )


def is_loopback_http(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")


def _version() -> str:
    from opencode import __version__

    return __version__
