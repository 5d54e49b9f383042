"""The HMAC-SHA256 signature over timestamp and body, and how a receiver verifies it."""

from __future__ import annotations

import hashlib
import hmac

from shared.notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature, signed_headers, verify

SECRET = "s3cret-for-tests"
BODY = b'{"event":"new-finding"}'


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1780000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1780000000, BODY) == f"sha256={expected}"
    headers = signed_headers(SECRET, BODY, now=1780000000.7)
    assert headers == {TIMESTAMP_HEADER: "1780000000", SIGNATURE_HEADER: f"sha256={expected}"}


def test_verify_accepts_the_signature_and_refuses_tampering_and_replays() -> None:
    headers = signed_headers(SECRET, BODY, now=1780000000)
    assert verify(SECRET, headers, BODY, now=1780000100)
    assert verify(SECRET, {k.lower(): v for k, v in headers.items()}, BODY, now=1780000000)
    assert not verify(SECRET, headers, BODY + b" ", now=1780000000)
    assert not verify("another secret", headers, BODY, now=1780000000)
    assert not verify(SECRET, headers, BODY, now=1780000000 + 301)
    assert not verify(SECRET, {**headers, TIMESTAMP_HEADER: "1780000001"}, BODY, now=1780000000)
    assert not verify(SECRET, {SIGNATURE_HEADER: headers[SIGNATURE_HEADER]}, BODY, now=1780000000)
    assert not verify(SECRET, {**headers, SIGNATURE_HEADER: "sha256=é"}, BODY, now=1780000000)
