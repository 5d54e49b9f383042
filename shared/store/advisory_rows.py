"""The advisory index's serialized form, as Table storage entities (no Azure SDK here).

Four kinds of entity, meant for four tables (names are the caller's choice):

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
  ``[[ecosystem, name], ...]`` of the package keys it is filed under;
- ``layout``: :data:`RECORD_LAYOUT` (rows written before it existed have none, and lack what
  follows); ``names_*``: JSON ``{"aliases": [...], "upstream": [...]}``; ``rating_*``: JSON of the
  rating the record gives itself (:func:`~shared.vulns.severity.self_rating`: ``rating``,
  ``score``, ``type``, ``vector``, ``origin``), absent when it gives none.

**Severity rows** — one per id (record id or alias) that some self-rated record carries, holding the
preferred rating among those records (:func:`~shared.vulns.severity.best`); read by point reads.

- ``PartitionKey``: the id's database prefix, as for record rows (``CVE``, ``GHSA``);
- ``RowKey``: the encoded id; ``rating``, ``score`` (a double; absent without a CVSS vector),
  ``type``, ``vector``, ``source`` (the record that carries the rating), ``origin``.

**The snapshot row** — what :func:`snapshot_entity` builds: the index's snapshot id, the import time,
the import's counts, and what a reader holding the data of the snapshot before needs to follow it
incrementally: ``previous`` (the snapshot the import started from) and ``changes_*`` (JSON
``[[ecosystem, name], ...]``: the package keys whose rows the import changed, at most
:data:`MAX_LISTED_CHANGES`; absent when there were more, and a reader then reloads everything).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
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
from shared.vulns.severity import RATINGS, UNKNOWN, SeverityScore, self_rating

SEPARATOR = "!"
"""Between the encoded package name and record id in a package row's RowKey."""
_AFTER_SEPARATOR = chr(ord(SEPARATOR) + 1)
MAX_DETAILS = 4096
SNAPSHOT_PARTITION = "snapshot"
SNAPSHOT_ROW = "current"
RECORD_LAYOUT = 2
"""The layout of record rows written now (rows without ``layout`` are the first one)."""
MAX_LISTED_CHANGES = 1000
"""The most changed package keys a snapshot row lists (see :func:`snapshot_entity`)."""


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
    """The record row of ``advisory``; raises :class:`InvalidAdvisory` if it is too large to store."""
    entity: dict[str, Any] = {
        "PartitionKey": record_partition(advisory.id),
        "RowKey": encode_key(advisory.id),
        "digest": advisory.digest,
        "modified": advisory.modified.isoformat(),  # text: Table datetimes start at 1601, OSV placeholders at year 1
        "withdrawn": advisory.is_withdrawn,
        "layout": RECORD_LAYOUT,
    }
    try:
        put_json(entity, "keys", [[key.ecosystem, key.name] for key in sorted(advisory_keys(advisory))])
        put_json(entity, "names", {"aliases": list(advisory.aliases), "upstream": list(advisory.upstream)})
    except InvalidInput as exc:
        raise InvalidAdvisory(f"{advisory.id}: too large to store: {exc.message}") from None
    rating = self_rating(advisory)
    if rating.known:
        put_json(entity, "rating", _score_json(rating))
    return entity


def record_layout(entity: Mapping[str, Any]) -> int:
    """The layout a record row was written in (1 for rows written before layouts were numbered)."""
    value = entity.get("layout", 1)
    return value if isinstance(value, int) else 1


