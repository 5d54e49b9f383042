"""Integration use cases: connect, set the token, test, summarize, activate repositories, remove.

The worker reaches a registry only through :meth:`Integrations.registry_client` — so only hosts of enabled
integrations are ever contacted, with the integration's own credentials.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from shared.api.repository_listing import refresh_repository
from shared.clock import utc_now
from shared.errors import Conflict, InvalidInput, LookoutError, NotFound
from shared.intake.jobs import Job
from shared.integrations.connection import ConnectionResult, run_connection_test
from shared.integrations.model import Integration, is_loopback, normalize_registry_host
from shared.integrations.template import TOKEN_NAME, cleanup_commands, registry_template_inputs
from shared.records import (
    AffectedImages,
    BaseRecords,
    ImageRecords,
    IntegrationRecords,
    JobSink,
    NotificationDeliveries,
    NotificationEndpoints,
    PackageOccurrences,
    PolicyConfigs,
    PolicyResults,
    ReportRecords,
    RepositoryActivations,
    RepositorySummaries,
    SbomRecords,
    VexStatements,
)
from shared.registry.auth import Credentials
from shared.registry.catalog import list_repositories
from shared.registry.client import RegistryClient
from shared.registry.reference import validate_repository
from shared.secrets import SecretBox, new_webhook_secret, secrets_equal

log = logging.getLogger(__name__)

MAX_USERNAME = 256
MAX_PASSWORD = 1024
MAX_BULK_REPOSITORIES = 1000


@dataclass(frozen=True)
class Outcome:
    """An integration after a use case, with the connection test's result when one ran."""

    integration: Integration
    connection: ConnectionResult | None = None


def _credentials(username: object, password: object) -> Credentials:
    name = TOKEN_NAME if username is None else username
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_USERNAME:
        raise InvalidInput("'username' must be the registry token's name (at most 256 characters)")
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
        raise InvalidInput("'password' must be the registry token's password (1 to 1024 characters)")
    return Credentials(name.strip(), password)


