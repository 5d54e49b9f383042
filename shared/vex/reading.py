"""Reading a JSON document field by field, each failure naming the JSON path of the field at fault."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from shared.vex.errors import InvalidVex
from shared.vulns.parse import format_time, json_kind, parse_time

MAX_STRING_CHARS = 16 * 1024
"""The longest string value read (a purl, an impact statement...)."""
MAX_LIST_ITEMS = 10_000
"""The most items a list may hold (statements, products, components...)."""


def child(path: str, key: str | int) -> str:
    """The path of ``key`` under ``path``: ``statements[3]``, ``statements[3].status`` (``$`` is the root)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return key if path == "$" else f"{path}.{key}"


def obj(value: Any, path: str) -> Mapping[str, Any]:
    """``value`` when it is a JSON object."""
    if not isinstance(value, Mapping):
        raise InvalidVex(path, f"expected an object, found {json_kind(value)}")
    return value


def items(value: Any, path: str, *, required: bool = True) -> Iterator[tuple[str, Any]]:
    """Each item of a JSON array with its path; a missing (None) array is empty unless ``required``;
    a required array must not be empty."""
    if value is None and not required:
        return
    if not isinstance(value, list):
        raise InvalidVex(path, "missing" if value is None else f"expected an array, found {json_kind(value)}")
    if required and not value:
        raise InvalidVex(path, "must not be empty")
    if len(value) > MAX_LIST_ITEMS:
        raise InvalidVex(path, f"too many items ({len(value)}; at most {MAX_LIST_ITEMS})")
    for index, item in enumerate(value):
        yield child(path, index), item


def text(parent: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str:
    """The string at ``parent[key]`` ("" when absent and not ``required``)."""
    where = child(path, key)
    value = parent.get(key)
    if value is None:
        if required:
            raise InvalidVex(where, "missing")
        return ""
    if not isinstance(value, str):
        raise InvalidVex(where, f"expected a string, found {json_kind(value)}")
    if required and not value.strip():
        raise InvalidVex(where, "must not be empty")
    if len(value) > MAX_STRING_CHARS:
        raise InvalidVex(where, f"too long ({len(value)} characters; at most {MAX_STRING_CHARS})")
    return value.strip()


def choice(parent: Mapping[str, Any], key: str, path: str, allowed: Collection[str], *, required: bool = False) -> str:
    """The string at ``parent[key]``, which must be one of ``allowed`` ("" when absent and not ``required``)."""
    value = text(parent, key, path, required=required)
    if value and value not in allowed:
        raise InvalidVex(child(path, key), f"{value!r} is not one of {', '.join(allowed)}")
    return value


def timestamp(parent: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str:
    """The RFC 3339 timestamp at ``parent[key]``, as canonical UTC (``2023-01-08T18:02:03Z``; "" when absent)."""
    value = text(parent, key, path, required=required)
    if not value:
        return ""
    try:
        return format_time(parse_time(value))
    except ValueError:
        raise InvalidVex(child(path, key), f"{value[:80]!r} is not an RFC 3339 timestamp") from None
