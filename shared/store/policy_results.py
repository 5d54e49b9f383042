"""Table storage of policy results: a :class:`~shared.records.PolicyResults`.

Table ``<prefix>policyresults``: PartitionKey the encoded ``registry/repository`` (as the image records),
RowKey the image's manifest digest; ``current`` and ``previous`` hold evaluations as JSON
(:func:`~shared.store.keys.put_json`; each is bounded: at most six policies of at most
:data:`~shared.policy.model.MAX_REASONS` reasons). A write replaces the row only if unchanged since read,
so that two evaluations of one image at once cannot lose the previous result.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from shared.images.model import PlatformRef
from shared.policy.model import PolicyEvaluation, StoredPolicies
from shared.store.azure import Tables, storage_errors
from shared.store.conditional import attempts, etag_of, put_unless_changed
from shared.store.image_records import platform_rows, registry_range, repository_partition
from shared.store.keys import get_json, put_json


class PolicyResultStore:
    """Policy results, one row per image."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def _read(self, registry: str, repository: str, digest: str) -> dict[str, Any] | None:
        with storage_errors("read policy results"):
            try:
                entity: dict[str, Any] = self._tables.table("policyresults").get_entity(
                    repository_partition(registry, repository), digest)
                return entity  # keeps the ETag in its metadata
            except ResourceNotFoundError:
                return None

    def get(self, registry: str, repository: str, digest: str) -> StoredPolicies | None:
        """What is stored of the image's policies, or None."""
        entity = self._read(registry, repository, digest)
        if entity is None:
            return None
        previous = get_json(entity, "previous")
        return StoredPolicies(PolicyEvaluation.from_json(get_json(entity, "current", {})),
                              PolicyEvaluation.from_json(previous) if previous else None)

    def current_of(self, images: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], PolicyEvaluation]:
        """The current evaluations of ``images`` (a query per repository and per few of its digests)."""
        found: dict[tuple[str, str, str], PolicyEvaluation] = {}
        rows = platform_rows(self._tables.table("policyresults"), [PlatformRef(*image) for image in images],
                             "read policy results")
        for ref, entity in rows:
            current = get_json(entity, "current")
            if current:
                found[(ref.registry, ref.repository, ref.digest)] = PolicyEvaluation.from_json(current)
        return found

    def put(self, registry: str, repository: str, digest: str, evaluation: PolicyEvaluation) -> PolicyEvaluation | None:
        """Store ``evaluation`` as current (see :meth:`shared.records.PolicyResults.put`); the one it replaces."""
        table = self._tables.table("policyresults")
        for _ in attempts("save policy results"):
            existing = self._read(registry, repository, digest)
            current = get_json(existing, "current") if existing is not None else None
            before = PolicyEvaluation.from_json(current) if current else None
            if before is not None and evaluation.same_results(before):
                return before
            previous = get_json(existing, "previous") if existing is not None else None
            if before is not None:
                previous = before.to_json()
            entity: dict[str, Any] = {"PartitionKey": repository_partition(registry, repository), "RowKey": digest,
                                      "evaluated": evaluation.evaluated}
            put_json(entity, "current", evaluation.to_json())
            if previous:
                put_json(entity, "previous", previous)
            if put_unless_changed(table, entity, etag_of(existing) if existing is not None else None,
                                  "save policy results"):
                return before
        raise AssertionError("unreachable: attempts() raises when they run out")

    def delete(self, registry: str, repository: str, digest: str) -> None:
        """Remove the image's results (no error when there are none)."""
        with storage_errors("delete policy results"), contextlib.suppress(ResourceNotFoundError):
            self._tables.table("policyresults").delete_entity(repository_partition(registry, repository), digest)

    def purge_registry(self, registry: str) -> None:
        """Remove the results of every image of ``registry``."""
        low, high = registry_range(registry)
        table = self._tables.table("policyresults")
        with storage_errors("purge policy results"):
            for entity in list(table.query_entities("PartitionKey ge @low and PartitionKey lt @high",
                                                    parameters={"low": low, "high": high},
                                                    select=["PartitionKey", "RowKey"])):
                table.delete_entity(entity["PartitionKey"], entity["RowKey"])
