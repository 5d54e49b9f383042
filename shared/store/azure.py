"""Clients for Azure Storage (tables and queues) with bounded retries, and error translation.

Every client built here gives up within a few seconds so that the webhook can answer Event Grid
well inside its 30-second window; failures surface as :class:`StorageUnavailable` (temporary).

All clients of a process share one HTTP session (:func:`shared_transport`): one connection pool per
storage endpoint, sized for :data:`POOL_CONNECTIONS` concurrent requests. The session does not consult
the environment on every request (``trust_env`` off, which costs a ``~/.netrc`` lookup and a scan of
the environment per call); the environment's proxy settings (``HTTP(S)_PROXY``, ``NO_PROXY``) and CA
bundle (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) are read once, when a client is built, and given
to it explicitly, so they are honoured as before.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import requests
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.queue import (
    ExponentialRetry,
    QueueClient,
    TextBase64DecodePolicy,
    TextBase64EncodePolicy,
)
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3.util.retry import Retry

from shared.errors import LookoutError, StorageUnavailable
from shared.settings import StorageConfig

_TABLE_OPTIONS: dict[str, Any] = {
    "retry_total": 2,
    "retry_backoff_factor": 0.2,
    "retry_backoff_max": 2,
}

CONNECT_TIMEOUT_S = 3
"""Seconds to open a connection to storage before the attempt counts as failed (and is retried)."""

READ_TIMEOUT_S = 5
"""Seconds to wait for storage's answer before the attempt counts as failed (and is retried)."""

POOL_CONNECTIONS = 64
"""Connections kept open per storage endpoint: the webhook's concurrent deliveries times their
concurrent enqueues rarely exceed it; beyond it a request opens a connection that is closed after."""

_session_lock = threading.Lock()
_session: requests.Session | None = None


def _shared_session() -> requests.Session:
    global _session
    with _session_lock:
        if _session is None:
            session = requests.Session()
            session.trust_env = False
            # The pipeline's retry policy retries; urllib3 must not (as azure-core's own transport sets it).
            adapter = HTTPAdapter(pool_connections=8, pool_maxsize=POOL_CONNECTIONS,
                                  max_retries=Retry(total=False, redirect=False, raise_on_status=False))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            _session = session
        return _session


def shared_transport(verify: bool | str = True) -> RequestsTransport:
    """A transport over the process's shared session (a client's ``close`` leaves the session open);
    ``verify``: check TLS certificates against the system's (True) or this CA bundle file."""
    return RequestsTransport(session=_shared_session(), session_owner=False, use_env_settings=False,
                             connection_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
                             connection_verify=verify)


def _network(endpoint: str) -> dict[str, Any]:
    """Client options for ``endpoint``: the shared transport (with the environment's CA bundle for an https
    endpoint: naming it for plain http would only cost a file lookup per request), and the environment's
    proxies for the endpoint, if any."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    verify = bundle if bundle and endpoint.lower().startswith("https:") else True
    options: dict[str, Any] = {"transport": shared_transport(verify)}
    proxies = get_environ_proxies(endpoint, no_proxy=None)
    if proxies:
        options["proxies"] = proxies
    return options


def _credential(config: StorageConfig) -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=config.managed_identity_client_id)


def table_service(config: StorageConfig) -> TableServiceClient:
    """A Table service client for the configured account (connection string or managed identity)."""
    credential = None if config.connection_string else _credential(config)

    def build(**network: Any) -> TableServiceClient:
        if config.connection_string:
            return TableServiceClient.from_connection_string(config.connection_string, **_TABLE_OPTIONS, **network)
        assert config.table_service_uri
        return TableServiceClient(endpoint=config.table_service_uri, credential=credential,
                                  **_TABLE_OPTIONS, **network)

    return _with_network(build)


def queue_client(config: StorageConfig, queue_name: str) -> QueueClient:
    """A queue client that base64-encodes and decodes message text, as the Functions host expects."""
    options: dict[str, Any] = {
        "message_encode_policy": TextBase64EncodePolicy(),
        "message_decode_policy": TextBase64DecodePolicy(),
        "retry_policy": ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=2, random_jitter_range=1),
    }
    credential = None if config.connection_string else _credential(config)

    def build(**network: Any) -> QueueClient:
        if config.connection_string:
            return QueueClient.from_connection_string(config.connection_string, queue_name, **options, **network)
        assert config.queue_service_uri
        return QueueClient(account_url=config.queue_service_uri, queue_name=queue_name,
                           credential=credential, **options, **network)

    return _with_network(build)


_Client = TypeVar("_Client", TableServiceClient, QueueClient)


def _with_network(build: Callable[..., _Client]) -> _Client:
    """``build(**network)`` with the network options of the endpoint it names (the endpoint of a connection
    string is known once the client has parsed it: the client is built again when its options differ)."""
    client = build(transport=shared_transport())
    network = _network(client.url)
    plain = "proxies" not in network and network["transport"].connection_config.verify is True
    return client if plain else build(**network)


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
