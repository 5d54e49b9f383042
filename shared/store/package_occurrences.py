"""Table storage of which live images hold each package.

- ``<prefix>packageoccurrences``: PartitionKey the encoded package URL type (``maven``, ``deb``,
  ``pypi`` …: one partition per ecosystem, so that one image's rows fall in a few partitions and are
  written in batches of 100). RowKey ``<name>!<namespace>!<registry/repository@digest>!<platform>!<hash>``:
  the lower-cased purl name and namespace, the image, 16 hex digits of the platform digest and of a
  hash of the purl and layer, each part encoded. A search by name reads one key range per type (by
  name and namespace: a narrower one). Rows of PartitionKey ``~types`` name every type ever filed,
  for a search without a type.
- ``<prefix>packagefilings``: PartitionKey the encoded ``registry/repository``, RowKey the digest:
  the keys of the image's rows (compressed JSON). Before rows are added the filing lists them, so an
  interrupted filing leaves nothing that a later one cannot find and remove.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.errors import InvalidInput
from shared.images.listing import PackageOccurrence, Page
from shared.store.azure import Tables, storage_errors
from shared.store.batches import delete_rows, upsert_rows
from shared.store.image_records import registry_range, repository_partition
from shared.store.keys import MAX_KEY_CHARS, decode_key, encode_key, get_compressed_json, put_compressed_json
from shared.store.pages import Segment, read_page
from shared.vulns.purl import parse_purl

log = logging.getLogger(__name__)

TYPES = "~types"
"""The partition naming every purl type filed (``~`` never starts an encoded type)."""

_FIELDS = ("registry", "repository", "digest", "platform", "platform_digest", "purl", "name", "version", "type", "layer")


def name_range(name: str, namespace: str | None = None) -> tuple[str, str]:
    """The RowKey range ``[low, high)`` of every row of packages named ``name`` (and in ``namespace``).

    Encoded parts hold only unreserved characters and ``%``, all above ``!`` and ``"``.
    """
    prefix = encode_key(name.lower()) + "!"
    if namespace is not None:
        prefix += encode_key(namespace.lower()) + "!"
    return prefix, prefix[:-1] + '"'


def occurrence_key(occurrence: PackageOccurrence) -> tuple[str, str] | None:
    """(PartitionKey, RowKey) of an occurrence; None when its purl cannot be keyed (not a purl, or too long)."""
    try:
        purl = parse_purl(occurrence.purl)
        parts = [encode_key(purl.name.lower()), encode_key(purl.namespace.lower()),
                 encode_key(f"{occurrence.registry}/{occurrence.repository}@{occurrence.digest}"),
                 occurrence.platform_digest.rsplit(":", 1)[-1][:16],
                 hashlib.sha256(f"{occurrence.purl}\n{occurrence.layer}".encode()).hexdigest()[:16]]
        partition = encode_key(purl.type)
    except InvalidInput:
        return None
    row = "!".join(parts)
    if len(row) > MAX_KEY_CHARS:
        return None
    return partition, row


def _from_entity(entity: dict[str, Any]) -> PackageOccurrence:
    return PackageOccurrence(**{name: str(entity.get(name, "")) for name in _FIELDS})


class PackageOccurrenceStore:
    """Packages by the live images holding them (:class:`~shared.records.PackageOccurrences`)."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def file(self, registry: str, repository: str, digest: str, occurrences: Sequence[PackageOccurrence]) -> None:
        """Make the image's rows exactly ``occurrences``: list new rows in the filing, write them, remove the
        rows no longer there, then keep only the new rows in the filing."""
        table, filings = self._tables.table("packageoccurrences"), self._tables.table("packagefilings")
        partition = repository_partition(registry, repository)
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for occurrence in occurrences:
            key = occurrence_key(occurrence)
            if key is None:
                log.warning("package %.200s of %s/%s@%s is not indexed: its purl cannot be a key",
                            occurrence.purl, registry, repository, digest)
                continue
            rows[key] = {"PartitionKey": key[0], "RowKey": key[1],
                         **{name: getattr(occurrence, name) for name in _FIELDS}}
        with storage_errors("read an image's package filing"):
            try:
                filed = {(str(p), str(r)) for p, r in get_compressed_json(filings.get_entity(partition, digest), "rows", [])}
            except ResourceNotFoundError:
                filed = set()
        added = [entity for key, entity in rows.items() if key not in filed]
        if added:
            self._save_filing(partition, digest, filed | set(rows))
            types = {decode_key(p) for p, _ in rows}
            upsert_rows(table, [{"PartitionKey": TYPES, "RowKey": encode_key(t)} for t in sorted(types)],
                        "save package types")
            upsert_rows(table, added, "save package occurrences")
        delete_rows(table, sorted(filed - set(rows)), "remove package occurrences")
        if filed != set(rows):
            self._save_filing(partition, digest, set(rows))

    def _save_filing(self, partition: str, digest: str, keys: set[tuple[str, str]]) -> None:
        filings = self._tables.table("packagefilings")
        with storage_errors("save an image's package filing"):
            if not keys:
                filings.delete_entity(partition, digest)
                return
            entity: dict[str, Any] = {"PartitionKey": partition, "RowKey": digest}
            put_compressed_json(entity, "rows", sorted(keys))
            filings.upsert_entity(entity, mode=UpdateMode.REPLACE)

    def find(self, name: str, type: str | None, limit: int, cursor: str | None = None, *, namespace: str | None = None,
             keep: Callable[[PackageOccurrence], bool] | None = None) -> Page[PackageOccurrence]:
        """One key range per type (``type``, else every type filed), in type order."""
        types = [type] if type is not None else self._types()
        low, high = name_range(name, namespace)
        segments = [Segment(t, encode_key(t), low=low, high=high) for t in types]
        accept = (lambda e: keep(_from_entity(e))) if keep is not None else None
        rows, following = read_page(self._tables.table("packageoccurrences"), segments, cursor, limit, keep=accept,
                                    action="find packages")
        return Page(tuple(_from_entity(row) for row in rows), following)

    def _types(self) -> list[str]:
        with storage_errors("list package types"):
            return sorted(decode_key(e["RowKey"]) for e in self._tables.table("packageoccurrences").query_entities(
                "PartitionKey eq @pk", parameters={"pk": TYPES}, select=["RowKey"]))

    def purge_registry(self, registry: str) -> None:
        """Unfile every image of ``registry`` (found through its filings)."""
        low, high = registry_range(registry)
        with storage_errors("list package filings"):
            filed = [(e["PartitionKey"], e["RowKey"]) for e in self._tables.table("packagefilings").query_entities(
                "PartitionKey ge @low and PartitionKey lt @high", parameters={"low": low, "high": high},
                select=["PartitionKey", "RowKey"])]
        for partition, digest in filed:
            _, repository = decode_key(partition).split("/", 1)
            self.file(registry, repository, digest, [])
