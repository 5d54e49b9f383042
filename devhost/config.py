"""What the local host reads before it imports the app: ``local.settings.json`` and ``host.json``.

Like ``func start``, the ``Values`` of ``local.settings.json`` become environment variables without
overriding variables already set, and ``host.json`` supplies the HTTP route prefix and the queue
trigger options (``extensions.http`` and ``extensions.queues``). One setting is the local host's own:
:data:`MESSAGE_LEASE_SETTING`, how long a received queue message stays invisible. Parsing only: the
one side effect is :func:`apply_local_settings`, which writes ``os.environ``.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shared.errors import ConfigurationError
from shared.settings import DEVELOPMENT_STORAGE, azurite_connection_string, read_local_settings

HOST_JSON = "host.json"
LOCAL_SETTINGS_JSON = "local.settings.json"

# `func start` sets these for the worker when the environment does not.
DEVELOPMENT_DEFAULTS = {
    "AZURE_FUNCTIONS_ENVIRONMENT": "Development",
    "FUNCTIONS_WORKER_RUNTIME": "python",
}

MESSAGE_LEASE_SETTING = "DEVHOST_MESSAGE_LEASE_SECONDS"
"""The setting (environment or ``local.settings.json``) that shortens how long the local host keeps a
received queue message invisible. Azure's host always takes messages for 10 minutes, and host.json has
no key for it (``extensions.queues.visibilityTimeout`` is the delay before a *failed* message is
retried), so this is the local host's own setting, for tests that kill a host and wait for redelivery."""

HOST_MESSAGE_LEASE_SECONDS = 600
"""How long the Functions host keeps a received queue message invisible (renewed at half of it)."""

MAX_MESSAGE_LEASE_SECONDS = 7 * 24 * 3600
"""The longest invisibility Queue storage accepts."""

_TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<hours>\d+):(?P<minutes>\d+):(?P<seconds>\d+(?:\.\d+)?)$")


