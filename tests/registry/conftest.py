"""Fixtures of the registry client tests: the real registry, scripted stand-ins, a fast retry policy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.registry import RetryPolicy
from testkit.standin import RecordedSleeps, StandIn, TLSFiles


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def fast_retry(sleeps: RecordedSleeps) -> RetryPolicy:
    """Three attempts, deterministic backoff of 0.01 s, 0.02 s..., recorded instead of slept."""
    return RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=5, jitter=False, sleep=sleeps)


@pytest.fixture
def standin() -> Iterator[Callable[..., StandIn]]:
    """A factory of :class:`StandIn` servers, closed after the test."""
    servers: list[StandIn] = []

    def make(host: str = "127.0.0.1", *, tls: TLSFiles | None = None) -> StandIn:
        server = StandIn(host, tls=tls)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return TLSFiles.create(Path(tmp_path_factory.mktemp("tls")))
