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


def make_client(*, connect_timeout: float = 15.0, read_timeout: float = 300.0) -> httpx.AsyncClient:
    import httpx

    # Loopback always goes direct, whatever the proxy variables say: local model servers and
    # the test suite's scripted server must not be sent through a company proxy.
    mounts: dict[str, httpx.AsyncBaseTransport | None] = dict.fromkeys(LOOPBACK)
    return httpx.AsyncClient(
        verify=ssl_context(),
        trust_env=True,
        mounts=mounts,
        timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=60.0, pool=60.0),
        follow_redirects=True,
        headers={"user-agent": f"opencode-python/{_version()}"},
    )


def _version() -> str:
    from opencode import __version__

    return __version__