def parse_timespan(value: object, *, name: str) -> float:
    """Seconds in a host.json TimeSpan (``"00:00:02"``, ``"1.00:00:00"``, ``"00:00:00.250"``).

    A bare number is taken as seconds. Raises :class:`ConfigurationError` naming ``name``.
    """
    if isinstance(value, bool):
        raise ConfigurationError(f"host.json {name} must be a TimeSpan like '00:00:02', not {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := _TIMESPAN.match(value.strip())):
        minutes, secs = int(match["minutes"]), float(match["seconds"])
        if minutes > 59 or secs >= 60:
            raise ConfigurationError(f"host.json {name} is not a valid TimeSpan: {value!r}")
        seconds = int(match["days"] or 0) * 86400 + int(match["hours"]) * 3600 + minutes * 60 + secs
    else:
        raise ConfigurationError(f"host.json {name} must be a TimeSpan like '00:00:02', not {value!r}")
    if seconds < 0 or not math.isfinite(seconds):
        raise ConfigurationError(f"host.json {name} must not be negative")
    return seconds


@dataclass(frozen=True)
class QueueOptions:
    """host.json ``extensions.queues``, with the host's defaults (times in seconds).

    ``max_polling_interval`` defaults to 2 s, the host's default when it runs locally (in Azure it is
    one minute). ``new_batch_threshold`` defaults to half the batch size.
    """

    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: float = 2.0
    visibility_timeout: float = 0.0
    max_dequeue_count: int = 5
    message_encoding: Literal["base64", "none"] = "base64"

    @classmethod
    def from_json(cls, section: Mapping[str, Any]) -> QueueOptions:
        """Read an ``extensions.queues`` object; unknown keys are ignored as the host ignores them."""
        lowered = {str(k).lower(): v for k, v in section.items()}
        batch_size = _integer(lowered.get("batchsize", 16), "extensions.queues.batchSize", low=1, high=32)
        threshold = _integer(
            lowered.get("newbatchthreshold", batch_size // 2), "extensions.queues.newBatchThreshold", low=0, high=10_000
        )
        encoding = str(lowered.get("messageencoding", "base64")).lower()
        if encoding not in ("base64", "none"):
            raise ConfigurationError(f"host.json extensions.queues.messageEncoding must be base64 or none, not {encoding!r}")
        polling = parse_timespan(lowered.get("maxpollinginterval", 2.0), name="extensions.queues.maxPollingInterval")
        if polling < 0.1:
            raise ConfigurationError("host.json extensions.queues.maxPollingInterval must be at least 00:00:00.100")
        return cls(
            batch_size=batch_size,
            new_batch_threshold=threshold,
            max_polling_interval=polling,
            visibility_timeout=parse_timespan(lowered.get("visibilitytimeout", 0), name="extensions.queues.visibilityTimeout"),
            max_dequeue_count=_integer(lowered.get("maxdequeuecount", 5), "extensions.queues.maxDequeueCount", low=1),
            message_encoding="base64" if encoding == "base64" else "none",
        )


@dataclass(frozen=True)
class HostConfig:
    """The parts of host.json the local host acts on.

    ``functions`` is host.json's optional allow-list of function names (``None``: all functions).
    """

    route_prefix: str = "api"
    queues: QueueOptions = field(default_factory=QueueOptions)
    functions: tuple[str, ...] | None = None

    @classmethod
    def from_json(cls, document: object) -> HostConfig:
        """Build from a parsed host.json document."""
        if not isinstance(document, dict):
            raise ConfigurationError("host.json must hold a JSON object")
        version = document.get("version")
        if version != "2.0":
            raise ConfigurationError(f"host.json 'version' must be \"2.0\", not {version!r}")
        extensions = _section(document, "extensions")
        http = _section(extensions, "http")
        prefix = http.get("routePrefix", "api")
        if not isinstance(prefix, str):
            raise ConfigurationError("host.json extensions.http.routePrefix must be a string")
        functions = document.get("functions")
        if functions is not None and (
            not isinstance(functions, list) or not all(isinstance(name, str) for name in functions)
        ):
            raise ConfigurationError("host.json 'functions' must be a list of function names")
        return cls(
            route_prefix=prefix.strip("/"),
            queues=QueueOptions.from_json(_section(extensions, "queues")),
            functions=tuple(functions) if functions is not None else None,
        )

    @classmethod
    def load(cls, path: Path) -> HostConfig:
        """Read ``path``; a missing or unreadable file is a :class:`ConfigurationError`, as under ``func start``."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigurationError(f"{path} is missing: the project root of a Functions app holds host.json") from exc
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"{path} is not readable JSON: {exc}") from exc
        return cls.from_json(document)


def apply_local_settings(path: Path, environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Copy ``Values`` of the local.settings.json at ``path`` into the environment; return the names set.

    Variables already present win, as under ``func start``. Afterwards the development defaults
    (``AZURE_FUNCTIONS_ENVIRONMENT=Development``, ``FUNCTIONS_WORKER_RUNTIME=python``) are set
    where still unset. A missing file is fine; a malformed one is a :class:`ConfigurationError`.
    """
    env = os.environ if environ is None else environ
    applied: list[str] = []
    for name, value in read_local_settings(path).items():
        if name not in env:
            env[name] = value
            applied.append(name)
    for name, value in DEVELOPMENT_DEFAULTS.items():
        if name not in env:
            env[name] = value
            applied.append(name)
    return applied


def message_lease_seconds(environ: Mapping[str, str] | None = None) -> int:
    """Seconds a received queue message stays invisible: :data:`MESSAGE_LEASE_SETTING` when set, else the
    host's 10 minutes.

    Whole seconds from 1 to 7 days (Queue storage's range); anything else is a
    :class:`ConfigurationError` naming the setting.
    """
    env = os.environ if environ is None else environ
    text = env.get(MESSAGE_LEASE_SETTING, "").strip()
    if not text:
        return HOST_MESSAGE_LEASE_SECONDS
    try:
        seconds = int(text)
    except ValueError:
        seconds = 0
    if not 1 <= seconds <= MAX_MESSAGE_LEASE_SECONDS:
        raise ConfigurationError(
            f"{MESSAGE_LEASE_SETTING} must be whole seconds from 1 to {MAX_MESSAGE_LEASE_SECONDS}, not {text!r}"
        )
    return seconds


def storage_connection_string(connection: str, environ: Mapping[str, str] | None = None) -> str:
    """The connection string a trigger's ``connection`` names, as the host resolves it.

    An empty name means ``AzureWebJobsStorage``; a name ``X`` that is not set falls back to
    ``AzureWebJobsX``. ``UseDevelopmentStorage=true`` becomes Azurite's full connection string.
    Identity-based connections (``X__queueServiceUri``, ``X__accountName``) are not supported here.
    """
    env = os.environ if environ is None else environ
    name = connection.strip() or "AzureWebJobsStorage"
    candidates = [name] if name.startswith("AzureWebJobs") else [name, f"AzureWebJobs{name}"]
    for candidate in candidates:
        value = env.get(candidate, "").strip()
        if value:
            if value.replace(" ", "").rstrip(";").lower() == DEVELOPMENT_STORAGE.lower():
                return azurite_connection_string()
            return value
    for candidate in candidates:
        if any(key.startswith(f"{candidate}__") for key in env):
            raise ConfigurationError(
                f"connection {name!r} is identity-based ({candidate}__*), which the local host does not support: "
                f"set {candidate} to a connection string"
            )
    raise ConfigurationError(f"connection {name!r} is not configured: set the app setting {name} to a connection string")


def _section(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise ConfigurationError(f"host.json '{key}' must be an object")
    return value


def _integer(value: object, name: str, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"host.json {name} must be an integer, not {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigurationError(f"host.json {name} must be {bounds}, not {value}")
    return value
