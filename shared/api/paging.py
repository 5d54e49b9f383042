"""Paging of the listing API: how many results a call returns, and continuation tokens.

A listing answers at most ``limit`` results (default :data:`DEFAULT_LIMIT`, at most :data:`MAX_LIMIT`)
and a ``continuation`` token when more follow. The token is ``<payload>.<tag>``: the payload is
base64url JSON holding the store's cursor, the tag an HMAC-SHA256 (first 16 bytes) over the
listing's scope (which endpoint, and the query parameters that shape its order and filter) and the
payload, under a key derived from ``LOOKOUT_ENCRYPTION_KEY``. A token that was altered, cut, made by
another installation or handed out for another listing or query is refused with
:class:`~shared.errors.InvalidContinuation` (HTTP 400). Tokens do not expire; rotating the key voids them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence

from shared.errors import InvalidContinuation, InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_TOKEN_CHARS = 3000
"""Cursors hold at most two Table keys of 1 KiB; longer text is no token of ours (URLs stay under 4 KB)."""

_TAG_BYTES = 16


def parse_limit(value: object) -> int:
    """The ``limit`` query parameter: :data:`DEFAULT_LIMIT` when absent, else an integer from 1 to :data:`MAX_LIMIT`."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not isinstance(value, str) or not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidInput(f"'limit' must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Continuations:
    """Seals store cursors into continuation tokens for one listing scope, and opens them again."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"lookout continuation tokens\x00" + secret.encode("utf-8")).digest()

    def __repr__(self) -> str:
        return "Continuations(<key hidden>)"

    def _tag(self, scope: Sequence[str], payload: str) -> bytes:
        message = json.dumps([list(scope), payload], separators=(",", ":")).encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_TAG_BYTES]

    def seal(self, cursor: str | None, scope: Sequence[str]) -> str | None:
        """The token continuing the listing ``scope`` at ``cursor``; None when there is no cursor (the end)."""
        if cursor is None:
            return None
        payload = _b64(json.dumps({"v": 1, "c": cursor}, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{_b64(self._tag(scope, payload))}"

    def open(self, token: object, scope: Sequence[str]) -> str | None:
        """The cursor sealed in ``token`` for ``scope``; None for no token (the first page).

        Raises :class:`InvalidContinuation` for anything this installation did not seal for ``scope``.
        """
        if token is None or token == "":
            return None
        refused = InvalidContinuation("'continuation' is not a token this listing handed out; start again without it")
        if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
            raise refused
        payload, tag = token.split(".")
        try:
            given = _unb64(tag)
        except (binascii.Error, ValueError):
            raise refused from None
        if not hmac.compare_digest(given, self._tag(scope, payload)):
            raise refused
        try:
            value = json.loads(_unb64(payload))
        except (binascii.Error, ValueError):
            raise refused from None
        if not isinstance(value, dict) or value.get("v") != 1 or not isinstance(value.get("c"), str):
            raise refused
        return str(value["c"])
