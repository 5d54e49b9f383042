"""The HMAC-SHA256 signature of a notification, and its verification (what a receiver does).

The sender sets ``X-Lookout-Timestamp`` (Unix seconds) and ``X-Lookout-Signature: sha256=<hex>``, the
HMAC-SHA256 under the endpoint's signing secret of ``<timestamp>.`` followed by the exact body bytes.
A receiver recomputes it, compares in constant time, and refuses timestamps too far from its clock
(:data:`TOLERANCE`), so that a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Lookout-Signature"
TIMESTAMP_HEADER = "X-Lookout-Timestamp"
TOLERANCE = 300
"""Seconds a receiver should accept between the timestamp and its own clock."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: the HMAC-SHA256 under ``secret`` of ``b"<timestamp>." + body``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The timestamp and signature headers for ``body`` sent now."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str, headers: dict[str, str], body: bytes, now: float | None = None,
           tolerance: int = TOLERANCE) -> bool:
    """Whether ``headers`` (names case-insensitive) sign ``body`` under ``secret`` at a time within ``tolerance``
    seconds of ``now``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered.get(TIMESTAMP_HEADER.lower(), ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    return hmac.compare_digest(given.encode("ascii", "replace"), signature(secret, timestamp, body).encode("ascii"))
