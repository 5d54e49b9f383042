"""Session-wide real services: one Azurite, one token-authenticated registry, shared by all tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.azurite import Azurite


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """A running Azurite on free loopback ports, with its data in a temporary directory."""
    service = Azurite()
    service.start()
    try:
        yield service
    finally:
        service.close()
