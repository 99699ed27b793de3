"""SigV4 against vectors from AWS's Signature Version 4 test suite (as shipped in aws-c-auth and the
AWS SDKs' test fixtures): credentials AKIDEXAMPLE, region us-east-1, service "service",
time 2015-08-30T12:36:00Z."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from opencode.provider.adapters import sigv4


def suite_sign(
    method: str, url: str, headers: dict[str, str], body: bytes = b"", token: str | None = None, **kw: bool
) -> dict[str, str]:
    return sigv4.sign(
        method,
        url,
        headers,
        body,
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session_token=token,
        region="us-east-1",
        service="service",
        now=datetime(2015, 8, 30, 12, 36, 0, tzinfo=UTC),
        **kw,
    )


SCOPE = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
STS_TOKEN = (
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7"
    "mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY"
    "9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
)


@pytest.mark.parametrize(
    ("name", "method", "url", "headers", "token", "signed", "signature"),
    [
        ("get-vanilla", "GET", "https://example.amazonaws.com/", {}, None, "host;x-amz-date",
         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("post-vanilla", "POST", "https://example.amazonaws.com/", {}, None, "host;x-amz-date",
         "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        ("get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", {},
         None, "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        ("get-utf8", "GET", "https://example.amazonaws.com/\u1234", {}, None, "host;x-amz-date",
         "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        ("post-header-value-case", "POST", "https://example.amazonaws.com/", {"My-Header1": "VALUE1"}, None,
         "host;my-header1;x-amz-date", "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
        ("get-header-value-trim", "GET", "https://example.amazonaws.com/",
         {"My-Header1": " value1", "My-Header2": '"a   b   c"'}, None, "host;my-header1;my-header2;x-amz-date",
         "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        ("post-sts-header-before", "POST", "https://example.amazonaws.com/", {}, STS_TOKEN,
         "host;x-amz-date;x-amz-security-token", "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
    ],
)  # fmt: skip
def test_aws_test_suite_vectors(
    name: str, method: str, url: str, headers: dict[str, str], token: str | None, signed: str, signature: str
) -> None:
    out = suite_sign(method, url, headers, token=token)
    assert out["authorization"] == f"{SCOPE}, SignedHeaders={signed}, Signature={signature}", name
    assert out["x-amz-date"] == "20150830T123600Z"
    assert out["host"] == "example.amazonaws.com"


def test_get_vanilla_canonical_request_and_string_to_sign() -> None:
    request = sigv4.canonical_request(
        "GET", "/", "", {"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"}, sigv4.EMPTY_SHA256
    )
    assert request == (
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    # The suite's string to sign hashes exactly that canonical request.
    assert hashlib.sha256(request.encode()).hexdigest() == (
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    )


def test_bedrock_model_id_is_encoded_twice_in_the_canonical_uri() -> None:
    # On the wire the model id's ':' is %3A; like botocore, the canonical URI encodes the wire path
    # once more for every service but S3.
    assert sigv4.canonical_uri("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse") == (
        "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse"
    )
    assert sigv4.canonical_uri("/a%3Ab", double_encode=False) == "/a%3Ab"
    assert sigv4.canonical_uri("") == "/"


def test_unsigned_headers_and_payload_hash() -> None:
    body = b'{"messages":[]}'
    out = suite_sign(
        "POST",
        "http://127.0.0.1:8123/model/x/converse",
        {"Content-Type": "application/json", "User-Agent": "opencode"},
        body,
        content_sha256_header=True,
    )
    assert out["host"] == "127.0.0.1:8123"  # a non-default port is part of Host
    assert out["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
    assert "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date," in out["authorization"]
    assert out["user-agent"] == "opencode"  # sent, but not signed: proxies rewrite it


def test_parse_authorization_round_trip() -> None:
    out = suite_sign("GET", "https://example.amazonaws.com/", {})
    parsed = sigv4.parse_authorization(out["authorization"])
    assert parsed is not None
    assert parsed.access_key == "AKIDEXAMPLE"
    assert str(parsed.scope) == "20150830/us-east-1/service/aws4_request"
    assert parsed.signed_headers == ["host", "x-amz-date"]
    assert parsed.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    assert sigv4.parse_authorization("Bearer abc") is None


def test_host_header_drops_default_ports() -> None:
    assert sigv4.host_header("https://bedrock-runtime.us-east-1.amazonaws.com:443/model") == (
        "bedrock-runtime.us-east-1.amazonaws.com"
    )
    assert sigv4.host_header("http://[::1]:9000/") == "[::1]:9000"
