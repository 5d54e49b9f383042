"""End to end: a webhook endpoint on 127.0.0.1 is notified, with a valid signature, when an advisory import
gives an analyzed image a new critical finding; a failing endpoint is retried through the queue, then its
delivery is recorded failed and its message sits in the poison queue, while analysis goes on.

The stack is this module's own (``lookout serve`` on its own Azurite), so that its endpoints see only its
images.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from shared.notify.messages import NOTIFICATIONS_QUEUE
from shared.notify.service import MAX_ATTEMPTS
from shared.notify.signing import verify
from shared.store.azure import queue_client
from testkit.contents import dist_info, osv_record, write_records
from testkit.events import image_pushed
from testkit.images import push_image
from testkit.processes import wait_until
from testkit.registry import RegistryServer
from testkit.stack import Stack, running_stack
from tests.notify.receiver import Receiver, receiving

pytestmark = pytest.mark.e2e

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


@pytest.fixture(scope="module")
def stack(registry: RegistryServer) -> Iterator[Stack]:
    with running_stack(registry, "notify", assert_clean_exit=True) as started:
        yield started


def add_endpoint(stack: Stack, name: str, url: str) -> dict[str, Any]:
    done = stack.lookout("notifications", "add", "--integration", stack.integration["id"], "--name", name,
                         "--url", url, "--json")
    assert done.returncode == 0, done.stderr
    endpoint: dict[str, Any] = json.loads(done.stdout)
    return endpoint


def endpoints(stack: Stack) -> dict[str, dict[str, Any]]:
    done = stack.lookout("notifications", "list", "--integration", stack.integration["id"], "--json")
    assert done.returncode == 0, done.stderr
    return {e["name"]: e for e in json.loads(done.stdout)}


def push_and_wait(stack: Stack, repository: str, tag: str, version: str) -> dict[str, Any]:
    pushed = push_image(stack.registry, repository, tag, [dist_info("notifypkg", version), {"etc/build-id": tag}])
    stack.post_events([image_pushed(stack.registry.host, repository, str(pushed.digest), tag, pushed.media_type,
                                    pushed.size)])
    return stack.wait_for_image(repository, tag)


def notifications_of(receiver: Receiver, digest: str, event: str = "new-finding") -> list[dict[str, Any]]:
    """The bodies ``receiver`` got about image ``digest`` for ``event``."""
    bodies = [json.loads(r.body) for r in receiver.received]
    return [b for b in bodies if b["image"]["digest"] == digest and b["event"] == event]


def test_an_advisory_import_notifies_a_new_critical_and_a_failing_endpoint_does_not_block(
        stack: Stack, tmp_path: Path) -> None:
    with receiving() as receiver, receiving(status=500) as failing:
        good = add_endpoint(stack, "local", receiver.url)
        add_endpoint(stack, "broken", failing.url)
        refused = stack.lookout("notifications", "add", "--integration", stack.integration["id"], "--name", "meta",
                                "--url", "https://169.254.169.254/latest")
        assert refused.returncode == 2 and "'url': 169.254.169.254 is a cloud metadata address" in refused.stderr

        stack.activate("notify/app")
        image = push_and_wait(stack, "notify/app", "1", "1.0")
        assert sum(image["vulnerabilities"].values()) == 0  # no advisory for notifypkg yet: nothing to notify

        update = write_records(tmp_path / "advisories", {"PyPI/GHSA-notify-0001.json": osv_record(
            "GHSA-notify-0001", "PyPI", "notifypkg", "1.1", severity=CRITICAL)})
        imported = stack.lookout("advisories", "import", str(update))
        assert imported.returncode == 0, imported.stderr
        assert f"notify/app@{image['digest']}" in imported.stdout

        wait_until(lambda: notifications_of(receiver, image["digest"]), timeout=60, what="the notification")
        (request,) = [r for r in receiver.received if json.loads(r.body)["image"]["digest"] == image["digest"]
                      and json.loads(r.body)["event"] == "new-finding"]
        assert verify(good["secret"], request.headers, request.body)
        body = json.loads(request.body)
        assert (body["event"], body["trigger"], body["more_findings"]) == ("new-finding", "rematch", 0)
        assert [(f["id"], f["name"], f["version"], f["level"]) for f in body["findings"]] == [
            ("GHSA-notify-0001", "notifypkg", "1.0", "critical")]
        assert body["image"]["tags"] == ["1"] and body["integration"]["id"] == stack.integration["id"]
        assert body["image"]["link"].startswith(f"{stack.app.url}/api/dashboard/#/image?")
        # The same re-match turned the image's "no fixable critical or high vulnerability" policy from pass to fail.
        wait_until(lambda: notifications_of(receiver, image["digest"], "policy-failed"), timeout=60,
                   what="the policy notification")
        (policy,) = notifications_of(receiver, image["digest"], "policy-failed")[0]["policies"]
        assert policy["policy"] == "no-fixable-critical-high" and "GHSA-notify-0001" in " ".join(policy["reasons"])
        assert good["secret"] not in stack.app.log_tail(2000) and "/hooks/lookout" not in stack.app.log_tail(2000)

        # While the failing endpoint is retried, analysis goes on: a new image is analyzed and, being new with a
        # critical finding, notified from the analysis path.
        second = push_and_wait(stack, "notify/app", "2", "1.0")
        assert second["digest"] != image["digest"] and second["vulnerabilities"]["critical"] == 1
        wait_until(lambda: notifications_of(receiver, second["digest"]), timeout=60, what="the analysis notification")
        assert notifications_of(receiver, second["digest"])[0]["trigger"] == "analysis"

        broken = endpoints(stack)["broken"]["id"]

        def broken_failed() -> bool:
            """Every delivery to the failing endpoint (the re-match's new finding and failed policy, the analysis's
            new finding) is given up."""
            ids = {json.loads(r.body)["delivery"] for r in failing.received}
            records = [stack.svc.notification_deliveries.get(broken, i) for i in ids]
            return len(ids) == 3 and all(r is not None and r.status == "failed" for r in records)

        poison = queue_client(stack.svc.settings.storage, f"{NOTIFICATIONS_QUEUE}-poison")

        def poisoned() -> bool:
            """The given-up deliveries' messages are in the poison queue (the host moves each after its last try)."""
            with contextlib.suppress(ResourceNotFoundError):
                return poison.get_queue_properties().approximate_message_count == 3
            return False

        wait_until(broken_failed, timeout=240, what="the failing endpoint's deliveries to be given up")
        wait_until(poisoned, timeout=30, what="the given-up deliveries in the poison queue")
        assert len(notifications_of(failing, image["digest"])) == MAX_ATTEMPTS  # each attempt once, no more
        listing = stack.lookout("notifications", "list", "--integration", stack.integration["id"])
        assert "failed (HTTP 500, 5 attempts)" in listing.stdout and "delivered (HTTP 200" in listing.stdout

        tested = stack.lookout("notifications", "test", "--integration", stack.integration["id"], "local",
                               "--timeout", "60")
        assert tested.returncode == 0, tested.stdout + tested.stderr
        assert "delivered (HTTP 200, 1 attempt)" in tested.stdout
        sample = json.loads(receiver.received[-1].body)
        assert sample["test"] is True and verify(good["secret"], receiver.received[-1].headers,
                                                 receiver.received[-1].body)

        for name in ("local", "broken"):
            removed = stack.lookout("notifications", "remove", "--integration", stack.integration["id"], name)
            assert removed.returncode == 0, removed.stderr
