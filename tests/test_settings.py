"""The settings module: precedence, expansion of development storage, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.errors import ConfigurationError
from shared.settings import SETTINGS, azurite_connection_string, load

KEY = "k" * 43 + "="


def write_local(tmp_path: Path, values: dict[str, str]) -> Path:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    return path


def test_environment_beats_local_settings_beats_defaults(tmp_path: Path) -> None:
    local = write_local(tmp_path, {"LOOKOUT_TABLE_PREFIX": "fromfile", "LOOKOUT_ENCRYPTION_KEY": KEY,
                                   "LOOKOUT_PUBLIC_URL": "https://file.example"})
    settings = load({"LOOKOUT_TABLE_PREFIX": "fromenv"}, local)
    assert settings.table_prefix == "fromenv"
    assert settings.public_url == "https://file.example"
    assert settings.encryption_key == KEY
    assert settings.storage.connection_string == azurite_connection_string()


def test_public_url_from_website_hostname(tmp_path: Path) -> None:
    settings = load({"LOOKOUT_ENCRYPTION_KEY": KEY, "WEBSITE_HOSTNAME": "app.azurewebsites.net"}, None)
    assert settings.public_url == "https://app.azurewebsites.net"
    assert not settings.development


def test_identity_based_storage() -> None:
    settings = load({"LOOKOUT_ENCRYPTION_KEY": KEY, "AzureWebJobsStorage__accountName": "acct",
                     "AzureWebJobsStorage__clientId": "cid"}, None)
    assert settings.storage.connection_string is None
    assert settings.storage.table_service_uri == "https://acct.table.core.windows.net"
    assert settings.storage.queue_service_uri == "https://acct.queue.core.windows.net"
    assert settings.storage.managed_identity_client_id == "cid"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({}, "LOOKOUT_ENCRYPTION_KEY"),
        ({"LOOKOUT_ENCRYPTION_KEY": KEY, "LOOKOUT_TABLE_PREFIX": "bad-prefix"}, "LOOKOUT_TABLE_PREFIX"),
        ({"LOOKOUT_ENCRYPTION_KEY": KEY, "LOOKOUT_PUBLIC_URL": "ftp://x"}, "LOOKOUT_PUBLIC_URL"),
        ({"LOOKOUT_ENCRYPTION_KEY": KEY, "LOOKOUT_ALLOW_INSECURE_REGISTRIES": "maybe"}, "LOOKOUT_ALLOW_INSECURE"),
        ({"LOOKOUT_ENCRYPTION_KEY": KEY, "AzureWebJobsStorage": ""}, "AzureWebJobsStorage"),
        ({"LOOKOUT_ENCRYPTION_KEY": KEY, "LOOKOUT_ANALYSIS_LEASE_SECONDS": "0"}, "LOOKOUT_ANALYSIS_LEASE_SECONDS"),
    ],
)
def test_errors_name_the_setting(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError, match=named):
        load(environ, None)


def test_sample_lists_every_setting_the_app_reads() -> None:
    sample = json.loads((Path(__file__).resolve().parents[1] / "local.settings.sample.json").read_text())["Values"]
    local_names = {s.name for s in SETTINGS if s.read_by != "platform" and not s.azure_only}
    assert local_names <= set(sample)
    assert set(sample) - {"FUNCTIONS_WORKER_RUNTIME"} <= {s.name for s in SETTINGS}


def test_storage_config_repr_hides_the_key() -> None:
    settings = load({"LOOKOUT_ENCRYPTION_KEY": KEY}, None)
    assert "Eby8" not in repr(settings) and KEY not in repr(settings)
