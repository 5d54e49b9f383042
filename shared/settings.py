"""Every setting Lookout reads, in one place.

Precedence, highest first: process environment variables (app settings in Azure), the ``Values`` of
``local.settings.json`` at the project root (local development), then the defaults declared in
:data:`SETTINGS`. ``local.settings.sample.json``, the README and ``infra/main.json`` list the same
names; tests check that they agree.

Storage is configured either by a connection string in ``AzureWebJobsStorage`` (locally, where
``UseDevelopmentStorage=true`` is expanded to Azurite's full connection string here, because the
Python SDKs accept the short form unevenly) or by identity-based ``AzureWebJobsStorage__*`` settings
(in Azure, with a managed identity).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from shared.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_SETTINGS_FILE = PROJECT_ROOT / "local.settings.json"

AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"


@dataclass(frozen=True)
class Setting:
    """One named setting: who reads it, its default, what it means.

    ``read_by`` is ``"app"`` for settings Lookout's code reads, ``"host"`` for ones the Functions
    host or the platform reads (Lookout may read them too, but the deployment must set them for the
    host's sake), and ``"platform"`` for variables Azure sets by itself and a template must not set.
    ``local_only`` marks settings only a local run uses, which the deployment template must not set
    (in Azure the identity-based ``AzureWebJobsStorage__*`` settings replace the connection string).
    """

    name: str
    description: str
    default: str | None = None
    read_by: Literal["app", "host", "platform"] = "app"
    azure_only: bool = False
    local_only: bool = False

    @property
    def deployed(self) -> bool:
        """True when ``infra/main.json`` sets this setting on the function app."""
        return self.read_by != "platform" and not self.local_only


OSV_FEED_BASE = "https://osv-vulnerabilities.storage.googleapis.com"
"""Where OSV publishes one ``all.zip`` per ecosystem."""

MATCHED_ECOSYSTEMS = (
    "PyPI", "npm", "Go", "Maven", "crates.io", "RubyGems", "NuGet", "Packagist", "Hex", "Pub",
    "Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard", "AlmaLinux", "Rocky Linux",
)  # fmt: skip
"""The OSV ecosystems whose packages Lookout's catalogers find and its matcher reads."""

DEBIAN_TRACKER_FEED = "https://security-tracker.debian.org/tracker/data/json"
"""The Debian security tracker's JSON: it also knows the vulnerabilities Debian has not fixed yet."""

DEFAULT_ADVISORY_FEEDS = (
    *(f"{OSV_FEED_BASE}/{quote(ecosystem)}/all.zip" for ecosystem in MATCHED_ECOSYSTEMS),
    DEBIAN_TRACKER_FEED,
)
"""The feeds a new installation imports: OSV's feed of every matched ecosystem, and the Debian tracker."""


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "AzureWebJobsStorage",
        "Storage connection string (locally; `UseDevelopmentStorage=true` means Azurite on its default ports).",
        default=DEVELOPMENT_STORAGE,
        read_by="host",
        local_only=True,
    ),
    Setting(
        "AzureWebJobsStorage__accountName",
        "Storage account name for identity-based connections (Azure).",
        read_by="host",
        azure_only=True,
    ),
    Setting(
        "AzureWebJobsStorage__blobServiceUri",
        "Blob service URI for identity-based connections (Azure).",
        read_by="host",
        azure_only=True,
    ),
    Setting(
        "AzureWebJobsStorage__queueServiceUri",
        "Queue service URI for identity-based connections (Azure).",
        read_by="host",
        azure_only=True,
    ),
    Setting(
        "AzureWebJobsStorage__tableServiceUri",
        "Table service URI for identity-based connections (Azure).",
        read_by="host",
        azure_only=True,
    ),
    Setting(
        "AzureWebJobsStorage__credential",
        "`managedidentity` for identity-based connections with a user-assigned identity (Azure).",
        read_by="host",
        azure_only=True,
    ),
    Setting(
        "AzureWebJobsStorage__clientId",
        "Client ID of the user-assigned managed identity used for storage (Azure).",
        read_by="host",
        azure_only=True,
    ),
    Setting(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "Application Insights connection string for the host's telemetry (Azure).",
        read_by="host",
        azure_only=True,
    ),
    Setting(
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "`ClientId=<identity client ID>;Authorization=AAD`: the host sends telemetry with the managed "
        "identity, because the Application Insights resource accepts no key-only ingestion (Azure).",
        read_by="host",
        azure_only=True,
    ),
    Setting(
        "LOOKOUT_TABLE_PREFIX",
        "Prefix of every Table storage table Lookout owns (letters and digits only).",
        default="lookout",
    ),
    Setting(
        "LOOKOUT_PUBLIC_URL",
        "Base URL under which registries reach this app; webhook URLs are built from it. "
        "Defaults to https://$WEBSITE_HOSTNAME in Azure and http://localhost:7071 locally.",
        default="",
    ),
    Setting(
        "LOOKOUT_ENCRYPTION_KEY",
        "Key (Fernet, url-safe base64 of 32 bytes) that encrypts registry token passwords at rest; "
        "a Key Vault reference in Azure. `make setup` generates one for local.settings.json.",
        default="",
    ),
    Setting(
        "LOOKOUT_ALLOW_INSECURE_REGISTRIES",
        "`true` lets integrations use plain HTTP or unverified TLS for registries that are not on the "
        "loopback interface. Loopback registries may always be marked insecure.",
        default="false",
    ),
    Setting(
        "LOOKOUT_ADVISORY_SOURCE",
        "Where advisories come from: `mirror` (the offline OSV mirror in Table storage, refreshed from "
        "LOOKOUT_ADVISORY_FEEDS) or `osv-api` (queries to LOOKOUT_OSV_API_URL).",
        default="mirror",
    ),
    Setting(
        "LOOKOUT_ADVISORY_FEEDS",
        "Comma-separated https URLs of advisory feeds — OSV `all.zip` files (one per ecosystem) and the Debian "
        "security tracker's JSON — that the app imports into the mirror when it starts and every six hours. "
        "Defaults to OSV's public feed of every ecosystem Lookout matches and the Debian tracker; empty leaves "
        "the mirror to `lookout advisories import`.",
        default=",".join(DEFAULT_ADVISORY_FEEDS),
    ),
    Setting(
        "LOOKOUT_OSV_API_URL",
        "Base URL of the OSV API when LOOKOUT_ADVISORY_SOURCE is `osv-api`.",
        default="https://api.osv.dev",
    ),
    Setting(
        "LOOKOUT_ANALYSIS_LEASE_SECONDS",
        "Seconds a worker holds an image's analysis lease (whole seconds, 1 to 86400; 900 is 15 minutes). "
        "A worker that dies leaves its lease to run out before another job may analyze the image (the dead "
        "worker's own job, redelivered, takes it back at once). Longer than any analysis; shorter only in tests.",
        default="900",
        local_only=True,
    ),
    Setting(
        "LOOKOUT_ANALYSIS_CONCURRENCY",
        "Layers of one image the worker downloads and reads at the same time (1 to 16; 1 reads them one after "
        "the other). Each adds about a read buffer and one wanted file to the worker's memory.",
        default="2",
    ),
    Setting(
        "LOOKOUT_REMATCH_CONCURRENCY",
        "Stored SBOMs a re-match after an advisory update reads, matches and writes at a time (1 to 32). "
        "Storage calls wait on the network, so a few threads overlap them.",
        default="8",
    ),
    Setting(
        "LOOKOUT_NOTIFICATION_RETENTION_DAYS",
        "Days a notification delivery record is kept after its last update (whole days, 1 to 3650); the daily "
        "housekeeping deletes older ones but each endpoint's latest delivery.",
        default="30",
    ),
    Setting(
        "LOOKOUT_NOTIFY_ALLOW_PRIVATE",
        "`true` lets notification webhooks go to private (non-global) addresses when the app runs in Azure. "
        "Link-local and cloud metadata addresses are always refused; locally, loopback and private addresses "
        "are allowed.",
        default="false",
    ),
    Setting(
        "WEBSITE_HOSTNAME",
        "The app's default host name, set by Azure App Service.",
        read_by="platform",
    ),
    Setting(
        "AZURE_FUNCTIONS_ENVIRONMENT",
        "`Development` under `func start` and `lookout serve`; Azure sets `Production`.",
        read_by="platform",
    ),
)



