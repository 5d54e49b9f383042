"""Queue triggers through the local host, against Azurite: delivery, retries, poison queue, leases, outages."""

from __future__ import annotations

import base64
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from azure.core.exceptions import ResourceExistsError

from devhost import LocalHost
from devhost.queues import decode_body, describe_error
from testkit.azurite import Azurite
from testkit.processes import wait_until
from tests.devhost import sample_app
from tests.devhost.conftest import FAST_QUEUES, peek_texts, queue_client, unique_queue


def test_decoding_follows_message_encoding() -> None:
    assert decode_body(base64.b64encode(b"\x00\xffhi").decode(), "base64") == b"\x00\xffhi"
    assert decode_body("aGk=\n", "base64") == b"hi"
    assert decode_body("not base64!", "none") == b"not base64!"
    with pytest.raises(ValueError):
        decode_body("not base64!", "base64")


def test_storage_errors_are_described_without_query_strings() -> None:
    error = ValueError("Max retries exceeded with url: /acct/q/messages?sig=SECRET&se=2026 (Caused by refused)")
    described = describe_error(error)
    assert "SECRET" not in described
    assert described.startswith("ValueError: Max retries exceeded with url: /acct/q/messages?<redacted> (Caused")


def _settings(azurite: Azurite, **queues: str) -> dict[str, str]:
    return {"AzureWebJobsStorage": azurite.connection_string, **queues}


def test_base64_message_is_delivered_and_deleted(azurite: Azurite, start_host: Callable[..., LocalHost]) -> None:
    name = unique_queue()
    start_host(["queue_ok"], settings=_settings(azurite, DEVHOST_QUEUE_OK=name))
    client = queue_client(azurite, name)
    sent = client.send_message('{"job": "héllo"}')
    wait_until(lambda: sample_app.calls("queue_ok"), timeout=15, what="the message to be processed")
    call = sample_app.calls("queue_ok")[0]
    assert call["body"] == '{"job": "héllo"}'.encode()
    assert call["dequeue_count"] == 1
    assert call["id"] == sent.id
    assert call["insertion_time"] is not None and call["expiration_time"] is not None
    assert call["pop_receipt"]
    wait_until(lambda: client.get_queue_properties().approximate_message_count == 0, timeout=10, what="deletion")
    assert peek_texts(azurite, name) == []


def test_queue_is_created_when_missing(azurite: Azurite, start_host: Callable[..., LocalHost]) -> None:
    name = unique_queue()
    start_host(["queue_ok"], settings=_settings(azurite, DEVHOST_QUEUE_OK=name))
    client = queue_client(azurite, name)
    wait_until(lambda: _exists(client), timeout=10, what="the host to create the queue")


def _exists(client: object) -> bool:
    try:
        client.get_queue_properties()  # type: ignore[attr-defined]
    except Exception:
        return False
    return True


def test_many_messages_run_concurrently(azurite: Azurite, start_host: Callable[..., LocalHost]) -> None:
    name = unique_queue()
    start_host(["queue_slow"], settings=_settings(azurite, DEVHOST_QUEUE_SLOW=name))
    client = queue_client(azurite, name)
    for _ in range(4):
        client.send_message("1")
    started = time.monotonic()
    wait_until(lambda: len(sample_app.calls("queue_slow_done")) == 4, timeout=20, what="four messages")
    # Four one-second messages in one batch of four: well under the four seconds of serial runs.
    assert time.monotonic() - started < 3.5


def test_failing_message_is_retried_then_poisoned(azurite: Azurite, start_host: Callable[..., LocalHost]) -> None:
    name = unique_queue()
    start_host(["queue_fail"], settings=_settings(azurite, DEVHOST_QUEUE_FAIL=name))
    client = queue_client(azurite, name)
    client.send_message("will fail")
    original_text = base64.b64encode(b"will fail").decode()
    wait_until(lambda: peek_texts(azurite, f"{name}-poison"), timeout=20, what="the poison queue")
    attempts = sample_app.calls("queue_fail")
    assert [a["dequeue_count"] for a in attempts] == [1, 2, 3]  # maxDequeueCount is 3 in FAST_QUEUES
    assert all(a["body"] == b"will fail" for a in attempts)
    assert peek_texts(azurite, f"{name}-poison") == [original_text]
    wait_until(lambda: client.get_queue_properties().approximate_message_count == 0, timeout=10, what="deletion")


