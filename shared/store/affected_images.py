"""Table storage of which live images each advisory is found in, and of the installation's advisory listing.

- ``<prefix>affected``: PartitionKey the encoded advisory id (a finding's id).

  - RowKey the encoded ``registry/repository@digest`` of an image: its hits of the advisory
    (compressed JSON) and what it adds to the advisory's counters (``share``).
  - RowKey ``~summary`` (after every image): the counters over all images (images; per repository,
    package name, alias and severity; fixable), the summary text and references, a ``version``, and
    the listing rows (``keys``) that may still show an earlier state.

  An image's row and the summary change in one transaction conditional on both ETags, so the
  counters stay exact whatever the order, the retries or the concurrency of filings.
- ``<prefix>advisorylist``: PartitionKey a severity level (``critical`` … ``unknown``: five
  partitions, read worst first); RowKey the CVSS score inverted (``0900`` is 10.0, ``1000`` is 0.0,
  ``1001`` unscored) and the encoded id: the summary as the listing shows it, with its ``version``.
  A row an advisory leaves (its worst severity changed, or no live image has it any more) becomes a
  tombstone (``gone``) carrying the version that left it, so that a slower, older write never brings
  back or overwrites a newer state. The listing reads ``gone eq false``.
- ``<prefix>advisoryaliases``: PartitionKey an encoded alias, RowKey the encoded id of a finding that has it.
- ``<prefix>affectedfilings``: PartitionKey the encoded ``registry/repository``, RowKey the digest:
  the advisories the image is filed under, each with a hash of its hits, so that filing again
  touches only the advisories whose hits changed.

Images are filed together (:meth:`AffectedImageStore.file_many`, a re-match): the images whose hits
of one advisory changed share one transaction of that advisory's partition per :data:`GROUP_IMAGES`
(their rows read a few per query). Filing an image is idempotent and completes what an interrupted
filing started: the filing row is written last, so an interrupted filing visits the same advisories
again, finds the image's row already as wanted, and writes the listing rows from the summary once
more (a listing row older than the summary is replaced, a newer one kept).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from typing import Any, NamedTuple

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.errors import InvalidInput
from shared.images.listing import AdvisoryHit, AdvisorySummary, AffectedImage, Page
from shared.store.azure import Tables, storage_errors
from shared.store.batches import TRANSACTION_BYTES, delete_rows, rows_by_key, upsert_rows, weight
from shared.store.conditional import (
    Operation,
    attempts,
    create,
    delete,
    etag_of,
    put_unless_changed,
    replace,
    submit_unless_changed,
)
from shared.store.image_records import registry_range, repository_partition
from shared.store.keys import decode_key, encode_key, get_compressed_json, get_json, put_compressed_json, put_json
from shared.store.pages import Segment, read_page
from shared.vulns.report import LEVELS

SUMMARY = "~summary"
"""The RowKey of an advisory's summary: ``~`` sorts after every encoded image name."""

PARALLEL_ADVISORIES = 8
"""How many advisories one filing updates at once (each is its own partition)."""

GROUP_IMAGES = 99
"""How many images of one advisory are settled in one transaction, with the advisory's summary (a
transaction holds 100 rows; a group whose rows would weigh more than one transaction may is halved)."""


def image_key(registry: str, repository: str, digest: str) -> str:
    """The RowKey of an image's row in an advisory's partition: the encoded ``registry/repository@digest``, or
    for a name too long to be a key, ``~`` and its SHA-256 (still below :data:`SUMMARY`)."""
    name = f"{registry}/{repository}@{digest}"
    try:
        return encode_key(name)
    except InvalidInput:
        return "~" + hashlib.sha256(name.encode("utf-8")).hexdigest()


def rank(level: str, score: float | None) -> tuple[int, float]:
    """Sort key of a severity, worst first: level in :data:`LEVELS` order, then the CVSS score, highest first."""
    return (LEVELS.index(level) if level in LEVELS else len(LEVELS), -score if score is not None else 1.0)


def listing_row(advisory: str, level: str, score: float | None) -> tuple[str, str]:
    """(PartitionKey, RowKey) of an advisory in the listing."""
    inverted = 1000 - round(score * 10) if score is not None else 1001
    return (level if level in LEVELS else "unknown"), f"{inverted:04d}!{encode_key(advisory)}"


def _as_json(item: AdvisoryHit | AdvisorySummary) -> dict[str, Any]:
    """A hit or an advisory's summary as plain JSON: its fields, tuples as lists, mappings copied into dicts
    (one level: a severity's and a reference's values are plain JSON already)."""
    value: dict[str, Any] = {}
    for name in _FIELDS[type(item)]:
        field_value = getattr(item, name)
        value[name] = list(field_value) if isinstance(field_value, tuple) else field_value
    value["severity"] = dict(item.severity)
    value["references"] = [dict(r) for r in item.references]
    return value


