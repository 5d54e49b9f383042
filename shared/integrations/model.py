"""The integration record and the validation of the registry host it names."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal

from shared.errors import InvalidInput

IntegrationStatus = Literal["pending", "connected", "error"]

_HOST = re.compile(r"^(?=.{1,253}(:|$))[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$")


@dataclass(frozen=True)
class Integration:
    """A connected (or connecting) registry.

    ``enabled`` is true once a connection test has passed with the stored credentials: only then does
    the worker contact ``registry``. The password and the webhook secret are kept encrypted
    (``*_encrypted``) and are never part of any response or log line.
    """

    id: str
    registry: str
    created: str
    webhook_secret_encrypted: str = field(repr=False)
    username: str | None = None
    password_encrypted: str | None = field(default=None, repr=False)
    insecure: bool = False
    status: IntegrationStatus = "pending"
    enabled: bool = False
    last_error: str | None = None
    last_error_at: str | None = None
    last_tested: str | None = None
    last_event: str | None = None


def normalize_registry_host(value: object) -> str:
    """The registry login server as ``host[:port]``, lower-cased; :class:`InvalidInput` when it is not one.

    Schemes, paths, credentials and query strings are refused rather than stripped, so that a user
    sees exactly what Lookout will contact.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("'registry' must be a registry host such as myregistry.azurecr.io")
    host = value.strip().lower()
    if "://" in host or "/" in host or "@" in host or "?" in host:
        raise InvalidInput(f"'registry' must be a bare host[:port] without scheme or path, not {value!r}")
    if not _HOST.match(host):
        raise InvalidInput(f"'registry' is not a valid host[:port]: {value!r}")
    if ":" in host and not 0 < int(host.rsplit(":", 1)[1]) < 65536:
        raise InvalidInput(f"'registry' has an invalid port: {value!r}")
    return host


def is_loopback(host: str) -> bool:
    """Whether ``host[:port]`` names this machine (localhost or a loopback address)."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def registry_name(host: str) -> str:
    """The ACR registry resource name: the first label of the login server (``myreg`` for myreg.azurecr.io)."""
    return host.split(":", 1)[0].split(".", 1)[0]
