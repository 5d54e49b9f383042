"""The end-to-end stack: ``lookout serve`` on its own Azurite, with an integration for the session's registry.

One stack serves every end-to-end module that asks for ``stack`` (package scope).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.registry import RegistryServer
from testkit.stack import Stack, running_stack


@pytest.fixture(scope="package")
def stack(registry: RegistryServer) -> Iterator[Stack]:
    with running_stack(registry, "e2e", assert_clean_exit=True) as started:
        yield started
