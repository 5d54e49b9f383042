"""Stored vulnerability reports, one per platform SBOM, and the reverse index that finds them again.

``<prefix>vulns``: PartitionKey the encoded ``registry/repository``, RowKey the platform manifest
digest; the report (findings, counts, snapshot) compressed. ``<prefix>pkgimages``: PartitionKey the
encoded ecosystem, RowKey ``<encoded name>!<encoded registry/repository@digest>`` — which stored
SBOMs name a package, so that an advisory update re-matches only those. One SBOM's rows fall in few
partitions (its ecosystems), so they are written in batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TransactionOperation, UpdateMode

from shared.images.model import PlatformRef
from shared.store.azure import Tables, storage_errors
from shared.store.batches import upsert_rows
from shared.store.image_records import platform_rows, registry_range, repository_partition
from shared.store.keys import decode_key, encode_key, get_compressed_json, put_compressed_json
from shared.vulns.packages import PackageKey


def encode_ref(ref: PlatformRef) -> str:
    """The key form of ``registry/repository@digest``."""
    return encode_key(f"{ref.registry}/{ref.repository}@{ref.digest}")


def decode_ref(value: str) -> PlatformRef:
    """The inverse of :func:`encode_ref`."""
    name, digest = decode_key(value).rsplit("@", 1)
    registry, repository = name.split("/", 1)
    return PlatformRef(registry, repository, digest)


def key_row(key: PackageKey, ref: PlatformRef) -> tuple[str, str]:
    """(PartitionKey, RowKey) of ``ref`` filed under ``key`` in the reverse index."""
    return encode_key(key.ecosystem), encode_key(key.name) + "!" + encode_ref(ref)


def key_range(key: PackageKey) -> tuple[str, str, str]:
    """(PartitionKey, lowest RowKey, RowKey bound) of every SBOM filed under ``key``.

    Encoded names hold only unreserved characters and ``%``, all above ``!`` and ``"``.
    """
    prefix = encode_key(key.name)
    return encode_key(key.ecosystem), prefix + "!", prefix + '"'


def _entity(ref: PlatformRef, report: dict[str, Any]) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": repository_partition(ref.registry, ref.repository), "RowKey": ref.digest,
                              "snapshot": report.get("snapshot", ""), "matched": report.get("matched", "")}
    put_compressed_json(entity, "report", report)
    return entity


def _report(entity: dict[str, Any]) -> dict[str, Any] | None:
    report = get_compressed_json(entity, "report")
    return report if isinstance(report, dict) else None


class ReportStore:
    """Vulnerability reports per platform SBOM and the package → SBOM reverse index."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def put(self, ref: PlatformRef, report: dict[str, Any], keys: Iterable[PackageKey] = ()) -> None:
        """Store the report of ``ref`` and file ``ref`` under ``keys`` (pass none when they are filed already)."""
        with storage_errors("save a vulnerability report"):
            self._tables.table("vulns").upsert_entity(_entity(ref, report), mode=UpdateMode.REPLACE)
        self._file(ref, keys, TransactionOperation.UPSERT)

    def put_many(self, reports: Sequence[tuple[PlatformRef, dict[str, Any]]]) -> None:
        """Store reports of SBOMs filed already: those of one repository together (a transaction per
        repository and per 100 reports or 3 MiB; each report is written whole or not at all)."""
        upsert_rows(self._tables.table("vulns"), [_entity(ref, report) for ref, report in reports],
                    "save vulnerability reports")

    def _file(self, ref: PlatformRef, keys: Iterable[PackageKey], operation: TransactionOperation) -> None:
        partitions: dict[str, list[str]] = {}
        for key in sorted(set(keys)):
            partition, row = key_row(key, ref)
            partitions.setdefault(partition, []).append(row)
        index = self._tables.table("pkgimages")
        with storage_errors("update the package index"):
            for partition, rows in partitions.items():
                for start in range(0, len(rows), 100):
                    index.submit_transaction([
                        (operation, {"PartitionKey": partition, "RowKey": row}) for row in rows[start : start + 100]])

    def get(self, ref: PlatformRef) -> dict[str, Any] | None:
        """The stored report of ``ref``, or None."""
        with storage_errors("read a vulnerability report"):
            try:
                entity = self._tables.table("vulns").get_entity(repository_partition(ref.registry, ref.repository),
                                                                 ref.digest)
            except ResourceNotFoundError:
                return None
        return _report(entity)

    def get_many(self, refs: Sequence[PlatformRef]) -> dict[PlatformRef, dict[str, Any]]:
        """The stored reports of ``refs`` (a query per repository and per few of its digests)."""
        found = ((ref, _report(entity))
                 for ref, entity in platform_rows(self._tables.table("vulns"), refs, "read vulnerability reports"))
        return {ref: report for ref, report in found if report is not None}

    def delete(self, ref: PlatformRef) -> None:
        """Forget the report of ``ref`` (its reverse-index rows are dropped lazily, when found stale)."""
        with storage_errors("delete a vulnerability report"):
            self._tables.table("vulns").delete_entity(repository_partition(ref.registry, ref.repository), ref.digest)

    def purge_registry(self, registry: str) -> None:
        """Delete every report of ``registry`` (reverse-index rows go lazily)."""
        low, high = registry_range(registry)
        table = self._tables.table("vulns")
        with storage_errors("purge vulnerability reports"):
            for entity in list(table.query_entities("PartitionKey ge @low and PartitionKey lt @high",
                                                    parameters={"low": low, "high": high},
                                                    select=["PartitionKey", "RowKey"])):
                table.delete_entity(entity["PartitionKey"], entity["RowKey"])

    def platforms_naming(self, keys: Iterable[PackageKey]) -> set[PlatformRef]:
        """Every stored SBOM filed under one of ``keys``."""
        index = self._tables.table("pkgimages")
        found: set[PlatformRef] = set()
        with storage_errors("read the package index"):
            for key in set(keys):
                partition, low, high = key_range(key)
                for entity in index.query_entities("PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                                                   parameters={"pk": partition, "low": low, "high": high},
                                                   select=["RowKey"]):
                    found.add(decode_ref(entity["RowKey"].split("!", 1)[1]))
        return found

    def forget(self, ref: PlatformRef, keys: Iterable[PackageKey]) -> None:
        """Drop ``ref`` from the reverse index under ``keys``."""
        index = self._tables.table("pkgimages")
        with storage_errors("update the package index"):
            for key in set(keys):
                index.delete_entity(*key_row(key, ref))
