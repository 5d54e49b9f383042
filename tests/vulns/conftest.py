"""Shared fixtures of the vulnerability tests: the real PyPA and Go advisories, loaded once."""

from __future__ import annotations

import pytest

from shared.vulns.feeds import DirectoryFeed
from shared.vulns.index import ImportResult, MemoryIndex
from shared.vulns.model import Advisory
from tests.vulns.support import GO, PYPA


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
