"""The advisory index's serialized form, as Table storage entities (no Azure SDK here).

Three kinds of entity, meant for three tables (names are the caller's choice):

**Package rows** — one per (package key, record); a lookup for a package is one range query.

- ``PartitionKey``: the encoded ecosystem (``PyPI``, ``Debian%3A12``);
- ``RowKey``: ``<encoded name>!<encoded record id>``. Encoded keys hold only unreserved characters
  and ``%``, all above ``!`` — so every row of a package lies in ``[<name>!, <name>")`` (see
  :func:`package_row_range`) and no other package's row does;
- ``id``, ``digest``, ``modified`` (ISO-8601 text), ``withdrawn`` (bool), and ``record_*``: the record as
  OSV JSON, cut down to this package's affected entries, ``details`` shortened to
  :data:`MAX_DETAILS` characters, split into ≤ 32 Ki-character properties by
  :func:`shared.store.keys.put_json`.

**Record rows** — one per record, to find what an update or removal touches without reading bodies.

- ``PartitionKey``: the id's database prefix (``PYSEC``, ``GO``, ``GHSA``), encoded;
- ``RowKey``: the encoded id; ``digest``, ``modified``, ``withdrawn``, and ``keys_*``: JSON
  ``[[ecosystem, name], ...]`` of the package keys it is filed under.

**The snapshot row** — what :func:`snapshot_entity` builds: the index's snapshot id, the import time
and the import's counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.errors import InvalidInput
from shared.store.keys import decode_key, encode_key, get_json, put_json
from shared.vulns.errors import InvalidAdvisory
from shared.vulns.index import ImportResult, advisory_keys
from shared.vulns.model import Advisory
from shared.vulns.packages import PackageKey
from shared.vulns.parse import parse_advisory, parse_time, to_osv_dict

SEPARATOR = "!"
"""Between the encoded package name and record id in a package row's RowKey."""
_AFTER_SEPARATOR = chr(ord(SEPARATOR) + 1)
MAX_DETAILS = 4096
SNAPSHOT_PARTITION = "snapshot"
SNAPSHOT_ROW = "current"


def package_partition(ecosystem: str) -> str:
    """The PartitionKey of the package rows of ``ecosystem``."""
    return encode_key(ecosystem)


def package_row_key(name: str, record_id: str) -> str:
    """The RowKey of record ``record_id``'s row for package ``name``."""
    return encode_key(name) + SEPARATOR + encode_key(record_id)


def package_row_range(key: PackageKey) -> tuple[str, str, str]:
    """``(PartitionKey, lowest RowKey, RowKey bound)``: a package's rows are ``lowest <= RowKey < bound``."""
    prefix = encode_key(key.name)
    return package_partition(key.ecosystem), prefix + SEPARATOR, prefix + _AFTER_SEPARATOR


def record_partition(record_id: str) -> str:
    """The PartitionKey of a record row: the id's prefix before the first ``-``."""
    return encode_key(record_id.split("-", 1)[0])


def project(advisory: Advisory, key: PackageKey) -> Advisory:
    """``advisory`` reduced to what matching ``key`` needs: its affected entries for ``key``, short details."""
    affected = tuple(
        a for a in advisory.affected if a.package is not None and PackageKey.of(a.package.ecosystem, a.package.name) == key
    )
    details = advisory.details if len(advisory.details) <= MAX_DETAILS else advisory.details[: MAX_DETAILS - 1] + "…"
    return replace(advisory, affected=affected, details=details)


def package_entities(advisory: Advisory) -> list[dict[str, Any]]:
    """The package rows of ``advisory``, one per package key; raises :class:`InvalidAdvisory` if one is too large."""
    rows = []
    for key in sorted(advisory_keys(advisory)):
        entity: dict[str, Any] = {
            "PartitionKey": package_partition(key.ecosystem),
            "RowKey": package_row_key(key.name, advisory.id),
            "id": advisory.id,
            "digest": advisory.digest,
            "modified": advisory.modified.isoformat(),  # text: Table datetimes start at 1601, OSV placeholders at year 1
            "withdrawn": advisory.is_withdrawn,
        }
        try:
            put_json(entity, "record", to_osv_dict(project(advisory, key)))
        except InvalidInput as exc:
            raise InvalidAdvisory(f"{advisory.id}: too large to store for {key.ecosystem}/{key.name}: {exc.message}") from None
        rows.append(entity)
    return rows


def record_entity(advisory: Advisory) -> dict[str, Any]:
    """The record row of ``advisory``."""
    entity: dict[str, Any] = {
        "PartitionKey": record_partition(advisory.id),
        "RowKey": encode_key(advisory.id),
        "digest": advisory.digest,
        "modified": advisory.modified.isoformat(),  # text: Table datetimes start at 1601, OSV placeholders at year 1
        "withdrawn": advisory.is_withdrawn,
    }
    put_json(entity, "keys", [[key.ecosystem, key.name] for key in sorted(advisory_keys(advisory))])
    return entity


def advisory_from_entity(entity: Mapping[str, Any]) -> Advisory:
    """The (projected) record of a package row; raises :class:`InvalidAdvisory` if it is damaged."""
    record = get_json(dict(entity), "record")
    digest = entity.get("digest")
    if record is None or not isinstance(digest, str):
        raise InvalidAdvisory(f"package row {entity.get('RowKey')!r} holds no record")
    return parse_advisory(record, digest=digest)


def keys_from_record_entity(entity: Mapping[str, Any]) -> frozenset[PackageKey]:
    """The package keys a record row lists."""
    pairs = get_json(dict(entity), "keys", default=[])
    return frozenset(PackageKey(str(eco), str(name)) for eco, name in pairs)


def record_id_of(entity: Mapping[str, Any]) -> str:
    """The record id of a record row."""
    return decode_key(str(entity["RowKey"]))


def snapshot_entity(result: ImportResult) -> dict[str, Any]:
    """The snapshot row after an import: ``snapshot``, ``imported_at`` and the counts."""
    return {
        "PartitionKey": SNAPSHOT_PARTITION,
        "RowKey": SNAPSHOT_ROW,
        "snapshot": result.snapshot,
        "imported_at": result.imported_at,
        "added": result.added,
        "updated": result.updated,
        "removed": result.removed,
        "unchanged": result.unchanged,
        "stale": result.stale,
        "problems": len(result.problems),
    }


def as_datetime(value: Any) -> datetime | None:
    """A datetime property as read back (the SDK returns datetimes; strings are parsed)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return parse_time(value)
    return None
