"""Large JSON values in Table entities: the property layout, the size limits, and reading back."""

from __future__ import annotations

import json
import random
import zlib
from typing import Any

import pytest

from shared.errors import InvalidInput
from shared.store.keys import (
    MAX_BINARY_CHUNK,
    MAX_BINARY_CHUNKS,
    MAX_CHUNKS,
    MAX_PROPERTY_CHARS,
    ValueTooLarge,
    get_compressed_json,
    get_json,
    put_compressed_json,
    put_json,
)


def test_small_json_is_one_chunk() -> None:
    entity: dict[str, Any] = {}
    put_json(entity, "record", {"b": 1, "a": [1, 2]})
    assert entity == {"record_chunks": 1, "record_0": '{"a":[1,2],"b":1}'}
    assert get_json(entity, "record") == {"a": [1, 2], "b": 1}


def test_large_json_is_split_into_property_sized_chunks() -> None:
    value = ["x" * 1000] * 100
    entity: dict[str, Any] = {}
    put_json(entity, "keys", value)
    text = json.dumps(value, separators=(",", ":"))
    count = -(-len(text) // MAX_PROPERTY_CHARS)
    assert entity["keys_chunks"] == count == 4
    assert [len(entity[f"keys_{i}"]) for i in range(count)] == [MAX_PROPERTY_CHARS] * 3 + [len(text) - 3 * MAX_PROPERTY_CHARS]
    assert get_json(entity, "keys") == value


def test_json_over_the_chunk_limit_is_invalid_input() -> None:
    entity: dict[str, Any] = {}
    with pytest.raises(InvalidInput, match=r"^history is too large to store \(\d+ characters of JSON\)$") as caught:
        put_json(entity, "history", "x" * (MAX_CHUNKS * MAX_PROPERTY_CHARS))
    assert type(caught.value) is InvalidInput
    assert entity == {}


def test_absent_json_is_the_default() -> None:
    assert get_json({}, "record") is None
    assert get_json({"record_chunks": "3"}, "record", default=[]) == []


def test_compressed_json_round_trips_in_binary_chunks() -> None:
    value = {"packages": random.Random(1).randbytes(100_000).hex()}
    entity: dict[str, Any] = {}
    put_compressed_json(entity, "sbom", value)
    data = zlib.compress(json.dumps(value, separators=(",", ":"), sort_keys=True).encode(), 6)
    count = -(-len(data) // MAX_BINARY_CHUNK)
    assert count > 1
    assert sorted(entity) == sorted(["sbom_zchunks", *(f"sbom_z{i}" for i in range(count))])
    assert entity["sbom_zchunks"] == count
    assert b"".join(entity[f"sbom_z{i}"] for i in range(count)) == data
    assert all(len(entity[f"sbom_z{i}"]) == MAX_BINARY_CHUNK for i in range(count - 1))
    assert get_compressed_json(entity, "sbom") == value


def test_small_compressed_json_is_one_chunk() -> None:
    entity: dict[str, Any] = {}
    put_compressed_json(entity, "report", [])
    assert sorted(entity) == ["report_z0", "report_zchunks"]
    assert entity["report_zchunks"] == 1
    assert get_compressed_json(entity, "report") == []


def test_compressed_json_over_the_chunk_limit_is_too_large() -> None:
    value = random.Random(0).randbytes(MAX_BINARY_CHUNKS * MAX_BINARY_CHUNK).hex()
    entity: dict[str, Any] = {}
    with pytest.raises(ValueTooLarge, match=r"^value is too large to store \(\d+ bytes compressed\)$"):
        put_compressed_json(entity, "value", value)
    assert entity == {}


def test_absent_or_unreadable_compressed_json_is_the_default() -> None:
    assert get_compressed_json({}, "sbom") is None
    assert get_compressed_json({"sbom_zchunks": 2, "sbom_z0": b"x"}, "sbom", default={}) == {}
    assert get_compressed_json({"sbom_zchunks": 1, "sbom_z0": b"not zlib"}, "sbom") is None
