"""End to end: advisories imported with the CLI, an image with vulnerable Python and npm packages matched by
the worker, findings from the API, and an advisory update re-matching stored SBOMs without registry traffic."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testkit.events import image_pushed
from testkit.images import push_image
from testkit.localhost import PROJECT_ROOT
from testkit.stack import Stack

pytestmark = pytest.mark.e2e

PYPA = Path(__file__).resolve().parents[3] / "shared" / "advisories" / "pypa" / "vulns"

METADATA = "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test\n"


def dist_info(name: str, version: str) -> dict[str, str]:
    base = f"usr/local/lib/python3.11/site-packages/{name}-{version}.dist-info"
    return {f"{base}/METADATA": METADATA.format(name=name, version=version), f"{base}/RECORD": ""}


def npm_package(name: str, version: str) -> dict[str, str]:
    return {f"app/node_modules/{name}/package.json": json.dumps({"name": name, "version": version})}


def osv_record(record_id: str, ecosystem: str, name: str, fixed: str, *, modified: str = "2026-01-01T00:00:00Z",
               severity: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "schema_version": "1.6.0", "id": record_id, "modified": modified, "published": modified,
        "summary": f"{name} flaw", "details": "crafted for the test",
        "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}],
        "references": [{"type": "ADVISORY", "url": f"https://example.test/{record_id}"}],
    }
    if severity:
        record["severity"] = [{"type": "CVSS_V3", "score": severity}]
    return record


def lookout(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with the app's storage settings, as an operator runs it next to the app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOKOUT_", "AzureWebJobs"))}
    env.update({k: v for k, v in stack.app.settings.items()})
    return subprocess.run([sys.executable, "-m", "shared.cli.main", *args], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=300, check=False)


def vulnerabilities(stack: Stack, repository: str, reference: str, **filters: str) -> Any:
    response = stack.http.get(f"{stack.app.url}/api/images/vulnerabilities", timeout=30, params={
        "registry": stack.registry.host, "repository": repository, "reference": reference, **filters})
    assert response.status_code == 200, response.text
    return response.json()


def test_vulnerable_image_matched_and_kept_current(stack: Stack, tmp_path: Path) -> None:
    advisories = tmp_path / "advisories"
    shutil.copytree(PYPA / "requests", advisories / "pypa" / "requests")
    (advisories / "npm").mkdir(parents=True)
    (advisories / "npm" / "GHSA-test-lodash.json").write_text(json.dumps(osv_record(
        "GHSA-test-lodash", "npm", "lodash", "4.17.21", severity="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")))
    imported = lookout(stack, "advisories", "import", str(advisories))
    assert imported.returncode == 0, imported.stderr
    assert "0 problems" in imported.stdout

    stack.activate("vuln/app")
    pushed = push_image(stack.registry, "vuln/app", "1", [
        {**dist_info("requests", "2.19.0"), **dist_info("urllib3", "1.26.0")},
        npm_package("lodash", "4.17.15"),
    ])
    stack.post_events([image_pushed(stack.registry.host, "vuln/app", str(pushed.digest), "1", pushed.media_type,
                                    pushed.size)])
    image = stack.wait_for_image("vuln/app", "1")
    assert image["vulnerabilities"]["critical"] >= 1  # the crafted lodash record is CVSS 9.8
    report = vulnerabilities(stack, "vuln/app", "1")
    (platform,) = report["platforms"]
    by_package: dict[str, list[dict[str, Any]]] = {}
    for finding in platform["findings"]:
        by_package.setdefault(finding["name"], []).append(finding)
    assert {"requests", "lodash"} <= set(by_package)
    assert "urllib3" not in by_package  # no urllib3 advisory imported yet
    lodash = by_package["lodash"][0]
    assert (lodash["id"], lodash["installed_version"], lodash["fixed_versions"]) == ("GHSA-test-lodash", "4.17.15",
                                                                                     ["4.17.21"])
    assert lodash["severity"]["rating"] == "critical" and lodash["severity"]["score"] == 9.8
    assert lodash["locations"][0]["path"] == "/app/node_modules/lodash/package.json"
    assert any(f["id"] == "CVE-2018-18074" or "CVE-2018-18074" in f["aliases"] for f in by_package["requests"])
    critical_only = vulnerabilities(stack, "vuln/app", "1", severity="critical")
    assert {f["name"] for f in critical_only["platforms"][0]["findings"]} == {"lodash"}
    assert all(f["fixable"] for f in vulnerabilities(stack, "vuln/app", "1", fixable="true")["platforms"][0]["findings"])
    total_before = sum(image["vulnerabilities"].values())

    # A new advisory for a package of the stored SBOM: re-matched without any registry traffic.
    stack.registry.blob_downloads.reset()
    tokens_before = len(stack.registry.token_requests)
    update = tmp_path / "update"
    update.mkdir()
    (update / "PYSEC-TEST-1.json").write_text(json.dumps(osv_record("PYSEC-TEST-1", "PyPI", "urllib3", "1.26.5")))
    rematched = lookout(stack, "advisories", "import", str(update))
    assert rematched.returncode == 0, rematched.stderr
    assert f"{stack.registry.host}/vuln/app@{pushed.digest}" in rematched.stdout
    assert stack.registry.blob_downloads.total() == 0
    assert len(stack.registry.token_requests) == tokens_before
    after = vulnerabilities(stack, "vuln/app", "1")
    assert any(f["id"] == "PYSEC-TEST-1" and f["name"] == "urllib3" for f in after["platforms"][0]["findings"])
    image_after = stack.image("vuln/app", "1").json()
    assert sum(image_after["vulnerabilities"].values()) == total_before + 1
    assert image_after["platforms"][0]["advisory_snapshot"] != image["platforms"][0]["advisory_snapshot"]

    # Importing the same data again changes nothing.
    again = lookout(stack, "advisories", "import", str(update), "--json")
    assert json.loads(again.stdout)[0]["images_changed"] == []
