"""Encoding of Table storage keys and large properties.

PartitionKey and RowKey may not contain ``/ \\ # ?`` or control characters and are at most 1 KiB;
repository names contain ``/``. Keys are percent-encoded (UTF-8, nothing kept but unreserved
characters), which is reversible and keeps the order of ASCII names.
"""

from __future__ import annotations

import json
import zlib
from typing import Any, AnyStr
from urllib.parse import quote, unquote

from shared.errors import InvalidInput

MAX_KEY_CHARS = 512
"""Table storage keys hold at most 1 KiB of UTF-16: 512 characters (encoded keys are ASCII)."""
MAX_PROPERTY_CHARS = 32 * 1024
"""Strings are stored as UTF-16 in Table storage (64 KiB per property): 32 Ki characters always fit."""
MAX_CHUNKS = 24
"""Up to 24 chunks of 32 Ki characters (1.5 MiB of UTF-16 at worst, under the 1 MiB entity limit for ASCII JSON)."""


def encode_key(value: str) -> str:
    """The Table-safe form of ``value`` (percent-encoded ASCII); :class:`InvalidInput` when it would be
    longer than :data:`MAX_KEY_CHARS`."""
    encoded = quote(value, safe="")
    if len(encoded) > MAX_KEY_CHARS:
        raise InvalidInput(f"name is too long to be stored ({len(value)} characters)")
    return encoded


def decode_key(value: str) -> str:
    """The inverse of :func:`encode_key`."""
    return unquote(value)


def put_json(entity: dict[str, Any], name: str, value: Any) -> None:
    """Store ``value`` as JSON in ``entity`` under ``name``, split over ``name_0``, ``name_1`` … when large.

    Raises :class:`InvalidInput` when the JSON does not fit in :data:`MAX_CHUNKS` chunks.
    """
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    if not _put_chunks(entity, f"{name}_", text, MAX_PROPERTY_CHARS, MAX_CHUNKS):
        raise InvalidInput(f"{name} is too large to store ({len(text)} characters of JSON)")


def get_json(entity: dict[str, Any], name: str, default: Any = None) -> Any:
    """Read back a value stored by :func:`put_json`; ``default`` when absent."""
    count = _chunk_count(entity, f"{name}_")
    if count is None:
        return default
    return json.loads("".join(str(entity.get(f"{name}_{i}", "")) for i in range(count)))


MAX_BINARY_CHUNK = 60 * 1024
"""Binary properties hold at most 64 KiB."""
MAX_BINARY_CHUNKS = 15
"""15 chunks of 60 KiB stay under the 1 MiB entity limit."""


class ValueTooLarge(InvalidInput):
    """A value is too large for one Table entity, even compressed."""

    code = "value-too-large"


def put_compressed_json(entity: dict[str, Any], name: str, value: Any) -> None:
    """Store ``value`` as zlib-compressed JSON in binary properties ``name_z0``, ``name_z1`` …

    Raises :class:`ValueTooLarge` when the compressed text needs more than :data:`MAX_BINARY_CHUNKS` chunks.
    """
    data = zlib.compress(json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8"), 6)
    if not _put_chunks(entity, f"{name}_z", data, MAX_BINARY_CHUNK, MAX_BINARY_CHUNKS):
        raise ValueTooLarge(f"{name} is too large to store ({len(data)} bytes compressed)")


def get_compressed_json(entity: dict[str, Any], name: str, default: Any = None) -> Any:
    """Read back a value stored by :func:`put_compressed_json`; ``default`` when absent or unreadable."""
    count = _chunk_count(entity, f"{name}_z")
    if count is None:
        return default
    try:
        data = b"".join(bytes(entity[f"{name}_z{i}"]) for i in range(count))
        return json.loads(zlib.decompress(data))
    except (KeyError, TypeError, ValueError, zlib.error):
        return default


def _put_chunks(entity: dict[str, Any], prefix: str, data: AnyStr, size: int, most: int) -> bool:
    """Store ``data`` in ``entity`` cut into chunks of ``size`` items: ``<prefix>0``, ``<prefix>1`` …

    The number of chunks goes in ``<prefix>chunks``; empty data is one empty chunk. Answers
    ``False``, storing nothing, when ``data`` needs more than ``most`` chunks.
    """
    chunks = [data[i : i + size] for i in range(0, len(data), size)] or [data]
    if len(chunks) > most:
        return False
    entity[f"{prefix}chunks"] = len(chunks)
    for index, chunk in enumerate(chunks):
        entity[f"{prefix}{index}"] = chunk
    return True


def _chunk_count(entity: dict[str, Any], prefix: str) -> int | None:
    """The number of chunks :func:`_put_chunks` stored under ``prefix``; ``None`` when there are none."""
    count = entity.get(f"{prefix}chunks")
    return count if isinstance(count, int) else None
