"""Table storage of policy results: a :class:`~shared.records.PolicyResults`.

Table ``<prefix>policyresults``: PartitionKey the encoded ``registry/repository`` (as the image records),
RowKey the image's manifest digest; ``current`` and ``previous`` hold evaluations as JSON
(:func:`~shared.store.keys.put_json`; each is bounded: at most six policies of at most
:data:`~shared.policy.model.MAX_REASONS` reasons). A write replaces the row only if unchanged since read,
so that two evaluations of one image at once cannot lose the previous result.
"""

from __future__ import annotations

import contextlib
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from shared.policy.model import PolicyEvaluation, StoredPolicies
from shared.store.azure import Tables, storage_errors
from shared.store.conditional import attempts, etag_of, put_unless_changed
from shared.store.image_records import registry_range, repository_partition
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

    def put(self, registry: str, repository: str, digest: str, evaluation: PolicyEvaluation) -> PolicyEvaluation | None:
        """Store ``evaluation`` as current (see :meth:`shared.records.PolicyResults.put`); the one it replaces."""
        table = self._tables.table("policyresults")
        for _ in attempts("save policy results"):
            existing = self._read(registry, repository, digest)
            current = get_json(existing, "current") if existing is not None else None
            before = PolicyEvaluation.from_json(current) if current else None
            previous = get_json(existing, "previous") if existing is not None else None
            if before is not None and not evaluation.same_results(before):
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
