"""Integration use cases: create one, test its connection, authenticate its webhook deliveries.

The worker reaches a registry only through :func:`registry_client` — so only hosts of enabled
integrations are ever contacted, with the integration's own credentials.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from urllib.parse import urlencode

from shared.clock import utc_now
from shared.errors import InvalidInput, LookoutError, NotFound
from shared.integrations.model import Integration, is_loopback, normalize_registry_host
from shared.registry.auth import Credentials
from shared.registry.client import RegistryClient
from shared.secrets import new_webhook_secret, secrets_equal
from shared.services import Services

log = logging.getLogger(__name__)

MAX_USERNAME = 256
MAX_PASSWORD = 1024


def _credential_fields(username: object, password: object) -> tuple[str | None, str | None]:
    if username is None and password is None:
        return None, None
    if not isinstance(username, str) or not username.strip() or len(username) > MAX_USERNAME:
        raise InvalidInput("'username' must be the registry token's name (at most 256 characters)")
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
        raise InvalidInput("'password' must be the registry token's password (at most 1024 characters)")
    return username.strip(), password


def create_integration(
    svc: Services, registry: object, username: object = None, password: object = None, insecure: object = False
) -> Integration:
    """Create an integration for ``registry``; with credentials, test them at once.

    The new integration is ``pending`` until a connection test passes; it is stored either way, so a
    failed test can be fixed by setting the token password again. Raises :class:`InvalidInput` for a
    malformed host or credentials, or an insecure registry that is not allowed.
    """
    host = normalize_registry_host(registry)
    if not isinstance(insecure, bool):
        raise InvalidInput("'insecure' must be true or false")
    if insecure and not (is_loopback(host) or svc.settings.allow_insecure_registries):
        raise InvalidInput(
            f"{host} is not on this machine: plain HTTP is allowed only for loopback registries "
            "unless LOOKOUT_ALLOW_INSECURE_REGISTRIES=true"
        )
    user, secret = _credential_fields(username, password)
    integration = Integration(
        id=secrets.token_hex(8),
        registry=host,
        created=utc_now(),
        webhook_secret_encrypted=svc.box.encrypt(new_webhook_secret()),
        username=user,
        password_encrypted=svc.box.encrypt(secret) if secret is not None else None,
        insecure=insecure,
    )
    if user is not None and secret is not None:
        integration = test_connection(integration, Credentials(user, secret))
    svc.integrations.put(integration)
    log.info("integration %s created for %s (status %s)", integration.id, host, integration.status)
    return integration


def test_connection(integration: Integration, credentials: Credentials) -> Integration:
    """Reach ``/v2/``, authenticate with ``credentials`` and list a repository; return the updated record.

    On success the integration is ``connected`` and enabled; on failure it keeps its enabled state,
    becomes ``pending`` (never connected) or ``error`` (connected before), with the reason.
    """
    now = utc_now()
    client = RegistryClient(integration.registry, credentials, insecure=integration.insecure)
    try:
        client.ping()
        client.check_credentials()
        next(iter(client.catalog(page_size=1)), None)
    except LookoutError as exc:
        log.warning("connection test of integration %s failed: %s", integration.id, exc.code)
        return replace(
            integration,
            status="error" if integration.enabled else "pending",
            last_error=exc.message,
            last_error_at=now,
            last_tested=now,
        )
    return replace(integration, status="connected", enabled=True, last_error=None, last_error_at=None, last_tested=now)


def webhook_url(svc: Services, integration: Integration) -> str:
    """The URL Event Grid delivers this integration's events to; it carries the webhook secret."""
    query = urlencode({"integration": integration.id, "secret": svc.box.decrypt(integration.webhook_secret_encrypted)})
    return f"{svc.settings.public_url}/api/events?{query}"


def authenticate_delivery(svc: Services, integration_id: str | None, secret: str | None) -> Integration | None:
    """The integration a webhook delivery is for, or None when the id or the secret does not match.

    The secret is compared in constant time.
    """
    if not integration_id or not secret or len(secret) > 256:
        return None
    integration = svc.integrations.get(integration_id)
    if integration is None:
        return None
    if not secrets_equal(secret, svc.box.decrypt(integration.webhook_secret_encrypted)):
        return None
    return integration


def registry_client(svc: Services, integration: Integration) -> RegistryClient:
    """A client for the integration's registry with its stored credentials.

    Raises a permanent :class:`LookoutError` when the integration is not enabled: Lookout contacts
    only registries whose connection test passed.
    """
    if not integration.enabled:
        raise LookoutError(f"integration {integration.id} is not enabled", code="integration-disabled")
    credentials = None
    if integration.username and integration.password_encrypted:
        credentials = Credentials(integration.username, svc.box.decrypt(integration.password_encrypted))
    return RegistryClient(integration.registry, credentials, insecure=integration.insecure)


def integration_json(integration: Integration, webhook: str | None = None) -> dict[str, object]:
    """The API representation of an integration; never includes the password or the webhook secret
    (except inside ``webhook_url`` when ``webhook`` is given, for the integration's owner)."""
    body: dict[str, object] = {
        "id": integration.id,
        "registry": integration.registry,
        "status": integration.status,
        "enabled": integration.enabled,
        "username": integration.username,
        "insecure": integration.insecure,
        "created": integration.created,
        "last_tested": integration.last_tested,
        "last_error": integration.last_error,
        "last_error_at": integration.last_error_at,
        "last_event": integration.last_event,
    }
    if webhook is not None:
        body["webhook_url"] = webhook
    return body


def set_repository_enabled(svc: Services, integration_id: str, repository: str, enabled: object) -> dict[str, object]:
    """Activate or deactivate analysis of ``repository``; :class:`NotFound` for an unknown integration."""
    from shared.images.query import validate_repository

    if not isinstance(enabled, bool):
        raise InvalidInput("'enabled' must be true or false")
    repo = validate_repository(repository)
    integration = svc.integrations.get(integration_id)
    if integration is None:
        raise NotFound(f"no integration {integration_id!r}")
    svc.repositories.set_enabled(integration.id, repo, enabled, utc_now())
    log.info("repository %s of integration %s %s", repo, integration.id, "activated" if enabled else "deactivated")
    return {"integration": integration.id, "repository": repo, "enabled": enabled}
