"""Storage clients on Azurite: the environment's proxy settings, read once when a client is built, are honoured."""

from __future__ import annotations

import uuid

import pytest
from azure.core.exceptions import AzureError

from shared.store.azure import queue_client, table_service
from shared.wiring import Services
from testkit.processes import free_port


@pytest.mark.parametrize("bypass", [False, True])
def test_a_proxy_in_the_environment_is_used_unless_no_proxy_names_the_host(
        svc: Services, monkeypatch: pytest.MonkeyPatch, bypass: bool) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: a request through it fails
    monkeypatch.setenv("HTTP_PROXY", dead)
    monkeypatch.setenv("HTTPS_PROXY", dead)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost" if bypass else "example.invalid")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    queue = queue_client(svc.settings.storage, f"proxy-{uuid.uuid4().hex[:8]}")
    tables = table_service(svc.settings.storage)
    if bypass:
        queue.create_queue()
        tables.create_table_if_not_exists("proxybypass")
    else:
        with pytest.raises(AzureError):
            queue.create_queue()
        with pytest.raises(AzureError):
            tables.create_table_if_not_exists("proxyused")
