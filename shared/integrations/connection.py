"""The connection test: can Lookout reach the registry, sign in with the token, and list repositories?

Each failure comes with a hint that tells the user what to fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shared.errors import LookoutError
from shared.integrations.model import registry_name
from shared.registry.auth import Credentials
from shared.registry.client import RegistryClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionResult:
    """The outcome of a connection test: ``ok``, or the failure's ``code``, ``message`` and ``hint``."""

    ok: bool
    code: str | None = None
    message: str | None = None
    hint: str | None = None

    def to_json(self) -> dict[str, object]:
        if self.ok:
            return {"ok": True}
        return {"ok": False, "error": {"code": self.code, "message": self.message, "hint": self.hint}}


def hint_for(code: str, host: str, username: str | None) -> str:
    """What the user should do about a failed connection test with error ``code``."""
    name = registry_name(host)
    token = username or "docker-scout-readonly-token"
    hints = {
        "unauthorized": (
            f"The registry refused the token name or password. Generate a new password with "
            f"`az acr token credential generate -r {name} -n {token} --password1 --query 'passwords[0].value' -o tsv` "
            "(it takes about a minute to work) and set it again."
        ),
        "denied": (
            "The token signed in but may not list repositories or read metadata. Give it the "
            f"`_repositories_pull_metadata_read` scope map: `az acr token update -r {name} -n {token} "
            "--scope-map _repositories_pull_metadata_read` (changes take up to 10 minutes)."
        ),
        "registry-unreachable": (
            f"Lookout cannot reach {host}. Check the login server name, DNS, and the registry's network rules "
            "(public access, firewall, private endpoints) for the function app's outbound addresses."
        ),
        "registry-unavailable": f"{host} answered with a server error; try again in a few minutes.",
        "throttled": f"{host} is throttling requests; try again in a minute.",
        "not-a-registry": f"{host} answered, but not as a container registry: check the login server name.",
        "tls-failure": (
            f"The TLS connection to {host} failed (certificate not trusted, expired, or for another name). "
            "Registries must present a certificate from a public CA."
        ),
        "insecure-not-allowed": "The registry must be reached over HTTPS.",
        "secret-undecryptable": "The stored password can no longer be decrypted; set the token password again.",
    }
    return hints.get(code, "See the message; fix the registry side and run the connection test again.")


def run_connection_test(host: str, credentials: Credentials | None, insecure: bool) -> ConnectionResult:
    """Reach ``/v2/``, authenticate with ``credentials``, and list one repository page.

    Listing needs the metadata-read permission, which analysis needs too (tags, catalog).
    """
    client = RegistryClient(host, credentials, insecure=insecure)
    try:
        with client:
            client.ping()
            client.check_credentials()
            next(iter(client.catalog(page_size=1)), None)
    except LookoutError as exc:
        username = credentials.username if credentials else None
        log.warning("connection test of %s failed: %s", host, exc.code)
        return ConnectionResult(False, exc.code, exc.message, hint_for(exc.code, host, username))
    return ConnectionResult(True)
