"""The served apps the fault probes drive, each on its own Azurite (package scope).

- ``intake``: ``lookout serve`` with only its HTTP functions (the queue worker and the timers are
  disabled through ``AzureWebJobs.<name>.Disabled``), so every job a delivery queues stays on the
  queue to be counted; its integration (for ``demo.azurecr.io``, as the Event Grid samples) is
  written straight to its tables.
- ``stack``: the whole app, worker included, with an integration for the session's registry made
  through the API (:func:`testkit.stack.running_stack`); its Azurite can be stopped and started.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from azure.core.exceptions import ResourceExistsError

from shared.clock import utc_now
from shared.intake.jobs import JOBS_QUEUE
from shared.integrations.model import Integration
from shared.secrets import generate_key, new_webhook_secret
from shared.settings import load
from shared.store.azure import queue_client
from shared.wiring import Services, build_services
from testkit.azurite import Azurite
from testkit.localhost import ServedApp
from testkit.registry import RegistryServer
from testkit.stack import Stack, running_stack
from tests.faults.deliveries import ACTIVATED, REGISTRY

NOT_HTTP = ("analyze", "reconcile", "housekeeping", "advisories_refresh")


@dataclass
class Intake:
    """The webhook alone, served: its URL, integration and secret, and the services to look at its storage."""

    app: ServedApp
    svc: Services
    integration: Integration
    secret: str
    http: requests.Session

    @property
    def url(self) -> str:
        return f"{self.app.url}/api/events"

    @property
    def params(self) -> dict[str, str]:
        """The query parameters Event Grid sends with every delivery."""
        return {"integration": self.integration.id, "secret": self.secret}

    def clear_jobs(self) -> None:
        queue_client(self.svc.settings.storage, JOBS_QUEUE).clear_messages()


@pytest.fixture(scope="package")
def intake() -> Iterator[Intake]:
    storage = Azurite()
    storage.start()
    settings = {
        "AzureWebJobsStorage": storage.connection_string,
        "LOOKOUT_ENCRYPTION_KEY": generate_key(),
        "LOOKOUT_TABLE_PREFIX": "intake",
        **{f"AzureWebJobs.{name}.Disabled": "true" for name in NOT_HTTP},
    }
    app = ServedApp(settings)
    app.settings["LOOKOUT_PUBLIC_URL"] = app.url
    http = requests.Session()
    try:
        svc = build_services(load({**settings, "LOOKOUT_PUBLIC_URL": app.url}, None))
        secret = new_webhook_secret()
        integration = Integration(id=uuid.uuid4().hex[:16], registry=REGISTRY, created=utc_now(),
                                  webhook_secret_encrypted=svc.box.encrypt(secret), status="connected", enabled=True)
        svc.integrations.put(integration)
        for repository in ACTIVATED:
            svc.repositories.set_enabled(integration.id, repository, True, utc_now())
        with contextlib.suppress(ResourceExistsError):
            queue_client(svc.settings.storage, JOBS_QUEUE).create_queue()
        app.start()
        yield Intake(app, svc, integration, secret, http)
    finally:
        http.close()
        exit_code = app.stop()
        app.close()
        storage.close()
    assert exit_code == 0


@pytest.fixture(scope="package")
def stack(registry: RegistryServer) -> Iterator[Stack]:
    with running_stack(registry, "faults", assert_clean_exit=True) as started:
        yield started
