"""The running app as an end-to-end test drives it: start it on its own Azurite with an integration for a
registry, post events, read images, activate repositories, run the ``lookout`` CLI next to it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests

from shared.intake.jobs import JOBS_QUEUE
from shared.secrets import generate_key
from shared.settings import load
from shared.store.azure import queue_client
from shared.wiring import Services, build_services
from testkit.azurite import Azurite
from testkit.localhost import PROJECT_ROOT, ServedApp
from testkit.processes import wait_until
from testkit.registry import RegistryServer


@dataclass
class Stack:
    """A served app, its storage, the registry it has an integration for (``integration``, as the API created it).

    ``registry_host`` is the host the integration names when it is not the registry's own (a proxy in
    front of it); :attr:`host` is the one the app knows the registry by.
    """

    app: ServedApp
    storage: Azurite
    registry: RegistryServer
    http: requests.Session
    svc: Services
    integration: dict[str, Any]
    registry_host: str = ""

    @property
    def host(self) -> str:
        """The registry's host as the integration names it (in events, records and API queries)."""
        return self.registry_host or self.registry.host

    def post_events(self, events: list[dict[str, Any]], timeout: float = 30) -> requests.Response:
        return self.http.post(self.integration["webhook_url"], json=events,
                              headers={"aeg-event-type": "Notification"}, timeout=timeout)

    def image(self, repository: str, reference: str) -> requests.Response:
        return self.http.get(f"{self.app.url}/api/images", timeout=10,
                             params={"registry": self.host, "repository": repository, "reference": reference})

    def wait_for_image(self, repository: str, reference: str, status: str = "analyzed") -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            response = self.image(repository, reference)
            if response.status_code == 200 and response.json()["status"] == status:
                return dict(response.json())
            return None

        try:
            return wait_until(ready, timeout=45, what=f"{repository}@{reference} to be {status}")  # type: ignore[return-value]
        except AssertionError:
            print(self.app.log_tail())
            raise

    def activate(self, repository: str) -> None:
        response = self.http.put(
            f"{self.app.url}/api/integrations/{self.integration['id']}/repositories/{repository}",
            json={"enabled": True}, timeout=10)
        assert response.status_code == 200, response.text
        wait_until(self.drained, timeout=30, what="the activation's backfill job")

    def drained(self) -> bool:
        """The jobs queue is empty (every message completed, none in flight)."""
        properties = queue_client(self.svc.settings.storage, JOBS_QUEUE).get_queue_properties()
        return properties.approximate_message_count == 0

    def lookout(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``lookout ARGS`` with the app's settings (its storage) in the environment, as an operator runs it next
        to the app; output captured, the exit code not checked."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOKOUT_", "AzureWebJobs"))}
        env.update(self.app.settings)
        return subprocess.run([sys.executable, "-m", "shared.cli.main", *args], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=timeout, check=False)


@contextmanager
def running_stack(registry: RegistryServer, table_prefix: str, *, assert_clean_exit: bool = False,
                  registry_host: str = "", **settings: str) -> Iterator[Stack]:
    """``lookout serve`` on an Azurite of its own, with a connected integration for ``registry`` (its readonly
    user, plain HTTP), as a :class:`Stack`. With ``registry_host`` (e.g. a
    :class:`~testkit.faulty_proxy.FaultyProxy`'s host) the integration reaches the registry there.

    The app's tables are named with ``table_prefix``; ``settings`` are more app settings, and
    ``LOOKOUT_PUBLIC_URL`` is the app's own URL. On the way out the app is stopped (SIGTERM) and closed,
    then Azurite; with ``assert_clean_exit`` the app must have exited with 0.
    """
    storage = Azurite()
    storage.start()
    app = ServedApp({"AzureWebJobsStorage": storage.connection_string, "LOOKOUT_ENCRYPTION_KEY": generate_key(),
                     "LOOKOUT_TABLE_PREFIX": table_prefix, **settings})
    app.settings["LOOKOUT_PUBLIC_URL"] = app.url
    http = requests.Session()
    try:
        app.start()
        created = http.post(f"{app.url}/api/integrations", timeout=30, json={
            "registry": registry_host or registry.host, "username": registry.readonly.username,
            "password": registry.readonly.password, "insecure": True})
        assert created.status_code == 201, created.text + app.log_tail()
        svc = build_services(load(app.settings, None))
        yield Stack(app, storage, registry, http, svc, created.json(), registry_host)
    finally:
        exit_code = app.stop()
        log = app.log_tail() if exit_code else ""
        http.close()
        app.close()
        storage.close()
    if assert_clean_exit:
        assert exit_code == 0, f"lookout serve exited with {exit_code}:\n{log}"