def test_visibility_timeout_delays_the_retry(azurite: Azurite, start_host: Callable[..., LocalHost]) -> None:
    name = unique_queue()
    queues = {**FAST_QUEUES, "visibilityTimeout": "00:00:02", "maxDequeueCount": 2}
    start_host(["queue_fail"], queues=queues, settings=_settings(azurite, DEVHOST_QUEUE_FAIL=name))
    body = f"later-{name}"
    queue_client(azurite, name).send_message(body)

    def attempts() -> list[dict[str, Any]]:
        return [c for c in sample_app.calls("queue_fail") if c["body"] == body.encode()]

    wait_until(lambda: len(attempts()) >= 2, timeout=30, what="the retry")
    wait_until(lambda: peek_texts(azurite, f"{name}-poison"), timeout=15, what="the poison queue")
    first, second = attempts()
    assert (first["dequeue_count"], second["dequeue_count"]) == (1, 2)
    assert second["at"] - first["at"] >= 1.9  # the failed message stayed invisible for visibilityTimeout


def test_invalid_base64_goes_to_poison_without_running(
    azurite: Azurite, start_host: Callable[..., LocalHost], caplog: pytest.LogCaptureFixture
) -> None:
    name = unique_queue()
    with caplog.at_level(logging.WARNING, logger="devhost"):
        start_host(["queue_ok"], settings=_settings(azurite, DEVHOST_QUEUE_OK=name))
        raw = queue_client(azurite, name, base64=False)
        wait_until(lambda: _exists(raw), timeout=10, what="the queue")
        raw.send_message("this is not base64!")
        wait_until(lambda: peek_texts(azurite, f"{name}-poison"), timeout=15, what="the poison queue")
    assert peek_texts(azurite, f"{name}-poison") == ["this is not base64!"]
    assert sample_app.calls("queue_ok") == []
    assert any("Message decoding has failed" in r.getMessage() for r in caplog.records)
    wait_until(lambda: raw.get_queue_properties().approximate_message_count == 0, timeout=10, what="deletion")


def test_message_encoding_none(azurite: Azurite, start_host: Callable[..., LocalHost]) -> None:
    name = unique_queue()
    queues = {**FAST_QUEUES, "messageEncoding": "none"}
    start_host(["queue_ok"], queues=queues, settings=_settings(azurite, DEVHOST_QUEUE_OK=name))
    raw = queue_client(azurite, name, base64=False)
    wait_until(lambda: _exists(raw), timeout=10, what="the queue")
    raw.send_message("plain text, not base64!")
    wait_until(lambda: sample_app.calls("queue_ok"), timeout=15, what="the message")
    assert sample_app.calls("queue_ok")[0]["body"] == b"plain text, not base64!"


def test_lease_is_renewed_while_the_function_runs(azurite: Azurite, start_host: Callable[..., LocalHost]) -> None:
    name = unique_queue()
    start_host(["queue_slow"], settings=_settings(azurite, DEVHOST_QUEUE_SLOW=name), lease_seconds=3)
    client = queue_client(azurite, name)
    client.send_message("7")  # runs seven seconds, more than twice the three-second lease
    wait_until(lambda: sample_app.calls("queue_slow_done"), timeout=20, what="the slow message")
    wait_until(lambda: client.get_queue_properties().approximate_message_count == 0, timeout=10, what="deletion")
    time.sleep(1.0)  # a lapsed lease would show up as a second delivery by now
    deliveries = sample_app.calls("queue_slow")
    assert len(deliveries) == 1
    assert deliveries[0]["dequeue_count"] == 1