def azurite_connection_string(host: str = "127.0.0.1", blob: int = 10000, queue: int = 10001, table: int = 10002) -> str:
    """The full Azurite connection string for the given host and ports."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://{host}:{blob}/{AZURITE_ACCOUNT};"
        f"QueueEndpoint=http://{host}:{queue}/{AZURITE_ACCOUNT};"
        f"TableEndpoint=http://{host}:{table}/{AZURITE_ACCOUNT};"
    )


@dataclass(frozen=True)
class StorageConfig:
    """How to reach Azure Storage: a connection string, or identity-based service URIs.

    Exactly one of ``connection_string`` and (``queue_service_uri``, ``table_service_uri``) is set.
    ``managed_identity_client_id`` selects a user-assigned identity when identity-based.
    """

    connection_string: str | None = None
    queue_service_uri: str | None = None
    table_service_uri: str | None = None
    managed_identity_client_id: str | None = None

    def __repr__(self) -> str:  # the connection string holds the account key
        kind = "connection string" if self.connection_string else f"identity, {self.table_service_uri}"
        return f"StorageConfig({kind})"


@dataclass(frozen=True)
class Settings:
    """Lookout's resolved configuration. Build it with :func:`load`."""

    storage: StorageConfig
    table_prefix: str
    public_url: str
    encryption_key: str
    allow_insecure_registries: bool
    environment: str
    advisory_source: str = "mirror"
    advisory_feeds: tuple[str, ...] = DEFAULT_ADVISORY_FEEDS
    osv_api_url: str = "https://api.osv.dev"
    analysis_lease_seconds: int = 900
    notify_allow_private: bool = False
    in_azure: bool = False
    analysis_concurrency: int = 2
    rematch_concurrency: int = 8
    notification_retention_days: int = 30

    @property
    def development(self) -> bool:
        """True under ``func start`` and ``lookout serve`` (``AZURE_FUNCTIONS_ENVIRONMENT=Development``)."""
        return self.environment.lower() == "development"

    def __repr__(self) -> str:
        return (
            f"Settings(storage={self.storage!r}, table_prefix={self.table_prefix!r}, "
            f"public_url={self.public_url!r}, environment={self.environment!r})"
        )


