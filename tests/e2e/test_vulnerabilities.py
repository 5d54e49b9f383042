"""End to end: advisories imported with the CLI, an image with vulnerable Python and npm packages matched by
the worker, findings from the API, and an advisory update re-matching stored SBOMs without registry traffic."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from testkit.contents import dist_info, npm_package, osv_record, write_records
from testkit.events import image_pushed
from testkit.images import push_image
from testkit.stack import Stack
from tests.vulns.support import PYPA

pytestmark = pytest.mark.e2e

def vulnerabilities(stack: Stack, repository: str, reference: str, **filters: str) -> Any:
    response = stack.http.get(f"{stack.app.url}/api/images/vulnerabilities", timeout=30, params={
        "registry": stack.registry.host, "repository": repository, "reference": reference, **filters})
    assert response.status_code == 200, response.text
    return response.json()


def test_vulnerable_image_matched_and_kept_current(stack: Stack, tmp_path: Path) -> None:
    advisories = tmp_path / "advisories"
    shutil.copytree(PYPA / "requests", advisories / "pypa" / "requests")
    write_records(advisories, {"npm/GHSA-test-lodash.json": osv_record(
        "GHSA-test-lodash", "npm", "lodash", "4.17.21", severity="CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")})
    imported = stack.lookout("advisories", "import", str(advisories))
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
    update = write_records(tmp_path / "update", {"PYSEC-TEST-1.json": osv_record("PYSEC-TEST-1", "PyPI", "urllib3",
                                                                                 "1.26.5")})
    rematched = stack.lookout("advisories", "import", str(update))
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
    again = stack.lookout("advisories", "import", str(update), "--json")
    assert json.loads(again.stdout)[0]["images_changed"] == []
