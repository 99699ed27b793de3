"""How the server listens and whom it lets in: address, password, allowed origins and hosts, body cap.

    options = ServerOptions.build(hostname="0.0.0.0", port=4096, cors=["https://app.example"],
                                  environ=os.environ)      # ServerOptionsError without a password

Secure by default: a loopback address needs no password; any other address refuses to start
without `OPENCODE_SERVER_PASSWORD`. With a password set, every request must carry it (HTTP basic
auth as `OPENCODE_SERVER_USERNAME`, default "opencode", or `Authorization: Bearer <password>`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

DEFAULT_PORT = 4096
DEFAULT_HOSTNAME = "127.0.0.1"
DEFAULT_USERNAME = "opencode"
MAX_BODY = 32 * 1024 * 1024
"""Bytes a request body may have (a prompt with attached images is the biggest honest one)."""

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class ServerOptionsError(Exception):
    """The server cannot start as asked; the message says what to change."""


def is_loopback(hostname: str) -> bool:
    if hostname.strip("[]").lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(hostname.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerOptions:
    hostname: str = DEFAULT_HOSTNAME
    port: int = DEFAULT_PORT
    password: str | None = None
    username: str = DEFAULT_USERNAME
    cors: tuple[str, ...] = ()
    """Origins besides the server's own that a browser page may call it from (`--cors`)."""
    max_body: int = MAX_BODY
    allowed_hosts: tuple[str, ...] = field(default=())
    """Host header values (without port) accepted besides the bound address and loopback names."""

    @classmethod
    def build(
        cls,
        *,
        hostname: str = DEFAULT_HOSTNAME,
        port: int = DEFAULT_PORT,
        cors: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
        max_body: int = MAX_BODY,
    ) -> ServerOptions:
        environ = environ if environ is not None else {}
        password = environ.get("OPENCODE_SERVER_PASSWORD") or None
        username = environ.get("OPENCODE_SERVER_USERNAME") or DEFAULT_USERNAME
        if not 0 <= port <= 65535:
            raise ServerOptionsError(f"--port {port}: a port is 0-65535 (0 picks a free one)")
        if not is_loopback(hostname) and password is None:
            raise ServerOptionsError(
                f"--hostname {hostname}: listening beyond this machine needs a password; set "
                "OPENCODE_SERVER_PASSWORD (clients then send it as HTTP basic auth or a bearer token), "
                "or bind 127.0.0.1"
            )
        origins: list[str] = []
        for origin in cors:
            origin = origin.rstrip("/")
            if origin == "*" or "://" not in origin:
                raise ServerOptionsError(
                    f"--cors {origin}: give a full origin such as https://app.example.com (no wildcard: "
                    "any page could then drive your agent)"
                )
            origins.append(origin)
        return cls(
            hostname=hostname, port=port, password=password, username=username, cors=tuple(origins), max_body=max_body
        )

    @property
    def loopback(self) -> bool:
        return is_loopback(self.hostname)

    def url(self, port: int | None = None) -> str:
        host = self.hostname
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{port if port is not None else self.port}"

    def host_names(self) -> set[str]:
        """Host header names accepted (DNS rebinding guard): loopback names, the bound name, extras."""
        names = {*LOOPBACK_NAMES, "[::1]", self.hostname.lower(), *(h.lower() for h in self.allowed_hosts)}
        return names

    def any_host(self) -> bool:
        """Bound to every interface: the Host header can be any of the machine's names (auth guards it)."""
        return self.hostname in ("0.0.0.0", "::")
