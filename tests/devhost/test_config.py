"""host.json and local.settings.json as the local host reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.config import (
    HostConfig,
    QueueOptions,
    apply_local_settings,
    message_lease_seconds,
    parse_timespan,
    storage_connection_string,
)
from shared.errors import ConfigurationError
from shared.settings import azurite_connection_string


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("00:00:02", 2.0), ("00:01:00", 60.0), ("1.00:00:01", 86401.0), ("00:00:00.250", 0.25), (5, 5.0)],
)
def test_timespans(value: object, seconds: float) -> None:
    assert parse_timespan(value, name="x") == seconds


@pytest.mark.parametrize("value", ["2s", "00:61:00", "-00:00:01", True, None])
def test_bad_timespans(value: object) -> None:
    with pytest.raises(ConfigurationError):
        parse_timespan(value, name="x")


def test_host_json_defaults_and_values() -> None:
    assert HostConfig.from_json({"version": "2.0"}) == HostConfig(route_prefix="api", queues=QueueOptions())
    config = HostConfig.from_json(
        {
            "version": "2.0",
            "functions": ["a"],
            "extensions": {
                "http": {"routePrefix": "/v1/"},
                "queues": {"batchSize": 8, "maxPollingInterval": "00:00:05", "messageEncoding": "none", "maxDequeueCount": 2},
            },
        }
    )
    assert config.route_prefix == "v1"
    assert config.functions == ("a",)
    assert config.queues == QueueOptions(
        batch_size=8, new_batch_threshold=4, max_polling_interval=5.0, max_dequeue_count=2, message_encoding="none"
    )


@pytest.mark.parametrize(
    "document",
    [
        {"version": "1.0"},
        {"version": "2.0", "extensions": {"queues": {"batchSize": 33}}},
        {"version": "2.0", "extensions": {"queues": {"messageEncoding": "utf8"}}},
        {"version": "2.0", "extensions": {"http": {"routePrefix": 1}}},
        {"version": "2.0", "functions": "a"},
    ],
)
def test_bad_host_json(document: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        HostConfig.from_json(document)


def test_missing_host_json_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"host\.json"):
        HostConfig.load(tmp_path / "host.json")


def test_local_settings_never_override_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": {"A": "from-file", "B": "from-file"}}))
    environ = {"A": "from-env", "AZURE_FUNCTIONS_ENVIRONMENT": "Production"}
    applied = apply_local_settings(path, environ)
    assert environ == {
        "A": "from-env",
        "B": "from-file",
        "AZURE_FUNCTIONS_ENVIRONMENT": "Production",
        "FUNCTIONS_WORKER_RUNTIME": "python",
    }
    assert sorted(applied) == ["B", "FUNCTIONS_WORKER_RUNTIME"]


def test_connection_strings() -> None:
    assert storage_connection_string("", {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}) == azurite_connection_string()
    assert storage_connection_string("Jobs", {"AzureWebJobsJobs": "DefaultEndpointsProtocol=x"}) == "DefaultEndpointsProtocol=x"
    with pytest.raises(ConfigurationError, match="identity-based"):
        storage_connection_string("Other", {"Other__queueServiceUri": "https://a.queue.core.windows.net"})
    with pytest.raises(ConfigurationError, match="not configured"):
        storage_connection_string("AzureWebJobsStorage", {})


def test_message_lease_is_ten_minutes_unless_set() -> None:
    assert message_lease_seconds({}) == 600
    assert message_lease_seconds({"DEVHOST_MESSAGE_LEASE_SECONDS": " 5 "}) == 5


@pytest.mark.parametrize("value", ["0", "-3", "1.5", "five", str(7 * 24 * 3600 + 1)])
def test_bad_message_leases_name_the_setting(value: str) -> None:
    with pytest.raises(ConfigurationError, match="DEVHOST_MESSAGE_LEASE_SECONDS"):
        message_lease_seconds({"DEVHOST_MESSAGE_LEASE_SECONDS": value})
