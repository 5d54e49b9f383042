"""checkov on infra/: no failed check, every skip justified inline, and no skip left that nothing needs.

checkov lives in its own virtual environment (its dependencies clash with the app's pins); the test
finds it through LOOKOUT_CHECKOV, by default .venv-checkov/bin/checkov, which `make setup` installs.
ARM templates have no comments, so a skip is a ``"metadata": {"checkov": ["CKV_...: reason"]}`` entry
on the resource, which Resource Manager ignores.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.templates import INFRA, PROJECT

CHECKOV_VERSION = "3.3.30"
CHECKOV = Path(os.environ.get("LOOKOUT_CHECKOV", str(PROJECT / ".venv-checkov" / "bin" / "checkov")))


@pytest.fixture(scope="module")
def checkov() -> Path:
    if not CHECKOV.is_file():
        pytest.fail(
            f"checkov is not installed at {CHECKOV}: run `make setup`, which installs checkov=={CHECKOV_VERSION} "
            "into .venv-checkov (or point LOOKOUT_CHECKOV at a checkov executable)"
        )
    return CHECKOV


@pytest.fixture(scope="module")
def infra_reports(checkov: Path) -> list[dict[str, Any]]:
    """checkov's reports on infra/ as it is."""
    return scan(checkov, INFRA)


def scan(checkov: Path, directory: Path) -> list[dict[str, Any]]:
    """checkov's JSON reports for ``directory``: one per framework that found something to check."""
    env = {**os.environ, "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "LOG_LEVEL": "ERROR"}
    env.pop("BC_API_KEY", None)
    result = subprocess.run(
        [str(checkov), "--directory", str(directory), "--skip-download", "--output", "json", "--compact"],
        capture_output=True, text=True, env=env, timeout=240, check=False,
    )
    assert result.returncode in (0, 1), f"checkov crashed:\n{result.stderr[-3000:]}"
    document = json.loads(result.stdout)
    reports = document if isinstance(document, list) else [document]
    return [r for r in reports if isinstance(r, dict) and "results" in r]


def results(reports: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [check for report in reports for check in report["results"][kind]]


def without_skips(value: Any, key: str = "") -> Any:
    """The template without its ``metadata.checkov`` skip lists."""
    if isinstance(value, dict):
        return {k: without_skips(v, k) for k, v in value.items() if not (key == "metadata" and k == "checkov")}
    if isinstance(value, list):
        return [without_skips(v) for v in value]
    return value


def test_checkov_version(checkov: Path) -> None:
    result = subprocess.run([str(checkov), "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.strip() == CHECKOV_VERSION, f"make setup should pin checkov=={CHECKOV_VERSION}"


def test_checkov_passes_with_every_skip_justified(infra_reports: list[dict[str, Any]]) -> None:
    reports = infra_reports
    assert results(reports, "passed_checks"), "checkov checked nothing: is infra/ there?"
    failed = [f"{c['check_id']} {c['check_name']} — {c['file_path']} {c['resource']}"
              for c in results(reports, "failed_checks")]
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    for check in results(reports, "skipped_checks"):
        comment = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(comment.strip()) >= 40 and comment != "No comment provided", (
            f"{check['check_id']} on {check['resource']} is skipped without a real reason: {comment!r}"
        )


def test_every_skip_silences_a_real_failure(
    checkov: Path, infra_reports: list[dict[str, Any]], tmp_path: Path
) -> None:
    for template in INFRA.glob("*.json"):
        document = json.loads(template.read_text(encoding="utf-8"))
        (tmp_path / template.name).write_text(json.dumps(without_skips(document), indent=2), encoding="utf-8")
    skipped = {(c["check_id"], c["resource"]) for c in results(infra_reports, "skipped_checks")}
    failing = {(c["check_id"], c["resource"]) for c in results(scan(checkov, tmp_path), "failed_checks")}
    assert skipped == failing, f"stale skips: {sorted(skipped - failing)}; unskipped: {sorted(failing - skipped)}"
