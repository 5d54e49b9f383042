"""Table storage of integrations and of their repositories' activation.

The webhook reads both on every delivery, so it reads them through a view with cached reads
(:meth:`IntegrationStore.with_cached_reads`, :meth:`RepositorySettings.with_cached_reads`): ``get`` and
``is_enabled`` answer from a :class:`~shared.store.lookup_cache.LookupCache` that the view shares with
the store it came from. Every write through either forgets what it changes, so this process sees its
own changes at once and another process's within :data:`~shared.store.lookup_cache.LOOKUP_TTL_S`
seconds. Everything else (the API, the worker, listings) reads storage every time.
"""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.integrations.model import Integration
from shared.store.azure import Tables, storage_errors
from shared.store.keys import decode_key, encode_key
from shared.store.lookup_cache import LOOKUP_TTL_S, LookupCache

_PARTITION = "integration"
_FIELDS = {f.name for f in fields(Integration)}


def _to_entity(integration: Integration) -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": _PARTITION, "RowKey": integration.id}
    entity.update({k: v for k, v in asdict(integration).items() if k != "id" and v is not None})
    return entity


def _from_entity(entity: dict[str, Any]) -> Integration:
    values = {k: v for k, v in entity.items() if k in _FIELDS}
    values["id"] = entity["RowKey"]
    return Integration(**values)


class IntegrationStore:
    """Integrations keyed by id, in table ``<prefix>integrations``."""

    def __init__(self, tables: Tables, lookup_ttl: float = LOOKUP_TTL_S, *,
                 _recent: LookupCache[str, Integration | None] | None = None) -> None:
        self._tables = tables
        self._lookup_ttl = lookup_ttl
        self._recent: LookupCache[str, Integration | None] = _recent or LookupCache(lookup_ttl)
        self._cached_reads = _recent is not None

    def with_cached_reads(self) -> IntegrationStore:
        """This store, with ``get`` answered from the lookup cache for up to ``lookup_ttl`` seconds."""
        return IntegrationStore(self._tables, self._lookup_ttl, _recent=self._recent)

    def get(self, integration_id: str) -> Integration | None:
        """The integration, or None when there is none with that id (from a view with cached reads: possibly as
        read up to the lookup TTL ago, when another process changed it since)."""
        if not integration_id or len(integration_id) > 64 or not integration_id.isalnum():
            return None
        if not self._cached_reads:
            return self._read(integration_id)
        return self._recent.get(integration_id, lambda: self._read(integration_id))

    def _read(self, integration_id: str) -> Integration | None:
        with storage_errors("read an integration"):
            try:
                return _from_entity(self._tables.table("integrations").get_entity(_PARTITION, integration_id))
            except ResourceNotFoundError:
                return None

    def list(self) -> list[Integration]:
        """Every integration, ordered by creation time."""
        with storage_errors("list integrations"):
            entities = list(self._tables.table("integrations").query_entities(f"PartitionKey eq '{_PARTITION}'"))
        return sorted((_from_entity(e) for e in entities), key=lambda i: (i.created, i.id))

    def put(self, integration: Integration) -> None:
        """Create or replace the integration (replace, so fields set to None are removed)."""
        try:
            with storage_errors("save an integration"):
                self._tables.table("integrations").upsert_entity(_to_entity(integration), mode=UpdateMode.REPLACE)
        finally:
            self._recent.forget(integration.id)

    def touch_last_event(self, integration_id: str, when: str) -> None:
        """Record that a delivery arrived for the integration (a merge of one property); nothing when the
        integration was removed meanwhile (a merge never recreates it)."""
        with storage_errors("record the last event time"):
            try:
                self._tables.table("integrations").update_entity(
                    {"PartitionKey": _PARTITION, "RowKey": integration_id, "last_event": when}, mode=UpdateMode.MERGE
                )
            except ResourceNotFoundError:
                return
        self._recent.update(integration_id, lambda kept: kept and replace(kept, last_event=when))

    def delete(self, integration_id: str) -> None:
        """Remove the integration; removing one that does not exist is not an error."""
        try:
            with storage_errors("delete an integration"):
                self._tables.table("integrations").delete_entity(_PARTITION, integration_id)
        finally:
            self._recent.forget(integration_id)


class RepositorySettings:
    """Which repositories of an integration are activated, in table ``<prefix>repositories``."""

    def __init__(self, tables: Tables, lookup_ttl: float = LOOKUP_TTL_S, *,
                 _recent: LookupCache[tuple[str, str], bool] | None = None) -> None:
        self._tables = tables
        self._lookup_ttl = lookup_ttl
        self._recent: LookupCache[tuple[str, str], bool] = _recent or LookupCache(lookup_ttl)
        self._cached_reads = _recent is not None

    def with_cached_reads(self) -> RepositorySettings:
        """These settings, with ``is_enabled`` answered from the lookup cache for up to ``lookup_ttl`` seconds."""
        return RepositorySettings(self._tables, self._lookup_ttl, _recent=self._recent)

    def set_enabled(self, integration_id: str, repository: str, enabled: bool, when: str) -> None:
        """Activate or deactivate analysis of ``repository`` for the integration."""
        entity = {
            "PartitionKey": integration_id,
            "RowKey": encode_key(repository),
            "repository": repository,
            "enabled": enabled,
            "updated": when,
        }
        try:
            with storage_errors("save a repository setting"):
                self._tables.table("repositories").upsert_entity(entity, mode=UpdateMode.REPLACE)
        finally:
            self._recent.forget((integration_id, repository))

    def is_enabled(self, integration_id: str, repository: str) -> bool:
        """Whether pushes to ``repository`` are analyzed (from a view with cached reads: possibly as read up to
        the lookup TTL ago, when another process changed it since)."""
        if not self._cached_reads:
            return self._read(integration_id, repository)
        return self._recent.get((integration_id, repository), lambda: self._read(integration_id, repository))

    def _read(self, integration_id: str, repository: str) -> bool:
        with storage_errors("read a repository setting"):
            try:
                entity = self._tables.table("repositories").get_entity(integration_id, encode_key(repository))
            except ResourceNotFoundError:
                return False
        return bool(entity.get("enabled"))

    def enabled_repositories(self, integration_id: str) -> dict[str, bool]:
        """Every repository with a setting for the integration, mapped to whether it is activated."""
        with storage_errors("list repository settings"):
            entities = self._tables.table("repositories").query_entities(
                "PartitionKey eq @pk", parameters={"pk": integration_id}
            )
            return {decode_key(e["RowKey"]): bool(e.get("enabled")) for e in entities}

    def delete_all(self, integration_id: str) -> None:
        """Remove every repository setting of the integration."""
        table = self._tables.table("repositories")
        try:
            with storage_errors("delete repository settings"):
                for entity in list(table.query_entities("PartitionKey eq @pk", parameters={"pk": integration_id})):
                    table.delete_entity(entity["PartitionKey"], entity["RowKey"])
        finally:
            self._recent.forget_where(lambda key: key[0] == integration_id)
