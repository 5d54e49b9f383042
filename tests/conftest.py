"""Session-wide real services: one Azurite, one token-authenticated registry, shared by all tests."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from azure.core.exceptions import ResourceExistsError

from shared.jobs import JOBS_QUEUE
from shared.secrets import generate_key
from shared.services import Services, services
from shared.store.azure import queue_client
from tests.support.azurite import Azurite
from tests.support.registry import registry  # noqa: F401 - the session's real registry, for every test


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A running Azurite on free loopback ports, with its data in a temporary directory."""
    service = Azurite()
    service.start()
    try:
        yield service
    finally:
        service.close()


@pytest.fixture
def svc(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """The app's services on Azurite, configured through the environment as the app reads it.

    Each test gets its own table prefix; the jobs queue (one name for the whole app) is emptied.
    """
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.setenv("LOOKOUT_TABLE_PREFIX", "t" + uuid.uuid4().hex[:12])
    monkeypatch.setenv("LOOKOUT_ENCRYPTION_KEY", generate_key())
    monkeypatch.setenv("LOOKOUT_PUBLIC_URL", "http://lookout.test")
    services.cache_clear()
    current = services()
    jobs = queue_client(current.settings.storage, JOBS_QUEUE)
    with contextlib.suppress(ResourceExistsError):
        jobs.create_queue()
    jobs.clear_messages()
    try:
        yield current
    finally:
        services.cache_clear()