def integration_json(integration: Integration) -> dict[str, Any]:
    """The API representation of an integration; never the password or the webhook secret."""
    return {
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


@dataclass(frozen=True)
class Integrations:
    """The integration use cases over the stores they touch.

    ``box`` encrypts passwords and webhook secrets at rest; ``public_url`` is where Event Grid reaches
    the app; ``allow_insecure_registries`` lets plain-HTTP registries off this machine be integrated.
    ``summaries``, ``affected`` and ``packages`` are the listing indexes that activation and removal keep
    current; the app always has them (None only where a caller needs none of the listings).

    ``policy_configs``, ``vex``, ``endpoints`` and ``deliveries`` hold what was configured for the
    integration, and ``policy_results`` and ``bases`` what was derived from its images; removal deletes
    them (see :meth:`remove`). The app always has them too (None: a caller that keeps none of them).
    """

    records: IntegrationRecords
    repositories: RepositoryActivations
    images: ImageRecords
    sboms: SbomRecords
    reports: ReportRecords
    jobs: JobSink
    box: SecretBox
    public_url: str
    allow_insecure_registries: bool = False
    summaries: RepositorySummaries | None = None
    affected: AffectedImages | None = None
    packages: PackageOccurrences | None = None
    policy_results: PolicyResults | None = None
    policy_configs: PolicyConfigs | None = None
    vex: VexStatements | None = None
    bases: BaseRecords | None = None
    endpoints: NotificationEndpoints | None = None
    deliveries: NotificationDeliveries | None = None

    def get(self, integration_id: str) -> Integration:
        """The integration; :class:`NotFound` when there is none with that id."""
        integration = self.records.get(integration_id)
        if integration is None:
            raise NotFound(f"no integration {integration_id!r}")
        return integration

    def create(
        self, registry: object, username: object = None, password: object = None, insecure: object = False
    ) -> Outcome:
        """Create a ``pending`` integration for ``registry``; with a password, run the connection test at once.

        Raises :class:`InvalidInput` for a malformed host or credentials or a disallowed insecure registry,
        and :class:`Conflict` when the registry is already integrated.
        """
        host = normalize_registry_host(registry)
        if not isinstance(insecure, bool):
            raise InvalidInput("'insecure' must be true or false")
        if insecure and not (is_loopback(host) or self.allow_insecure_registries):
            raise InvalidInput(
                f"{host} is not on this machine: plain HTTP is allowed only for loopback registries "
                "unless LOOKOUT_ALLOW_INSECURE_REGISTRIES=true"
            )
        credentials = _credentials(username, password) if password is not None or username is not None else None
        existing = [i for i in self.records.list() if i.registry == host]
        if existing:
            raise Conflict(f"{host} is already integrated as {existing[0].id}; remove it first or set its token")
        integration = Integration(
            id=secrets.token_hex(8),
            registry=host,
            created=utc_now(),
            webhook_secret_encrypted=self.box.encrypt(new_webhook_secret()),
            insecure=insecure,
        )
        connection = None
        if credentials is not None:
            integration, connection = self._apply_token(integration, credentials)
        self.records.put(integration)
        log.info("integration %s created for %s (status %s)", integration.id, host, integration.status)
        return Outcome(integration, connection)

    def set_token(self, integration_id: str, username: object, password: object) -> Outcome:
        """Test ``password`` (of token ``username``, default ``docker-scout-readonly-token``); keep it if it works.

        On success the integration is ``connected`` and enabled with the new credentials (this is also
        how a password is rotated). On failure the stored credentials stay as they were and the error is
        recorded: a pending integration stays pending.
        """
        integration = self.get(integration_id)
        credentials = _credentials(username, password)
        updated, connection = self._apply_token(integration, credentials)
        self.records.put(updated)
        log.info("token of integration %s %s", integration.id, "replaced" if connection.ok else "refused")
        return Outcome(updated, connection)

    def _apply_token(self, integration: Integration, credentials: Credentials) -> tuple[Integration, ConnectionResult]:
        now = utc_now()
        result = run_connection_test(integration.registry, credentials, integration.insecure)
        if not result.ok:
            return replace(integration, last_error=result.message, last_error_at=now, last_tested=now), result
        return replace(
            integration,
            username=credentials.username,
            password_encrypted=self.box.encrypt(credentials.password),
            status="connected",
            enabled=True,
            last_error=None,
            last_error_at=None,
            last_tested=now,
        ), result

    def retest(self, integration_id: str) -> Outcome:
        """Run the connection test again with the stored credentials and record the result.

        A failure marks an enabled integration ``error`` (it stays enabled: the worker keeps trying,
        and the user sees why analyses fail); a pending one stays pending.
        """
        integration = self.get(integration_id)
        now = utc_now()
        credentials = self._stored_credentials(integration)
        if credentials is None:
            result = ConnectionResult(False, "no-token", "no token password has been set",
                                      "Set the token password: PUT /api/integrations/{id}/token")
        else:
            result = run_connection_test(integration.registry, credentials, integration.insecure)
        if result.ok:
            updated = replace(integration, status="connected", enabled=True, last_error=None, last_error_at=None,
                              last_tested=now)
        else:
            updated = replace(integration, status="error" if integration.enabled else "pending",
                              last_error=result.message, last_error_at=now, last_tested=now)
        self.records.put(updated)
        return Outcome(updated, result)

    def _stored_credentials(self, integration: Integration) -> Credentials | None:
        if integration.username and integration.password_encrypted:
            return Credentials(integration.username, self.box.decrypt(integration.password_encrypted))
        return None

    def webhook_url(self, integration: Integration) -> str:
        """The URL Event Grid delivers this integration's events to; it carries the webhook secret."""
        query = urlencode({"integration": integration.id, "secret": self.box.decrypt(integration.webhook_secret_encrypted)})
        return f"{self.public_url}/api/events?{query}"

    def authenticate_delivery(self, integration_id: str | None, secret: str | None) -> Integration | None:
        """The integration a webhook delivery is for, or None when the id or the secret does not match.

        The secret is compared in constant time.
        """
        if not integration_id or not secret or len(secret) > 256:
            return None
        integration = self.records.get(integration_id)
        if integration is None:
            return None
        if not secrets_equal(secret, self.box.decrypt(integration.webhook_secret_encrypted)):
            return None
        return integration

    def registry_client(self, integration: Integration, *, min_interval: float = 0.0) -> RegistryClient:
        """A client for the integration's registry with its stored credentials.

        ``min_interval`` paces the client's requests at least that many seconds apart (0: unpaced).
        Raises a permanent :class:`LookoutError` when the integration is not enabled: Lookout contacts
        only registries whose connection test passed.
        """
        if not integration.enabled:
            raise LookoutError(f"integration {integration.id} is not enabled", code="integration-disabled")
        return RegistryClient(integration.registry, self._stored_credentials(integration), insecure=integration.insecure,
                              min_interval=min_interval)

    def connect_json(self, outcome: Outcome) -> dict[str, Any]:
        """The answer to creating an integration: the record, its webhook URL and the registry template's inputs."""
        webhook = self.webhook_url(outcome.integration)
        body = integration_json(outcome.integration)
        body["webhook_url"] = webhook
        body["registry_template"] = registry_template_inputs(self.public_url, outcome.integration.registry, webhook)
        if outcome.connection is not None:
            body["connection"] = outcome.connection.to_json()
        return body

    def summarize(self) -> list[dict[str, Any]]:
        """Every integration with its health, activated repositories and analyzed images."""
        summaries = []
        for integration in self.records.list():
            body = integration_json(integration)
            body["activated_repositories"] = sum(self.repositories.enabled_repositories(integration.id).values())
            body["images_analyzed"] = self.images.count_analyzed(integration.registry)
            summaries.append(body)
        return summaries

    def repositories_json(self, integration_id: str) -> dict[str, Any]:
        """The registry's repositories with their activation state (and activated ones the registry no longer lists)."""
        integration = self.get(integration_id)
        with self.registry_client(integration) as client:
            names, truncated = list_repositories(client)
        settings = self.repositories.enabled_repositories(integration.id)
        listed = set(names)
        rows = [{"repository": n, "enabled": settings.get(n, False), "in_registry": True} for n in names]
        rows += [{"repository": n, "enabled": True, "in_registry": False}
                 for n, on in sorted(settings.items()) if on and n not in listed]
        return {"integration": integration.id, "registry": integration.registry, "repositories": rows, "truncated": truncated}

    def set_repositories(
        self, integration_id: str, repositories: object, enabled: object, actor: str = "unknown"
    ) -> dict[str, Any]:
        """Activate (and backfill) or deactivate ``repositories``: a name, a list of names, or ``"*"`` for all.

        Activation queues a backfill job per repository, which analyzes its latest image at once.
        Deactivation stops analysis of new pushes; existing results stay, and so does everything set for
        the repository (its policy configuration, the VEX documents scoped to it or its images), so that
        activating it again picks up where it was.
        """
        if not isinstance(enabled, bool):
            raise InvalidInput("'enabled' must be true or false")
        integration = self.get(integration_id)
        if repositories == "*":
            with self.registry_client(integration) as client:
                names, _ = list_repositories(client)
        elif isinstance(repositories, str):
            names = [repositories]
        elif isinstance(repositories, list) and all(isinstance(r, str) for r in repositories):
            names = list(dict.fromkeys(repositories))
        else:
            raise InvalidInput("'repositories' must be a list of repository names or \"*\" for all")
        if len(names) > MAX_BULK_REPOSITORIES:
            raise InvalidInput(f"at most {MAX_BULK_REPOSITORIES} repositories per call")
        names = [validate_repository(n) for n in names]
        now = utc_now()
        results = []
        for name in names:
            self.repositories.set_enabled(integration.id, name, enabled, now)
            if self.summaries is not None:
                refresh_repository(self.images, self.summaries, integration.registry, name, enabled=enabled)
            backfill = enabled and integration.enabled
            if backfill:
                self.jobs.put(Job(kind="backfill", integration_id=integration.id, registry=integration.registry,
                                  repository=name, digest="", event_time=now, reason="backfill"))
            results.append({"repository": name, "enabled": enabled, "backfill_queued": backfill})
        log.info("%d repositories of integration %s %s by %s", len(names), integration.id,
                 "activated" if enabled else "deactivated", actor)
        note = None if integration.enabled or not enabled else "the integration has no working token yet: nothing was backfilled"
        return {"integration": integration.id, "repositories": results, "note": note}

    def remove(self, integration_id: str, purge: bool, actor: str = "unknown") -> dict[str, Any]:
        """Remove the integration, everything configured for it and (``purge``) everything analyzed for it.

        Always removed: its repository settings, its policy configurations, its notification endpoints
        (encrypted URLs and secrets) with their delivery records, and the VEX documents scoped to its
        registry (they would otherwise go on applying to a registry integrated again, with no integration
        to list or remove them through). With ``purge`` also every image record, tag, SBOM, report,
        policy result and layer-chain entry of its registry, and its images leave every listing; without
        it the analyses and their listings stay (as last matched), every repository shown as deactivated.

        Every step is idempotent and keyed by the integration's id or registry, and the integration's
        record is deleted last: a removal that fails partway leaves the integration in place, and
        running it again completes it. Deliveries to its webhook URL are refused from then on. The
        answer lists what was deleted, the Azure resources that remain on the registry side and the
        commands that delete them.
        """
        integration = self.get(integration_id)
        self.repositories.delete_all(integration.id)
        configs = self.policy_configs.purge_integration(integration.id) if self.policy_configs is not None else 0
        endpoints = self._purge_endpoints(integration.id)
        documents = self.vex.purge_registry(integration.registry) if self.vex is not None else 0
        purged = 0
        if purge:
            for index in (self.affected, self.packages, self.summaries):
                if index is not None:
                    index.purge_registry(integration.registry)
            if self.bases is not None:
                self.bases.purge_registry(integration.registry)
            if self.policy_results is not None:
                self.policy_results.purge_registry(integration.registry)
            purged = self.images.purge_registry(integration.registry)
            self.sboms.purge_registry(integration.registry)
            self.reports.purge_registry(integration.registry)
        else:
            self._deactivate_summaries(integration.registry)
        self.records.delete(integration.id)
        log.warning("integration %s (%s) removed by %s; purge=%s, %d images, %d notification endpoints, "
                    "%d VEX documents and %d policy configurations deleted", integration.id, integration.registry,
                    actor, purge, purged, endpoints, documents, configs)
        return {
            "removed": integration.id,
            "registry": integration.registry,
            "images_deleted": purged,
            "analyses_kept": not purge,
            "notification_endpoints_deleted": endpoints,
            "vex_documents_deleted": documents,
            "policy_configurations_deleted": configs,
            "remaining_azure_resources": [
                f"the registry token {TOKEN_NAME} on {integration.registry}",
                "the Event Grid system topic docker-scout-repository and its webhook subscription",
            ],
            "cleanup_commands": cleanup_commands(integration.registry),
        }

    def _purge_endpoints(self, integration_id: str) -> int:
        """Delete the integration's notification endpoints, each one's delivery records first (a retry still finds
        the endpoints whose records are left); how many endpoints."""
        if self.endpoints is None:
            return 0
        if self.deliveries is not None:
            for endpoint in self.endpoints.list(integration_id):
                self.deliveries.delete_all(endpoint.id)
        return self.endpoints.purge_integration(integration_id)

    def _deactivate_summaries(self, registry: str) -> None:
        """Show every repository of ``registry`` as deactivated (its settings are gone)."""
        if self.summaries is None:
            return
        activated: list[str] = []
        cursor = None
        while True:
            page = self.summaries.list(registry, 500, cursor)
            activated += [s.repository for s in page.items if s.enabled]
            if page.cursor is None or not any(s.enabled for s in page.items):
                break
            cursor = page.cursor
        for repository in activated:
            refresh_repository(self.images, self.summaries, registry, repository, enabled=False)
