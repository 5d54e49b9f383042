"""Stored SBOMs: one per platform image, in ``<prefix>sboms``.

PartitionKey is the encoded ``registry/repository``, RowKey the platform manifest digest (an
index's children each have their own). The value is :meth:`PlatformAnalysis.to_json`, compressed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.analysis.model import PlatformAnalysis
from shared.images.model import PlatformRef
from shared.store.azure import Tables, storage_errors
from shared.store.image_records import platform_rows, registry_range, repository_partition
from shared.store.keys import decode_key, get_compressed_json, put_compressed_json


def _analysis(entity: dict[str, Any]) -> PlatformAnalysis | None:
    value = get_compressed_json(entity, "sbom")
    return PlatformAnalysis.from_json(value) if isinstance(value, dict) else None


class SbomStore:
    """Platform SBOMs keyed by repository and platform manifest digest."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def put(self, registry: str, repository: str, analysis: PlatformAnalysis, analyzed: str) -> None:
        """Store (replace) the SBOM of platform image ``analysis.digest``; ValueTooLarge when it cannot fit."""
        entity: dict[str, Any] = {"PartitionKey": repository_partition(registry, repository), "RowKey": analysis.digest,
                                  "analyzed": analyzed, "packages": len(analysis.packages)}
        put_compressed_json(entity, "sbom", analysis.to_json())
        with storage_errors("save an SBOM"):
            self._tables.table("sboms").upsert_entity(entity, mode=UpdateMode.REPLACE)

    def get(self, registry: str, repository: str, digest: str) -> PlatformAnalysis | None:
        """The SBOM of platform image ``digest``, or None."""
        with storage_errors("read an SBOM"):
            try:
                entity = self._tables.table("sboms").get_entity(repository_partition(registry, repository), digest)
            except ResourceNotFoundError:
                return None
        return _analysis(entity)

    def get_many(self, refs: Sequence[PlatformRef]) -> dict[PlatformRef, PlatformAnalysis]:
        """The stored SBOMs of ``refs`` (a query per repository and per few of its digests)."""
        found = ((ref, _analysis(entity)) for ref, entity in platform_rows(self._tables.table("sboms"), refs, "read SBOMs"))
        return {ref: analysis for ref, analysis in found if analysis is not None}

    def delete(self, registry: str, repository: str, digest: str) -> None:
        """Forget the SBOM of ``digest`` (absent is fine)."""
        with storage_errors("delete an SBOM"):
            self._tables.table("sboms").delete_entity(repository_partition(registry, repository), digest)

    def all_platforms(self) -> list[PlatformRef]:
        """Every stored platform SBOM (a scan of keys only)."""
        with storage_errors("list SBOMs"):
            entities = list(self._tables.table("sboms").list_entities(select=["PartitionKey", "RowKey"]))
        refs = []
        for entity in entities:
            registry, repository = decode_key(entity["PartitionKey"]).split("/", 1)
            refs.append(PlatformRef(registry, repository, entity["RowKey"]))
        return refs

    def purge_registry(self, registry: str) -> None:
        """Delete every SBOM of ``registry``."""
        low, high = registry_range(registry)
        table = self._tables.table("sboms")
        with storage_errors("purge SBOMs"):
            for entity in list(table.query_entities("PartitionKey ge @low and PartitionKey lt @high",
                                                    parameters={"low": low, "high": high},
                                                    select=["PartitionKey", "RowKey"])):
                table.delete_entity(entity["PartitionKey"], entity["RowKey"])
