"""The end-to-end stack: ``lookout serve`` on its own Azurite, with an integration for the session's registry.

One stack serves every end-to-end module that asks for ``stack`` (package scope).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from shared.secrets import generate_key
from shared.settings import load
from shared.wiring import build_services
from testkit.azurite import Azurite
from testkit.localhost import ServedApp
from testkit.registry import RegistryServer
from testkit.stack import Stack


@pytest.fixture(scope="package")
def stack(registry: RegistryServer) -> Iterator[Stack]:
    storage = Azurite()
    storage.start()
    settings = {
        "AzureWebJobsStorage": storage.connection_string,
        "LOOKOUT_ENCRYPTION_KEY": generate_key(),
        "LOOKOUT_TABLE_PREFIX": "e2e",
    }
    app = ServedApp(settings)
    app.settings["LOOKOUT_PUBLIC_URL"] = app.url
    app.start()
    http = requests.Session()
    try:
        created = http.post(f"{app.url}/api/integrations", timeout=30, json={
            "registry": registry.host, "username": registry.readonly.username,
            "password": registry.readonly.password, "insecure": True})
        assert created.status_code == 201, created.text + app.log_tail()
        svc = build_services(load({**settings, "LOOKOUT_PUBLIC_URL": app.url}, None))
        yield Stack(app, storage, registry, http, svc, created.json())
    finally:
        exit_code = app.stop()
        app.close()
        storage.close()
    assert exit_code == 0