def names_from_record_entity(entity: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """A record row's ``(aliases, upstream ids)``; both empty for a row of the first layout."""
    names = get_json(dict(entity), "names", default={})
    if not isinstance(names, dict):
        return frozenset(), frozenset()
    return frozenset(str(n) for n in names.get("aliases", ())), frozenset(str(n) for n in names.get("upstream", ()))


def rating_from_record_entity(entity: Mapping[str, Any]) -> SeverityScore:
    """The rating a record row says its record gives itself (``source`` is the record's id);
    :data:`~shared.vulns.severity.UNKNOWN` when none, or when the row is damaged."""
    value = get_json(dict(entity), "rating")
    if not isinstance(value, dict):
        return UNKNOWN
    try:
        return _score_of(value, record_id_of(entity))
    except (TypeError, ValueError):
        return UNKNOWN


def severity_entity(name: str, rating: SeverityScore) -> dict[str, Any]:
    """The severity row filing ``rating`` (a known one) under id ``name``."""
    entity: dict[str, Any] = {
        "PartitionKey": record_partition(name),
        "RowKey": encode_key(name),
        "rating": rating.rating,
        "type": rating.type,
        "vector": rating.vector,
        "source": rating.source,
        "origin": rating.origin,
    }
    if rating.score is not None:
        entity["score"] = float(rating.score)
    return entity


def severity_row_key(name: str) -> tuple[str, str]:
    """``(PartitionKey, RowKey)`` of the severity row of id ``name``."""
    return record_partition(name), encode_key(name)


def severity_from_entity(entity: Mapping[str, Any]) -> SeverityScore:
    """The rating a severity row holds; raises ``ValueError`` if the row is damaged."""
    try:
        return _score_of(entity, str(entity.get("source", "")))
    except TypeError as exc:
        raise ValueError(f"severity row {entity.get('RowKey')!r} is damaged: {exc}") from None


def _score_json(rating: SeverityScore) -> dict[str, Any]:
    return {"rating": rating.rating, "score": rating.score, "type": rating.type, "vector": rating.vector, "origin": rating.origin}


def _score_of(value: Mapping[str, Any], source: str) -> SeverityScore:
    rating = str(value.get("rating", ""))
    if rating not in RATINGS:
        raise ValueError(f"{rating!r} is not a rating")
    score = value.get("score")
    return SeverityScore(
        rating=rating,
        score=float(score) if score is not None else None,
        type=str(value.get("type", "")),
        vector=str(value.get("vector", "")),
        source=source,
        origin=str(value.get("origin", "")),
    )


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


def snapshot_entity(result: ImportResult, ecosystems: Mapping[str, int], previous: str = "",
                    changed: frozenset[PackageKey] | None = None, rerated: Collection[str] = ()) -> dict[str, Any]:
    """The snapshot row after an import: ``snapshot``, ``imported_at``, the counts, ``ecosystems_*``:
    JSON of how many records the mirror now holds per ecosystem (see :func:`ecosystems_of`), and the
    import's ``previous`` snapshot with the package keys whose rows ``changed`` since and the ids whose
    preferred rating changed (``rerated``); both left out when ``changed`` is None or together more
    than :data:`MAX_LISTED_CHANGES` (see :func:`changes_of`)."""
    entity = {
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
    put_json(entity, "ecosystems", dict(ecosystems))
    entity["previous"] = previous
    listed = changed is not None and len(changed) + len(rerated) <= MAX_LISTED_CHANGES
    try:
        put_json(entity, "changes", [[key.ecosystem, key.name] for key in sorted(changed)] if listed and changed else [])
        put_json(entity, "rerated", sorted(rerated) if listed else [])
    except InvalidInput:  # too long to list: readers reload everything
        listed = False
        put_json(entity, "changes", [])
        put_json(entity, "rerated", [])
    entity["changes_listed"] = listed
    return entity


def changes_of(entity: dict[str, Any]) -> tuple[str, frozenset[PackageKey], frozenset[str]] | None:
    """``(previous snapshot, changed package keys, re-rated ids)`` of a snapshot row; None when the row
    does not list them (written before they were listed, or after an import that changed too many)."""
    if entity.get("changes_listed") is not True or not isinstance(entity.get("previous"), str):
        return None
    pairs, rerated = get_json(entity, "changes", []), get_json(entity, "rerated", [])
    if not isinstance(pairs, list) or not isinstance(rerated, list):
        return None
    return (str(entity["previous"]), frozenset(PackageKey(str(eco), str(name)) for eco, name in pairs),
            frozenset(str(name) for name in rerated))


def ecosystems_of(entity: dict[str, Any]) -> dict[str, int] | None:
    """The per-ecosystem record counts of a snapshot row; None for a row written without them."""
    value = get_json(entity, "ecosystems", None)
    if not isinstance(value, dict):
        return None
    return {str(k): int(v) for k, v in value.items() if isinstance(v, int)}


def as_datetime(value: Any) -> datetime | None:
    """A datetime property as read back (the SDK returns datetimes; strings are parsed)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return parse_time(value)
    return None
