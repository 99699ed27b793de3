"""Secure by default: loopback bind, password off loopback, Host and Origin checks, body cap, clean errors."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from opencode.server.options import ServerOptions, ServerOptionsError
from tests.server.conftest import Live


def test_health_on_loopback_needs_no_password(live: Live) -> None:
    reply = live.http.get("/global/health")
    assert reply.status_code == 200
    assert reply.json()["healthy"] is True


def test_a_foreign_host_header_is_refused(live: Live) -> None:
    reply = live.http.get("/global/health", headers={"Host": "attacker.example:4096"})
    assert reply.status_code == 403
    assert "DNS rebinding" in reply.json()["data"]["message"]
    assert live.http.get("/global/health", headers={"Host": f"localhost:{live.thread.port}"}).status_code == 200


def test_a_page_from_another_origin_cannot_call_the_server(live: Live) -> None:
    # Not only unreadable: the request is refused before any route runs (a POST would start a prompt).
    reply = live.http.post(
        "/log", headers={"Origin": "https://evil.example"}, json={"service": "x", "level": "info", "message": "m"}
    )
    assert reply.status_code == 403
    assert "access-control-allow-origin" not in reply.headers
    preflight = live.http.options(
        "/session", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers


def test_the_servers_own_origin_and_cors_origins_are_allowed(start_server: Callable[..., Live]) -> None:
    live = start_server(cors=["https://app.example"])
    own = f"http://127.0.0.1:{live.thread.port}"
    reply = live.http.get("/global/health", headers={"Origin": own})
    assert reply.status_code == 200
    assert reply.headers["access-control-allow-origin"] == own
    preflight = live.http.options(
        "/log", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert preflight.headers["access-control-allow-origin"] != "*"


def test_binding_beyond_loopback_needs_a_password() -> None:
    with pytest.raises(ServerOptionsError, match="OPENCODE_SERVER_PASSWORD"):
        ServerOptions.build(hostname="0.0.0.0", environ={})
    with pytest.raises(ServerOptionsError, match="no wildcard"):
        ServerOptions.build(cors=["*"])
    assert ServerOptions.build(hostname="0.0.0.0", environ={"OPENCODE_SERVER_PASSWORD": "s3cret"}).password == "s3cret"


def test_serve_refuses_to_start_on_all_interfaces_without_a_password(tmp_path: object) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENCODE_SERVER_PASSWORD"}
    done = subprocess.run(
        [sys.executable, "-m", "opencode", "serve", "--hostname", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "OPENCODE_SERVER_PASSWORD" in done.stderr
    assert "Traceback" not in done.stderr


def test_off_loopback_every_request_needs_the_password(start_server: Callable[..., Live]) -> None:
    live = start_server(hostname="0.0.0.0", environ={"OPENCODE_SERVER_PASSWORD": "s3cret"})
    url = f"http://127.0.0.1:{live.thread.port}"
    assert httpx.get(url + "/global/health").status_code == 401
    assert httpx.get(url + "/global/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(url + "/global/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    basic = base64.b64encode(b"opencode:s3cret").decode()
    assert httpx.get(url + "/global/health", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert httpx.get(url + "/global/health", auth=("someone", "s3cret")).status_code == 401
    assert httpx.get(url + "/global/health?auth_token=s3cret").status_code == 200


def test_bodies_over_the_cap_get_413(start_server: Callable[..., Live]) -> None:
    live = start_server(max_body=1024)
    big = {"service": "x", "level": "info", "message": "y" * 4096}
    reply = live.http.post("/log", json=big)
    assert reply.status_code == 413
    streamed = live.http.post("/log", content=iter([b'{"service": "x", "message": "', b"y" * 4096, b'"}']))
    assert streamed.status_code == 413


def test_malformed_json_gets_400_naming_the_problem(live: Live) -> None:
    reply = live.http.post("/log", content=b"{not json")
    assert reply.status_code == 400
    assert "not valid JSON" in reply.json()["data"]["message"]
    reply = live.http.post("/log", json={"service": "x", "level": "loud", "message": "m"})
    assert reply.status_code == 400
    assert reply.json()["data"]["field"] == "level"
    assert live.http.get("/no/such/route").status_code == 404


def test_doc_is_an_openapi_document_of_the_routes(live: Live) -> None:
    doc = live.http.get("/doc").json()
    assert doc["openapi"].startswith("3.1")
    assert doc["paths"]["/log"]["post"]["operationId"] == "app.log"
    assert doc["paths"]["/global/health"]["get"]["operationId"] == "global.health"
    body = doc["paths"]["/log"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]["properties"]["level"]["enum"]


def test_the_web_ui_on_a_lan_address_may_call_its_own_server(start_server: Callable[..., Live]) -> None:
    # Bound to every interface with a password: the page comes from http://<lan address>:<port>.
    live = start_server(hostname="0.0.0.0", environ={"OPENCODE_SERVER_PASSWORD": "s3cret"})
    url = f"http://127.0.0.1:{live.thread.port}"
    own = {"Host": f"192.168.1.5:{live.thread.port}", "Origin": f"http://192.168.1.5:{live.thread.port}"}
    body = {"service": "web", "level": "info", "message": "hello"}
    assert httpx.post(url + "/log", headers=own, json=body, auth=("opencode", "s3cret")).status_code == 200
    foreign = {**own, "Origin": "http://evil.example"}
    assert httpx.post(url + "/log", headers=foreign, json=body, auth=("opencode", "s3cret")).status_code == 403
