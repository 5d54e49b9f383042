"""Analysis leases in Table storage: one worker at a time analyzes an image (an :class:`~shared.records.AnalysisLeases`).

Table ``<prefix>leases``: PartitionKey the encoded ``registry/repository``, RowKey the manifest digest;
``holder`` (the queue message that analyzes it) and ``until`` (canonical UTC time). Taking a lease is
an atomic insert, or a conditional replace of an expired lease or of the holder's own. A lease row
exists only while an analysis runs, or after its worker died (until it is taken over).
"""

from __future__ import annotations

from dataclasses import dataclass

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.store.azure import Tables, storage_errors
from shared.store.image_records import repository_partition


@dataclass(frozen=True)
class AnalysisLease:
    """A lease as stored: the queue message id that holds it and when it runs out (canonical UTC time)."""

    holder: str
    until: str


class LeaseStore:
    """Leases on image analyses, by repository and manifest digest."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def current(self, registry: str, repository: str, digest: str) -> AnalysisLease | None:
        """The image's lease row, expired or not; ``None`` when there is none (for operators and tests)."""
        with storage_errors("read an analysis lease"):
            try:
                entity = self._tables.table("leases").get_entity(repository_partition(registry, repository), digest)
            except ResourceNotFoundError:
                return None
        return AnalysisLease(holder=str(entity.get("holder", "")), until=str(entity.get("until", "")))

    def acquire(self, registry: str, repository: str, digest: str, holder: str, now: str, until: str) -> bool:
        """Take the lease of the image for ``holder`` until ``until``; False while another holder's lease runs."""
        table = self._tables.table("leases")
        entity = {"PartitionKey": repository_partition(registry, repository), "RowKey": digest, "holder": holder,
                  "until": until}
        with storage_errors("take an analysis lease"):
            for _ in range(2):
                try:
                    table.create_entity(entity)
                    return True
                except ResourceExistsError:
                    pass
                try:
                    current = table.get_entity(entity["PartitionKey"], digest)
                except ResourceNotFoundError:
                    continue  # released meanwhile: try the insert once more
                if current.get("holder") != holder and str(current.get("until", "")) > now:
                    return False
                try:
                    table.update_entity(entity, mode=UpdateMode.REPLACE, etag=current.metadata["etag"],
                                        match_condition=MatchConditions.IfNotModified)
                    return True
                except HttpResponseError:
                    return False  # another worker took it over first
        return False

    def release(self, registry: str, repository: str, digest: str, holder: str) -> None:
        """Give the lease up if ``holder`` still holds it (no error when it does not)."""
        table = self._tables.table("leases")
        partition = repository_partition(registry, repository)
        with storage_errors("release an analysis lease"):
            try:
                current = table.get_entity(partition, digest)
            except ResourceNotFoundError:
                return
            if current.get("holder") != holder:
                return
            try:
                table.delete_entity(partition, digest, etag=current.metadata["etag"],
                                    match_condition=MatchConditions.IfNotModified)
            except (HttpResponseError, ResourceNotFoundError):
                return
