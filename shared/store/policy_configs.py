"""Table storage of policy configurations and of the high-profile list: a :class:`~shared.records.PolicyConfigs`.

Table ``<prefix>policyconfigs``:

- PartitionKey the encoded integration id, RowKey ``*`` (encoded) for the integration's own
  configuration, else the encoded repository name; ``config`` the validated document as JSON
  (:meth:`~shared.policy.config.PolicyConfig.to_json`), ``updated`` when it was set;
- PartitionKey ``~high-profile``, RowKey ``list``: the imported list, zlib-compressed JSON
  (:func:`~shared.store.keys.put_compressed_json`), with ``source``, ``imported`` and ``count``.
  Integration ids are percent-encoded and never start with ``~``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode

from shared.policy.config import PolicyConfig, config_from_document
from shared.policy.highprofile import HighProfileList
from shared.store.azure import Tables, storage_errors
from shared.store.batches import delete_rows
from shared.store.keys import decode_key, encode_key, get_compressed_json, get_json, put_compressed_json, put_json

_INTEGRATION_ROW = encode_key("*")
_HIGH_PROFILE = ("~high-profile", "list")


def _row(repository: str | None) -> str:
    return _INTEGRATION_ROW if repository is None else encode_key(repository)


class PolicyConfigStore:
    """Policy configurations and the high-profile list."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def get(self, integration_id: str, repository: str | None) -> PolicyConfig | None:
        """The configuration of the integration (``repository`` None) or of one of its repositories, or None."""
        with storage_errors("read a policy configuration"):
            try:
                entity = self._tables.table("policyconfigs").get_entity(encode_key(integration_id), _row(repository))
            except ResourceNotFoundError:
                return None
        return config_from_document(get_json(entity, "config"))

    def put(self, integration_id: str, repository: str | None, config: PolicyConfig, when: str) -> None:
        """Store (replace) a configuration."""
        entity: dict[str, Any] = {"PartitionKey": encode_key(integration_id), "RowKey": _row(repository),
                                  "updated": when}
        put_json(entity, "config", config.to_json())
        with storage_errors("save a policy configuration"):
            self._tables.table("policyconfigs").upsert_entity(entity, mode=UpdateMode.REPLACE)

    def delete(self, integration_id: str, repository: str | None) -> None:
        """Remove a configuration (no error when there is none)."""
        with storage_errors("delete a policy configuration"), contextlib.suppress(ResourceNotFoundError):
            self._tables.table("policyconfigs").delete_entity(encode_key(integration_id), _row(repository))

    def purge_integration(self, integration_id: str) -> int:
        """Remove every configuration of the integration (its own and its repositories'); how many.

        The high-profile list is in a partition of its own and stays.
        """
        table = self._tables.table("policyconfigs")
        with storage_errors("read policy configurations"):
            keys = [(e["PartitionKey"], e["RowKey"]) for e in table.query_entities(
                "PartitionKey eq @pk", parameters={"pk": encode_key(integration_id)}, select=["PartitionKey", "RowKey"])]
        delete_rows(table, keys, "delete policy configurations")
        return len(keys)

    def list(self, integration_id: str) -> dict[str | None, PolicyConfig]:
        """Every configuration of the integration: its own under None, each repository's under its name."""
        with storage_errors("read policy configurations"):
            entities = list(self._tables.table("policyconfigs").query_entities(
                "PartitionKey eq @pk", parameters={"pk": encode_key(integration_id)}))
        return {None if e["RowKey"] == _INTEGRATION_ROW else decode_key(e["RowKey"]):
                config_from_document(get_json(e, "config")) for e in entities}

    def high_profile(self) -> HighProfileList | None:
        """The imported high-profile list, or None."""
        with storage_errors("read the high-profile list"):
            try:
                entity = self._tables.table("policyconfigs").get_entity(*_HIGH_PROFILE)
            except ResourceNotFoundError:
                return None
        ids = get_compressed_json(entity, "ids", [])
        return HighProfileList(ids=tuple(str(i) for i in ids or ()), source=str(entity.get("source", "")),
                               imported=str(entity.get("imported", "")))

    def set_high_profile(self, value: HighProfileList) -> None:
        """Replace the high-profile list (one entity: the old list or the new one, never a mix)."""
        entity: dict[str, Any] = {"PartitionKey": _HIGH_PROFILE[0], "RowKey": _HIGH_PROFILE[1],
                                  "source": value.source[:1024], "imported": value.imported, "count": len(value.ids)}
        put_compressed_json(entity, "ids", list(value.ids))
        with storage_errors("save the high-profile list"):
            self._tables.table("policyconfigs").upsert_entity(entity, mode=UpdateMode.REPLACE)
