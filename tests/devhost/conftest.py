"""Fixtures for the local host: a project root per test (host.json, local.settings.json) and started hosts."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from devhost import LocalHost
from testkit.azurite import Azurite
from tests.devhost import sample_app

SAMPLE_APP = "tests.devhost.sample_app:app"

# Fast settings for tests; the defaults (2 s polling, 10 min leases) would make them slow.
FAST_QUEUES = {
    "maxPollingInterval": "00:00:00.200",
    "visibilityTimeout": "00:00:00",
    "batchSize": 4,
    "maxDequeueCount": 3,
    "messageEncoding": "base64",
}


def write_project(
    root: Path,
    *,
    functions: list[str] | None,
    queues: dict[str, Any] | None = None,
    route_prefix: str = "api",
    settings: dict[str, str] | None = None,
) -> Path:
    """Write host.json and local.settings.json into ``root``; return ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "version": "2.0",
        "extensions": {"http": {"routePrefix": route_prefix}, "queues": queues or FAST_QUEUES},
    }
    if functions is not None:
        document["functions"] = functions
    (root / "host.json").write_text(json.dumps(document), encoding="utf-8")
    (root / "local.settings.json").write_text(
        json.dumps({"IsEncrypted": False, "Values": settings or {}}), encoding="utf-8"
    )
    return root


def unique_queue() -> str:
    return f"devhost-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def environ() -> Iterator[None]:
    """Restore os.environ after the test (the host writes local.settings.json values into it)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    with sample_app._lock:
        sample_app.CALLS.clear()


@pytest.fixture
def start_host(tmp_path: Path, environ: None) -> Iterator[Callable[..., LocalHost]]:
    """Start the sample app on a free port with only ``functions`` enabled; every host is stopped afterwards."""
    hosts: list[LocalHost] = []

    def start(
        functions: list[str],
        *,
        queues: dict[str, Any] | None = None,
        route_prefix: str = "api",
        settings: dict[str, str] | None = None,
        **options: Any,
    ) -> LocalHost:
        root = write_project(
            tmp_path / f"project-{len(hosts)}",
            functions=functions,
            queues=queues,
            route_prefix=route_prefix,
            settings=settings,
        )
        host = LocalHost(SAMPLE_APP, port=0, project_root=root, **options)
        host.start()
        hosts.append(host)
        return host

    try:
        yield start
    finally:
        for host in hosts:
            host.stop(grace_period=5)


def queue_client(azurite: Azurite, name: str, *, base64: bool = True) -> QueueClient:
    """A client for a test queue, base64-encoding like the host expects unless ``base64`` is false."""
    if base64:
        return QueueClient.from_connection_string(
            azurite.connection_string,
            name,
            message_encode_policy=TextBase64EncodePolicy(),
            message_decode_policy=TextBase64DecodePolicy(),
        )
    return QueueClient.from_connection_string(azurite.connection_string, name)


def peek_texts(azurite: Azurite, name: str) -> list[str]:
    """The raw texts of the messages visible in a queue (at most 32), or [] when it does not exist."""
    client = queue_client(azurite, name, base64=False)
    try:
        return [str(m.content) for m in client.peek_messages(max_messages=32)]
    except ResourceNotFoundError:
        return []