def test_an_abandoned_message_comes_back_after_the_configured_lease(
    azurite: Azurite, start_host: Callable[..., LocalHost]
) -> None:
    name = unique_queue()
    settings = _settings(azurite, DEVHOST_QUEUE_SLOW=name, DEVHOST_MESSAGE_LEASE_SECONDS="2")
    crashed = start_host(["queue_slow"], settings=settings)
    assert crashed.lease_seconds == 2
    client = queue_client(azurite, name)
    client.send_message("4")
    wait_until(lambda: sample_app.calls("queue_slow"), timeout=15, what="the first delivery")
    crashed.stop(grace_period=0.1)  # abandons the running function: its lease is no longer renewed
    start_host(["queue_slow"], settings=settings)
    # Under the host's 10-minute lease the message would stay invisible long after the function ends.
    wait_until(lambda: len(sample_app.calls("queue_slow")) == 2, timeout=15, what="the redelivery")
    first, second = sample_app.calls("queue_slow")
    assert (first["id"], first["dequeue_count"]) == (second["id"], 1)
    assert second["dequeue_count"] == 2
    wait_until(lambda: len(sample_app.calls("queue_slow_done")) == 2, timeout=15, what="both runs to end")
    wait_until(lambda: client.get_queue_properties().approximate_message_count == 0, timeout=10, what="deletion")


def test_message_dequeued_too_often_goes_straight_to_poison(
    azurite: Azurite, start_host: Callable[..., LocalHost]
) -> None:
    name = unique_queue()
    client = queue_client(azurite, name)
    client.create_queue()
    client.send_message("crashed host")
    # Received four times without completion, as if hosts had crashed while running it.
    for _ in range(4):
        message = client.receive_message(visibility_timeout=30)
        assert message is not None
        client.update_message(message, visibility_timeout=0)
    start_host(["queue_ok"], settings=_settings(azurite, DEVHOST_QUEUE_OK=name))
    wait_until(lambda: peek_texts(azurite, f"{name}-poison"), timeout=15, what="the poison queue")
    assert sample_app.calls("queue_ok") == []


def test_host_survives_a_storage_outage(
    azurite: Azurite, start_host: Callable[..., LocalHost], caplog: pytest.LogCaptureFixture
) -> None:
    name = unique_queue()
    local = start_host(["queue_ok", "item_latest"], settings=_settings(azurite, DEVHOST_QUEUE_OK=name))
    client = queue_client(azurite, name)
    client.send_message("before")
    wait_until(lambda: len(sample_app.calls("queue_ok")) == 1, timeout=15, what="the first message")
    try:
        with caplog.at_level(logging.WARNING, logger="devhost"):
            azurite.stop()
            time.sleep(2.5)  # several failed polls
            # HTTP goes on while storage is down.
            assert requests.get(f"{local.url}/api/items/latest", timeout=5).text == "literal:latest"
        assert any("Polling queue" in r.getMessage() for r in caplog.records)
        assert not any("AccountKey" in r.getMessage() for r in caplog.records)
    finally:
        azurite.start()
    # Azurite saves its state now and then: a queue created just before it stopped may be gone.
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()
    client.send_message("after")
    wait_until(lambda: len(sample_app.calls("queue_ok")) == 2, timeout=30, what="a message after the outage")
    assert sample_app.calls("queue_ok")[1]["body"] == b"after"


def test_stop_lets_running_messages_finish(azurite: Azurite, start_host: Callable[..., LocalHost]) -> None:
    name = unique_queue()
    local = start_host(["queue_slow"], settings=_settings(azurite, DEVHOST_QUEUE_SLOW=name))
    client = queue_client(azurite, name)
    client.send_message("1.5")
    wait_until(lambda: sample_app.calls("queue_slow"), timeout=15, what="the slow message to start")
    local.stop(grace_period=10)
    assert len(sample_app.calls("queue_slow_done")) == 1
    assert client.get_queue_properties().approximate_message_count == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{local.url}/", timeout=2)
