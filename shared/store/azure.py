"""Clients for Azure Storage (tables and queues) with bounded retries, and error translation.

Every client built here gives up within a few seconds so that the webhook can answer Event Grid
well inside its 30-second window; failures surface as :class:`StorageUnavailable` (temporary).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.queue import (
    ExponentialRetry,
    QueueClient,
    TextBase64DecodePolicy,
    TextBase64EncodePolicy,
)

from shared.errors import LookoutError, StorageUnavailable
from shared.settings import StorageConfig

_TABLE_OPTIONS: dict[str, Any] = {
    "retry_total": 2,
    "retry_backoff_factor": 0.2,
    "retry_backoff_max": 2,
    "connection_timeout": 3,
    "read_timeout": 5,
}
_QUEUE_OPTIONS: dict[str, Any] = {"connection_timeout": 3, "read_timeout": 5}


def _credential(config: StorageConfig) -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=config.managed_identity_client_id)


def table_service(config: StorageConfig) -> TableServiceClient:
    """A Table service client for the configured account (connection string or managed identity)."""
    if config.connection_string:
        return TableServiceClient.from_connection_string(config.connection_string, **_TABLE_OPTIONS)
    assert config.table_service_uri
    return TableServiceClient(endpoint=config.table_service_uri, credential=_credential(config), **_TABLE_OPTIONS)


def queue_client(config: StorageConfig, queue_name: str) -> QueueClient:
    """A queue client that base64-encodes and decodes message text, as the Functions host expects."""
    options: dict[str, Any] = {
        **_QUEUE_OPTIONS,
        "message_encode_policy": TextBase64EncodePolicy(),
        "message_decode_policy": TextBase64DecodePolicy(),
        "retry_policy": ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=2, random_jitter_range=1),
    }
    if config.connection_string:
        return QueueClient.from_connection_string(config.connection_string, queue_name, **options)
    assert config.queue_service_uri
    return QueueClient(account_url=config.queue_service_uri, queue_name=queue_name, credential=_credential(config), **options)


def is_temporary(exc: AzureError) -> bool:
    """Whether a storage failure may succeed when retried (connection trouble, 408, 429, 5xx)."""
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return True
    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 0
        return status in (408, 429) or status >= 500
    return True


@contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Translate Azure SDK failures inside the block into Lookout errors naming ``action``.

    Temporary failures become :class:`StorageUnavailable`; a permanent rejection (a 4xx other than
    those the caller handles itself) becomes a permanent :class:`LookoutError` with code
    ``storage-rejected``. Callers catch ``ResourceNotFoundError``/``ResourceExistsError`` inside the
    block when those are expected outcomes.
    """
    try:
        yield
    except AzureError as exc:
        summary = type(exc).__name__
        if isinstance(exc, HttpResponseError) and exc.status_code:
            summary = f"HTTP {exc.status_code} {exc.reason or ''}".strip()
        if is_temporary(exc):
            raise StorageUnavailable(f"storage unavailable while trying to {action}: {summary}") from exc
        raise LookoutError(f"storage rejected the request to {action}: {summary}", code="storage-rejected") from exc


class Tables:
    """The tables Lookout owns, named ``<prefix><name>``, created on first use."""

    def __init__(self, config: StorageConfig, prefix: str) -> None:
        self._service = table_service(config)
        self._prefix = prefix
        self._ready: dict[str, TableClient] = {}

    def table(self, name: str) -> TableClient:
        """The client of table ``<prefix><name>``, creating the table the first time it is asked for."""
        client = self._ready.get(name)
        if client is None:
            full = f"{self._prefix}{name}"
            with storage_errors(f"create table {full}"):
                self._service.create_table_if_not_exists(full)
            client = self._service.get_table_client(full)
            self._ready[name] = client
        return client
