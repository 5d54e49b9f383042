"""The running app as an end-to-end test drives it: post events, read images, activate repositories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from shared.intake.jobs import JOBS_QUEUE
from shared.store.azure import queue_client
from shared.wiring import Services
from testkit.azurite import Azurite
from testkit.localhost import ServedApp
from testkit.processes import wait_until
from testkit.registry import RegistryServer


@dataclass
class Stack:
    app: ServedApp
    storage: Azurite
    registry: RegistryServer
    http: requests.Session
    svc: Services
    integration: dict[str, Any]

    def post_events(self, events: list[dict[str, Any]], timeout: float = 30) -> requests.Response:
        return self.http.post(self.integration["webhook_url"], json=events,
                              headers={"aeg-event-type": "Notification"}, timeout=timeout)

    def image(self, repository: str, reference: str) -> requests.Response:
        return self.http.get(f"{self.app.url}/api/images", timeout=10,
                             params={"registry": self.registry.host, "repository": repository, "reference": reference})

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