_FIELDS = {kind: tuple(f.name for f in fields(kind)) for kind in (AdvisoryHit, AdvisorySummary)}


def _hit_from_json(value: Mapping[str, Any]) -> AdvisoryHit:
    return AdvisoryHit(
        advisory=str(value["advisory"]), aliases=tuple(value.get("aliases", ())), summary=str(value.get("summary", "")),
        severity=dict(value.get("severity") or {}), level=str(value.get("level", "unknown")),
        references=tuple(dict(r) for r in value.get("references", ())), platform=str(value.get("platform", "")),
        platform_digest=str(value.get("platform_digest", "")), package=str(value["package"]), name=str(value["name"]),
        installed_version=str(value["installed_version"]), fixed_versions=tuple(value.get("fixed_versions", ())))


def _canonical(hit: AdvisoryHit) -> str:
    """The canonical JSON text of ``hit``: equal texts, equal hits."""
    return json.dumps(_as_json(hit), sort_keys=True, separators=(",", ":"))


def hits_hash(hits: Sequence[AdvisoryHit]) -> str:
    """A digest of ``hits`` (order-independent): equal hashes mean nothing to file."""
    return _hash_of(_canonical(h) for h in hits)


def _hash_of(canonical: Iterable[str]) -> str:
    """:func:`hits_hash` of the hits whose canonical texts are ``canonical``."""
    return hashlib.sha256("\n".join(sorted(canonical)).encode("utf-8")).hexdigest()[:32]


def _share(registry: str, repository: str, hits: Sequence[AdvisoryHit]) -> dict[str, Any]:
    """What one image's hits add to its advisory's counters."""
    worst = min(hits, key=lambda h: rank(h.level, h.score))
    return {"repository": f"{registry}/{repository}", "packages": sorted({h.name for h in hits}),
            "aliases": sorted({a for h in hits for a in h.aliases}), "fixable": any(h.fixed_versions for h in hits),
            "severity": json.dumps({"level": worst.level, "severity": dict(worst.severity)}, sort_keys=True)}


def _empty_state() -> dict[str, Any]:
    return {"images": 0, "repositories": {}, "packages": {}, "aliases": {}, "severities": {}, "fixable": 0,
            "summary": "", "references": []}


def _count(counter: dict[str, int], key: str, sign: int) -> None:
    total = counter.get(key, 0) + sign
    if total > 0:
        counter[key] = total
    else:
        counter.pop(key, None)


def _apply(state: dict[str, Any], share: Mapping[str, Any] | None, sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) one image's ``share`` of the counters."""
    if share is None:
        return
    state["images"] += sign
    _count(state["repositories"], share["repository"], sign)
    for name in share["packages"]:
        _count(state["packages"], name, sign)
    for alias in share["aliases"]:
        _count(state["aliases"], alias, sign)
    _count(state["severities"], share["severity"], sign)
    state["fixable"] += sign * int(bool(share["fixable"]))


