"""AWS Signature Version 4 for one HTTP request, with hashlib and hmac only (no botocore).

    headers = sign("POST", url, {"content-type": "application/json"}, body,
                   access_key=..., secret_key=..., session_token=None, region="us-east-1", service="bedrock")

The canonical request follows botocore's `SigV4Auth`: the path is taken as it appears in the URL
(already percent-encoded) and encoded once more, so a Bedrock model id `a.b:0`, sent as `a.b%3A0`,
is signed as `a.b%253A0`; that double encoding is what AWS expects for every service but S3
(`double_encode=False`). The query is re-encoded per RFC 3986 and sorted; header values are
trimmed and their inner runs of spaces folded. The scripted test server verifies signatures with
`signature_for`, the same code path.

Left out: presigned URLs, chunked (streaming) payload signing, SigV4a, and S3's path rules.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_HEADERS = frozenset({"authorization", "user-agent", "expect", "x-amzn-trace-id", "content-length"})
"""Headers a proxy or the HTTP client may add or rewrite (botocore leaves the first four out too)."""


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    access_key: str,
    secret_key: str,
    session_token: str | None,
    region: str,
    service: str,
    now: datetime | None = None,
    content_sha256_header: bool = False,
    double_encode: bool = True,
) -> dict[str, str]:
    """Return `headers` (lower-cased) plus host, x-amz-date, x-amz-security-token and authorization.

    Every header passed in is signed except `UNSIGNED_HEADERS`; add unsigned ones afterwards.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    parts = urlsplit(url)
    out = {name.lower(): value for name, value in headers.items()}
    out.setdefault("host", host_header(url))
    out["x-amz-date"] = amz_date
    if session_token:
        out["x-amz-security-token"] = session_token
    payload_hash = hashlib.sha256(body).hexdigest()
    if content_sha256_header:
        out["x-amz-content-sha256"] = payload_hash
    signed = sorted(name for name in out if name not in UNSIGNED_HEADERS)
    scope = CredentialScope(amz_date[:8], region, service)
    signature = signature_for(
        method,
        parts.path,
        parts.query,
        {name: out[name] for name in signed},
        payload_hash,
        amz_date=amz_date,
        secret_key=secret_key,
        scope=scope,
        double_encode=double_encode,
    )
    out["authorization"] = (
        f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return out


@dataclass(frozen=True, slots=True)
class CredentialScope:
    date: str
    """YYYYMMDD, the day of x-amz-date."""
    region: str
    service: str

    def __str__(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def signature_for(
    method: str,
    path: str,
    query: str,
    signed_headers: dict[str, str],
    payload_hash: str,
    *,
    amz_date: str,
    secret_key: str,
    scope: CredentialScope,
    double_encode: bool = True,
) -> str:
    """The hex signature over exactly `signed_headers` (lower-case names)."""
    request = canonical_request(method, path, query, signed_headers, payload_hash, double_encode=double_encode)
    to_sign = "\n".join([ALGORITHM, amz_date, str(scope), hashlib.sha256(request.encode()).hexdigest()])
    key = signing_key(secret_key, scope)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def canonical_request(
    method: str,
    path: str,
    query: str,
    signed_headers: dict[str, str],
    payload_hash: str,
    *,
    double_encode: bool = True,
) -> str:
    names = sorted(name.lower() for name in signed_headers)
    values = {name.lower(): value for name, value in signed_headers.items()}
    header_lines = "".join(f"{name}:{_fold(values[name])}\n" for name in names)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path, double_encode=double_encode),
            canonical_query(query),
            header_lines,
            ";".join(names),
            payload_hash,
        ]
    )


def canonical_uri(path: str, *, double_encode: bool = True) -> str:
    """`path` as it appears in the URL; encoded again for every service but S3."""
    if not path:
        return "/"
    return quote(path, safe="/~") if double_encode else path


def canonical_query(query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for item in query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def signing_key(secret_key: str, scope: CredentialScope) -> bytes:
    key = ("AWS4" + secret_key).encode()
    for part in (scope.date, scope.region, scope.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def host_header(url: str) -> str:
    """The Host header an HTTP client sends for `url` (the port only when it is not the default)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if parts.port is not None and parts.port != default:
        host += f":{parts.port}"
    return host


@dataclass(frozen=True, slots=True)
class Authorization:
    """A parsed `Authorization: AWS4-HMAC-SHA256 ...` header (the verifying side uses it)."""

    access_key: str
    scope: CredentialScope
    signed_headers: list[str]
    signature: str


_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)"
    r"/aws4_request\s*,\s*SignedHeaders=(?P<headers>[^,\s]+)\s*,\s*Signature=(?P<sig>[0-9a-f]{64})\s*$"
)


def parse_authorization(value: str) -> Authorization | None:
    match = _AUTH.match(value.strip())
    if match is None:
        return None
    scope = CredentialScope(match["date"], match["region"], match["service"])
    return Authorization(match["key"], scope, match["headers"].split(";"), match["sig"])


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def _fold(value: str) -> str:
    return " ".join(value.strip().split())
