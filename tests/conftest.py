"""Session-wide real services and data: one Azurite, one token-authenticated registry, the real advisories."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from azure.core.exceptions import ResourceExistsError

from shared.intake.jobs import JOBS_QUEUE
from shared.secrets import generate_key
from shared.store.azure import queue_client
from shared.vulns.feeds import DirectoryFeed
from shared.vulns.index import ImportResult, MemoryIndex
from shared.vulns.model import Advisory
from shared.wiring import Services, services
from testkit.azurite import Azurite
from testkit.registry import registry  # noqa: F401 - the session's real registry, for every test
from tests.vulns.support import GO, PYPA


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


@pytest.fixture(scope="session")
def pypa_records() -> list[Advisory]:
    """Every PyPA record (the test fails if one does not parse)."""
    items = list(DirectoryFeed(PYPA).read())
    assert len(items) > 2000
    assert all(isinstance(item, Advisory) for item in items), [i for i in items if not isinstance(i, Advisory)][:3]
    return [item for item in items if isinstance(item, Advisory)]


@pytest.fixture(scope="session")
def go_records() -> list[Advisory]:
    """Every Go vulnerability database record."""
    items = list(DirectoryFeed(GO).read())
    assert len(items) > 4000
    assert all(isinstance(item, Advisory) for item in items)
    return [item for item in items if isinstance(item, Advisory)]


@pytest.fixture(scope="session")
def real_index(pypa_records: list[Advisory], go_records: list[Advisory]) -> tuple[MemoryIndex, ImportResult]:
    """An index holding the PyPA and Go records (do not import into it: it is shared)."""
    index = MemoryIndex()
    result = index.import_records([*pypa_records, *go_records])
    return index, result
