"""The outgoing HTTP client: proxies from the environment, loopback always direct, trust roots."""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from collections.abc import Iterator

import certifi
import pytest

from opencode.provider.http import is_loopback_http, make_client, ssl_context
from opencode.testing.model_server import ScriptedModelServer


class RecordingProxy:
    """A minimal forward proxy on loopback: records each request line and answers 200."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.lines.append(data.split(b"\r\n", 1)[0].decode())
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\nproxied")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    server = RecordingProxy()
    yield server
    server.close()


async def test_requests_go_through_the_proxy_from_the_environment(
    proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    async with make_client() as client:
        response = await client.get("http://models.example.test/v1/models")
    assert response.text == "proxied"
    assert proxy.lines == ["GET http://models.example.test/v1/models HTTP/1.1"]


async def test_no_proxy_is_honoured(proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", "internal.example.test")
    async with make_client() as client:
        with pytest.raises(Exception):  # noqa: B017 - resolution of the fake host fails: what matters is no proxy
            await client.get("http://internal.example.test/x", timeout=2)
    assert proxy.lines == []


async def test_loopback_is_always_direct(
    proxy: RecordingProxy, model_server: ScriptedModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    model_server.local_models.ids.append("direct-model")
    async with make_client() as client:
        response = await client.get(model_server.url + "/v1/models")
    assert response.json()["data"][0]["id"] == "direct-model"
    assert proxy.lines == []


def test_ssl_cert_file_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    context = ssl_context()
    assert type(context) is ssl.SSLContext
    assert context.cert_store_stats()["x509_ca"] > 10
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_os_trust_store_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    import truststore

    assert isinstance(ssl_context(), truststore.SSLContext)


class _Redirect(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("location", "https://models.example.test/elsewhere")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirecting() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_a_local_http_client_never_leaves_for_https(redirecting: str) -> None:
    # No trust store is loaded for a plain-http loopback server, so such a client must not
    # follow it anywhere: the redirect comes back as it is.
    async with make_client(base_url=redirecting) as client:
        response = await client.get(redirecting + "/v1/models")
    assert response.status_code == 302
    assert response.headers["location"] == "https://models.example.test/elsewhere"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:11434/v1", True),
        ("http://localhost:1234", True),
        ("https://127.0.0.1:8443", False),
        ("http://192.168.1.5:11434", False),
        ("https://api.openai.com/v1", False),
    ],
)
def test_only_plain_http_loopback_counts_as_local(url: str, local: bool) -> None:
    assert is_loopback_http(url) is local