def read_local_settings(path: Path = LOCAL_SETTINGS_FILE) -> dict[str, str]:
    """The ``Values`` of a ``local.settings.json`` file; empty when the file does not exist."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} is not readable JSON: {exc}") from exc
    values = document.get("Values", {}) if isinstance(document, dict) else {}
    if not isinstance(values, dict):
        raise ConfigurationError(f"{path}: 'Values' must be an object of strings")
    return {str(k): str(v) for k, v in values.items() if v is not None}


def raw_values(environ: Mapping[str, str] | None = None, local_settings: Path | None = LOCAL_SETTINGS_FILE) -> dict[str, str]:
    """Every setting's raw string value after precedence (environment > local.settings.json > default)."""
    env = os.environ if environ is None else environ
    local = read_local_settings(local_settings) if local_settings is not None else {}
    values: dict[str, str] = {}
    for setting in SETTINGS:
        if setting.name in env:
            values[setting.name] = env[setting.name]
        elif setting.name in local:
            values[setting.name] = local[setting.name]
        elif setting.default is not None:
            values[setting.name] = setting.default
    return values


def _truthy(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, not {value!r}")


def _storage(values: Mapping[str, str]) -> StorageConfig:
    account = values.get("AzureWebJobsStorage__accountName", "").strip()
    queue_uri = values.get("AzureWebJobsStorage__queueServiceUri", "").strip()
    table_uri = values.get("AzureWebJobsStorage__tableServiceUri", "").strip()
    if account or queue_uri or table_uri:
        queue_uri = queue_uri or f"https://{account}.queue.core.windows.net"
        table_uri = table_uri or f"https://{account}.table.core.windows.net"
        client_id = values.get("AzureWebJobsStorage__clientId", "").strip() or None
        return StorageConfig(queue_service_uri=queue_uri, table_service_uri=table_uri, managed_identity_client_id=client_id)
    connection = values.get("AzureWebJobsStorage", "").strip()
    if not connection:
        raise ConfigurationError("no storage configured: set AzureWebJobsStorage or AzureWebJobsStorage__accountName")
    if connection.replace(" ", "").rstrip(";").lower() == DEVELOPMENT_STORAGE.lower():
        connection = azurite_connection_string()
    return StorageConfig(connection_string=connection)


def _public_url(values: Mapping[str, str]) -> str:
    explicit = values.get("LOOKOUT_PUBLIC_URL", "").strip()
    if explicit:
        if not explicit.startswith(("http://", "https://")):
            raise ConfigurationError(f"LOOKOUT_PUBLIC_URL must be an http(s) URL, not {explicit!r}")
        return explicit.rstrip("/")
    hostname = values.get("WEBSITE_HOSTNAME", "").strip()
    if hostname:
        return f"https://{hostname}"
    return "http://localhost:7071"


def load(environ: Mapping[str, str] | None = None, local_settings: Path | None = LOCAL_SETTINGS_FILE) -> Settings:
    """Resolve every setting; raise :class:`ConfigurationError` naming the setting that is wrong.

    Outside development (``AZURE_FUNCTIONS_ENVIRONMENT`` other than ``Development``) the encryption
    key is mandatory; locally it is too, but ``make setup`` writes one to ``local.settings.json``.
    """
    env = os.environ if environ is None else environ
    values = raw_values(env, local_settings)
    # Platform variables are never in local.settings.json defaults; read them straight from the environment.
    for name in ("WEBSITE_HOSTNAME", "AZURE_FUNCTIONS_ENVIRONMENT"):
        if name in env:
            values[name] = env[name]
    prefix = values["LOOKOUT_TABLE_PREFIX"]
    if not prefix.isalnum() or not prefix[:1].isalpha() or len(prefix) > 40:
        raise ConfigurationError("LOOKOUT_TABLE_PREFIX must be letters and digits, starting with a letter, at most 40")
    key = values.get("LOOKOUT_ENCRYPTION_KEY", "").strip()
    if not key:
        raise ConfigurationError(
            "LOOKOUT_ENCRYPTION_KEY is not set: it encrypts registry passwords at rest. "
            "Locally `make setup` writes one to local.settings.json; in Azure it is a Key Vault reference."
        )
    return Settings(
        storage=_storage(values),
        table_prefix=prefix,
        public_url=_public_url(values),
        encryption_key=key,
        allow_insecure_registries=_truthy("LOOKOUT_ALLOW_INSECURE_REGISTRIES", values["LOOKOUT_ALLOW_INSECURE_REGISTRIES"]),
        environment=values.get("AZURE_FUNCTIONS_ENVIRONMENT", "Production") or "Production",
        advisory_source=_choice("LOOKOUT_ADVISORY_SOURCE", values["LOOKOUT_ADVISORY_SOURCE"], ("mirror", "osv-api")),
        advisory_feeds=_urls("LOOKOUT_ADVISORY_FEEDS", values["LOOKOUT_ADVISORY_FEEDS"]),
        osv_api_url=_urls("LOOKOUT_OSV_API_URL", values["LOOKOUT_OSV_API_URL"])[0],
        notify_allow_private=_truthy("LOOKOUT_NOTIFY_ALLOW_PRIVATE", values["LOOKOUT_NOTIFY_ALLOW_PRIVATE"]),
        in_azure=bool(values.get("WEBSITE_HOSTNAME", "").strip())
        and (values.get("AZURE_FUNCTIONS_ENVIRONMENT") or "Production").lower() != "development",
        analysis_lease_seconds=_whole("LOOKOUT_ANALYSIS_LEASE_SECONDS", values["LOOKOUT_ANALYSIS_LEASE_SECONDS"],
                                      high=86400),
        analysis_concurrency=_whole("LOOKOUT_ANALYSIS_CONCURRENCY", values["LOOKOUT_ANALYSIS_CONCURRENCY"], high=16),
        rematch_concurrency=_whole("LOOKOUT_REMATCH_CONCURRENCY", values["LOOKOUT_REMATCH_CONCURRENCY"], high=32),
        notification_retention_days=_whole("LOOKOUT_NOTIFICATION_RETENTION_DAYS",
                                           values["LOOKOUT_NOTIFICATION_RETENTION_DAYS"], high=3650),
    )


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value.strip() not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value.strip()


def _whole(name: str, value: str, *, high: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    if not 1 <= number <= high:
        raise ConfigurationError(f"{name} must be a whole number from 1 to {high}, not {value!r}")
    return number


def _urls(name: str, value: str) -> tuple[str, ...]:
    urls = tuple(u.strip() for u in value.split(",") if u.strip())
    for url in urls:
        if not url.startswith(("https://", "http://127.", "http://localhost")):
            raise ConfigurationError(f"{name} must list https URLs, not {url!r}")
    return urls