def _worst(state: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(level, severity JSON) of the worst severity counted, None when no image is counted."""
    if state["images"] <= 0 or not state["severities"]:
        return None
    parsed = [json.loads(key) for key in state["severities"]]
    worst = min(parsed, key=lambda s: (rank(s["level"], s["severity"].get("score")), json.dumps(s, sort_keys=True)))
    return str(worst["level"]), dict(worst["severity"])


def _view(advisory: str, state: Mapping[str, Any]) -> AdvisorySummary | None:
    worst = _worst(state)
    if worst is None:
        return None
    level, severity = worst
    return AdvisorySummary(id=advisory, aliases=tuple(sorted(state["aliases"])), summary=str(state["summary"]),
                           severity=severity, level=level, references=tuple(dict(r) for r in state["references"]),
                           images=int(state["images"]), repositories=len(state["repositories"]),
                           packages=tuple(sorted(state["packages"])), fixable=int(state["fixable"]) > 0)


def _view_from_json(value: Mapping[str, Any]) -> AdvisorySummary:
    return AdvisorySummary(
        id=str(value["id"]), aliases=tuple(value.get("aliases", ())), summary=str(value.get("summary", "")),
        severity=dict(value.get("severity") or {}), level=str(value.get("level", "unknown")),
        references=tuple(dict(r) for r in value.get("references", ())), images=int(value.get("images", 0)),
        repositories=int(value.get("repositories", 0)), packages=tuple(value.get("packages", ())),
        fixable=bool(value.get("fixable")))


def _current_key(advisory: str, state: Mapping[str, Any]) -> str | None:
    """``level|RowKey`` of where the listing shows the advisory now; None when no live image has it."""
    worst = _worst(state)
    if worst is None:
        return None
    level, severity = worst
    score = severity.get("score")
    partition, row = listing_row(advisory, level, float(score) if isinstance(score, (int, float)) else None)
    return f"{partition}|{row}"


class _Member(NamedTuple):
    """An image whose hits of one advisory changed: its distinct ``hits`` of it (none: it has it no more)
    and their :func:`hits_hash` (None when there are none)."""

    registry: str
    repository: str
    digest: str
    hits: list[AdvisoryHit]
    hits_hash: str | None


class AffectedImageStore:
    """Advisories by the live images they are found in (:class:`~shared.records.AffectedImages`)."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    # -- filing -----------------------------------------------------------------------------------

    def file(self, registry: str, repository: str, digest: str, hits: Sequence[AdvisoryHit]) -> None:
        """Record that the image has exactly ``hits``: update the advisories whose hits changed, then the filing."""
        self.file_many([(registry, repository, digest, hits)])

    def file_many(self, filings: Sequence[tuple[str, str, str, Sequence[AdvisoryHit]]]) -> None:
        """:meth:`file` for each ``(registry, repository, digest, hits)`` (the last wins for an image named
        twice). The images whose hits of one advisory changed are settled together, :data:`GROUP_IMAGES`
        at a time: one read and one transaction per group, not per image. Filing rows go last, in
        batches per repository."""
        if not filings:
            return
        wanted_hits: dict[tuple[str, str, str], dict[str, dict[str, AdvisoryHit]]] = {}
        for registry, repository, digest, hits in filings:
            groups: dict[str, dict[str, AdvisoryHit]] = {}
            for hit in hits:  # each distinct hit once, keyed by its canonical text
                groups.setdefault(hit.advisory, {})[_canonical(hit)] = hit
            wanted_hits[(registry, repository, digest)] = groups
        filed = self._filed(list(wanted_hits))
        changes: dict[str, list[_Member]] = {}
        wanted: dict[tuple[str, str, str], dict[str, str]] = {}
        for image, groups in wanted_hits.items():
            wanted[image] = {advisory: _hash_of(found) for advisory, found in groups.items()}
            before = filed.get(image, {})
            for advisory in sorted(set(before) | set(wanted[image])):
                if before.get(advisory) != wanted[image].get(advisory):
                    found = list(groups.get(advisory, {}).values())
                    changes.setdefault(advisory, []).append(
                        _Member(*image, found, wanted[image].get(advisory)))
        if changes:
            with ThreadPoolExecutor(max_workers=min(PARALLEL_ADVISORIES, len(changes))) as pool:
                list(pool.map(lambda advisory: self._settle_all(advisory, changes[advisory]), sorted(changes)))
        upserts: list[dict[str, Any]] = []
        deletes: list[tuple[str, str]] = []
        for (registry, repository, digest), advisories in wanted.items():
            partition = repository_partition(registry, repository)
            if advisories:
                entity: dict[str, Any] = {"PartitionKey": partition, "RowKey": digest}
                put_compressed_json(entity, "advisories", advisories)
                upserts.append(entity)
            elif filed.get((registry, repository, digest)):
                deletes.append((partition, digest))
        filings_table = self._tables.table("affectedfilings")
        by_partition: dict[str, list[dict[str, Any]]] = {}
        for entity in upserts:
            by_partition.setdefault(entity["PartitionKey"], []).append(entity)
        if len(by_partition) > 1:  # one transaction per repository: written a few at once
            with ThreadPoolExecutor(max_workers=min(PARALLEL_ADVISORIES, len(by_partition))) as pool:
                list(pool.map(lambda rows: upsert_rows(filings_table, rows, "save advisory filings"),
                              by_partition.values()))
        else:
            upsert_rows(filings_table, upserts, "save advisory filings")
        delete_rows(filings_table, deletes, "remove advisory filings")

    def _filed(self, images: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], dict[str, str]]:
        """The filing rows of ``images``: queries naming a few digests each, a few repositories at once."""
        filings = self._tables.table("affectedfilings")
        by_repository: dict[tuple[str, str], set[str]] = {}
        for registry, repository, digest in images:
            by_repository.setdefault((registry, repository), set()).add(digest)
        found: dict[tuple[str, str, str], dict[str, str]] = {}

        def read(item: tuple[tuple[str, str], set[str]]) -> dict[tuple[str, str, str], dict[str, str]]:
            (registry, repository), digests = item
            partition = repository_partition(registry, repository)
            rows = rows_by_key(filings, partition, sorted(digests), "read advisory filings").values()
            return {(registry, repository, str(e["RowKey"])): get_compressed_json(e, "advisories", {}) or {} for e in rows}

        items = sorted(by_repository.items())
        if len(items) <= 1:
            return read(items[0]) if items else {}
        with ThreadPoolExecutor(max_workers=min(PARALLEL_ADVISORIES, len(items))) as pool:
            for part in pool.map(read, items):
                found.update(part)
        return found

    def _settle_all(self, advisory: str, members: Sequence[_Member]) -> None:
        """Settle the images of ``advisory`` whose hits changed, :data:`GROUP_IMAGES` at a time."""
        for start in range(0, len(members), GROUP_IMAGES):
            self._settle(advisory, members[start : start + GROUP_IMAGES])

    def _settle(self, advisory: str, members: Sequence[_Member]) -> None:
        """Make each member image's row of ``advisory`` hold its hits (none: no row), with the summary in the
        same transaction (every row written only if unchanged since read), then the listing. Members whose
        rows would not fit one transaction are settled in halves."""
        table = self._tables.table("affected")
        partition = encode_key(advisory)
        wanted = {image_key(m.registry, m.repository, m.digest): m for m in members}
        for _ in attempts("file an image under an advisory"):
            rows = rows_by_key(table, partition, [*wanted, SUMMARY], "read an advisory")
            summary = rows.get(SUMMARY)
            pending = [key for key, member in wanted.items()
                       if (rows[key].get("hash") if key in rows else None) != member.hits_hash]
            if not pending:
                if summary is not None:  # only an interrupted filing gets here: finish its listing rows
                    state = get_compressed_json(summary, "state") or _empty_state()
                    self._project(advisory, summary, etag_of(summary), set(state["aliases"]))
                return
            state = get_compressed_json(summary, "state") if summary is not None else None
            state = state if isinstance(state, dict) else _empty_state()
            aliases_before = set(state["aliases"])
            images: list[Operation] = []
            for key in pending:
                registry, repository, digest, hits, digest_hash = wanted[key]
                row = rows.get(key)
                _apply(state, get_json(row, "share") if row is not None else None, -1)
                if hits:
                    _apply(state, _share(registry, repository, hits), 1)
                    state["summary"], state["references"] = hits[0].summary, [dict(r) for r in hits[0].references]
                    image: dict[str, Any] = {"PartitionKey": partition, "RowKey": key, "hash": digest_hash,
                                             "registry": registry, "repository": repository, "digest": digest}
                    put_json(image, "share", _share(registry, repository, hits))
                    put_compressed_json(image, "hits", [_as_json(h) for h in hits])
                    images.append(replace(image, etag_of(row)) if row is not None else create(image))
                elif row is not None:
                    images.append(delete(row, etag_of(row)))
            keys = list(get_json(summary, "keys", []) if summary is not None else [])
            current = _current_key(advisory, state)
            if current is not None and current not in keys:
                keys.append(current)
            entity: dict[str, Any] = {"PartitionKey": partition, "RowKey": SUMMARY, "id": advisory,
                                      "version": int(summary.get("version", 0)) + 1 if summary is not None else 1}
            put_compressed_json(entity, "state", state)
            put_json(entity, "keys", keys)
            operations = [replace(entity, etag_of(summary)) if summary is not None else create(entity), *images]
            if len(members) > 1 and sum(weight(operation[1]) for operation in operations) > TRANSACTION_BYTES:
                half = len(members) // 2
                self._settle(advisory, members[:half])
                self._settle(advisory, members[half:])
                return
            results = submit_unless_changed(table, operations, "file an image under an advisory")
            if results is None:
                continue
            self._project(advisory, entity, str(results[0]["etag"]), set(state["aliases"]) - aliases_before)
            return

    def _project(self, advisory: str, summary: dict[str, Any], etag: str, new_aliases: Collection[str]) -> None:
        """Write the listing rows of the summary's state (content at its key, tombstones at the others it
        used) and the new aliases; once the advisory moved, forget the keys it left (unless the summary
        changed meanwhile: its writer does that)."""
        state = get_compressed_json(summary, "state") or _empty_state()
        version = int(summary["version"])
        current = _current_key(advisory, state)
        view = _view(advisory, state)
        for key in get_json(summary, "keys", []):
            level, row = key.split("|", 1)
            entity: dict[str, Any] = {"PartitionKey": level, "RowKey": row, "id": advisory, "version": version,
                                      "gone": key != current}
            if key == current and view is not None:
                put_json(entity, "view", _as_json(view))
            self._write_listing(entity, version)
        if new_aliases:
            upsert_rows(self._tables.table("advisoryaliases"),
                        [{"PartitionKey": encode_key(a), "RowKey": encode_key(advisory)} for a in sorted(new_aliases)],
                        "save advisory aliases")
        keys = [current] if current else []
        if get_json(summary, "keys", []) == keys:
            return
        cleared: dict[str, Any] = {"PartitionKey": summary["PartitionKey"], "RowKey": SUMMARY}
        put_json(cleared, "keys", keys)
        with storage_errors("update an advisory summary"):
            try:
                self._tables.table("affected").update_entity(cleared, mode=UpdateMode.MERGE, etag=etag,
                                                             match_condition=MatchConditions.IfNotModified)
            except HttpResponseError as exc:
                if exc.status_code not in (404, 412):
                    raise

    def _write_listing(self, entity: dict[str, Any], version: int) -> None:
        """Write a listing row unless the row there already shows ``version`` or a later one."""
        table = self._tables.table("advisorylist")
        for _ in attempts("update the advisory listing"):
            with storage_errors("read the advisory listing"):
                try:
                    existing: dict[str, Any] | None = table.get_entity(entity["PartitionKey"], entity["RowKey"],
                                                                       select=["version"])
                except ResourceNotFoundError:
                    existing = None
            if existing is not None and int(existing.get("version", 0)) >= version:
                return
            if put_unless_changed(table, entity, etag_of(existing) if existing is not None else None,
                                  "update the advisory listing"):
                return

    def purge_registry(self, registry: str) -> None:
        """Unfile every image of ``registry`` (found through its filings)."""
        low, high = registry_range(registry)
        with storage_errors("list advisory filings"):
            filed = [(e["PartitionKey"], e["RowKey"]) for e in self._tables.table("affectedfilings").query_entities(
                "PartitionKey ge @low and PartitionKey lt @high", parameters={"low": low, "high": high},
                select=["PartitionKey", "RowKey"])]
        for partition, digest in filed:
            _, repository = decode_key(partition).split("/", 1)
            self.file(registry, repository, digest, [])

    # -- reading ----------------------------------------------------------------------------------

    def listing(self, levels: Collection[str], limit: int, cursor: str | None = None,
                keep: Callable[[AdvisorySummary], bool] | None = None) -> Page[AdvisorySummary]:
        """The listing partitions of ``levels``, worst first, skipping tombstones."""
        segments = [Segment(level, level, where="gone eq false") for level in LEVELS if level in levels]

        def shown(entity: dict[str, Any]) -> AdvisorySummary:
            return _view_from_json(get_json(entity, "view", {}))

        accept = (lambda e: keep(shown(e))) if keep is not None else None
        rows, following = read_page(self._tables.table("advisorylist"), segments, cursor, limit, keep=accept,
                                    action="list advisories")
        return Page(tuple(shown(row) for row in rows), following)

    def summary(self, advisory: str) -> AdvisorySummary | None:
        """The summary of id ``advisory``, else of the first id that has it as an alias, if a live image has it."""
        found = self._summary(advisory)
        if found is not None:
            return found
        with storage_errors("read advisory aliases"):
            ids = [decode_key(e["RowKey"]) for e in self._tables.table("advisoryaliases").query_entities(
                "PartitionKey eq @pk", parameters={"pk": encode_key(advisory)}, select=["RowKey"])]
        for candidate in ids:
            found = self._summary(candidate)
            if found is not None:
                return found
        return None

    def _summary(self, advisory: str) -> AdvisorySummary | None:
        with storage_errors("read an advisory"):
            try:
                entity = self._tables.table("affected").get_entity(encode_key(advisory), SUMMARY)
            except ResourceNotFoundError:
                return None
        state = get_compressed_json(entity, "state")
        return _view(advisory, state) if isinstance(state, dict) else None

    def affected(self, advisory: str, limit: int, cursor: str | None = None) -> Page[AffectedImage]:
        """The image rows of the advisory's partition, in key order."""
        segment = Segment("images", encode_key(advisory), high=SUMMARY)
        rows, following = read_page(self._tables.table("affected"), [segment], cursor, limit,
                                    action="list affected images")
        return Page(tuple(AffectedImage(registry=str(row["registry"]), repository=str(row["repository"]),
                                        digest=str(row["digest"]),
                                        hits=tuple(_hit_from_json(h) for h in get_compressed_json(row, "hits", [])))
                          for row in rows), following)
