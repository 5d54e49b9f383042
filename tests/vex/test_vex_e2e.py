"""End to end on the real stack (``lookout serve`` on Azurite, the test registry): VEX imported for an analyzed
image suppresses its finding in the API, the CLI table and SARIF with its justification, the counts drop,
a re-match after an advisory update keeps it suppressed, an invalid document is refused with the path at
fault, and removing the document brings the finding back into the counts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testkit.contents import dist_info, npm_package, osv_record, write_records
from testkit.events import image_pushed
from testkit.images import PushedImage, push_image
from testkit.localhost import PROJECT_ROOT
from testkit.processes import wait_until
from testkit.registry import RegistryServer
from testkit.schemas import assert_valid_sarif
from testkit.stack import Stack, running_stack

pytestmark = pytest.mark.e2e

REPOSITORY = "vex/app"
CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
JUSTIFICATION = "vulnerable_code_not_in_execute_path"
IMPACT = "the proxy code of requests is never called"


def records(modified: str) -> dict[str, dict[str, Any]]:
    return {
        "pypi/PYSEC-VEX-1.json": osv_record("PYSEC-VEX-1", "PyPI", "requests", "2.20.0", aliases=("CVE-2099-3001",),
                                            severity=HIGH, modified=modified),
        "npm/GHSA-vex-lodash.json": osv_record("GHSA-vex-lodash", "npm", "lodash", "4.17.21", severity=CRITICAL),
    }


def api(stack: Stack, path: str, **params: str) -> Any:
    response = stack.http.get(f"{stack.app.url}/api/{path}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def user_lookout(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """``lookout ARGS`` as a user runs it against the app's API (``LOOKOUT_URL``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOKOUT_", "AzureWebJobs"))}
    return subprocess.run([sys.executable, "-m", "shared.cli.main", *args], env={**env, "LOOKOUT_URL": stack.app.url},
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def analyzed(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, PushedImage]]:
    with running_stack(registry, "vexe2e") as stack:
        advisories = write_records(tmp_path_factory.mktemp("advisories"), records("2026-01-01T00:00:00Z"))
        done = stack.lookout("advisories", "import", str(advisories))
        assert done.returncode == 0, done.stderr
        stack.activate(REPOSITORY)
        image = push_image(stack.registry, REPOSITORY, "1.0",
                           [{**dist_info("requests", "2.19.0"), **npm_package("lodash", "4.17.15")}])
        answer = stack.post_events([image_pushed(stack.registry.host, REPOSITORY, str(image.digest), "1.0",
                                                 image.media_type, image.size)])
        assert answer.status_code == 200, answer.text
        stack.wait_for_image(REPOSITORY, "1.0")
        wait_until(stack.drained, timeout=30, what="the analysis job to complete")
        yield stack, image


def openvex(stack: Stack, image: PushedImage, status: str = "not_affected") -> dict[str, Any]:
    return {
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.test/vex/e2e-1", "author": "e2e",
        "timestamp": "2026-03-01T00:00:00Z", "version": 1,
        "statements": [{
            "vulnerability": {"name": "CVE-2099-3001", "aliases": ["PYSEC-VEX-1"]},
            "products": [{"@id": f"pkg:oci/app@{image.digest}?repository_url={stack.registry.host}/{REPOSITORY}",
                          "subcomponents": [{"@id": "pkg:pypi/requests"}]}],
            "status": status, "justification": JUSTIFICATION, "impact_statement": IMPACT,
        }],
    }


def findings(stack: Stack) -> dict[str, dict[str, Any]]:
    body = api(stack, "images/vulnerabilities", registry=stack.registry.host, repository=REPOSITORY, reference="1.0")
    (platform,) = body["platforms"]
    return {f["id"]: f for f in platform["findings"]}


def image_counts(stack: Stack) -> tuple[dict[str, int], int]:
    record = api(stack, "images", registry=stack.registry.host, repository=REPOSITORY, reference="1.0")
    return {k: record["vulnerabilities"][k] for k in ("critical", "high")}, record["fixable"]


def test_vex_suppresses_a_finding_everywhere_and_survives_a_rematch(
        analyzed: tuple[Stack, PushedImage], tmp_path: Path) -> None:
    stack, image = analyzed
    integration = stack.integration["id"]
    assert image_counts(stack) == ({"critical": 1, "high": 1}, 2)
    assert "suppressed" not in findings(stack)["CVE-2099-3001"]

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(openvex(stack, image, status="maybe")))
    refused = stack.lookout("vex", "import", "--integration", integration, "--repository", REPOSITORY, str(bad))
    assert refused.returncode == 2
    assert refused.stderr == ("lookout: statements[0].status: 'maybe' is not one of not_affected, affected, fixed, "
                              "under_investigation\n")

    document = tmp_path / "app.vex.json"
    document.write_text(json.dumps(openvex(stack, image)))
    done = stack.lookout("vex", "import", "--integration", integration, "--repository", REPOSITORY, str(document),
                         "--json")
    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stdout)
    assert (imported["statements"], imported["sboms_rematched"]) == (1, 1)
    assert imported["scope"]["label"] == f"repository {stack.registry.host}/{REPOSITORY}"

    # API: the finding is still listed, marked suppressed with its justification; the counts drop.
    suppressed = findings(stack)["CVE-2099-3001"]["suppressed"]
    assert suppressed == {"status": "not_affected", "justification": JUSTIFICATION, "statement": IMPACT,
                          "source": f"openvex https://example.test/vex/e2e-1 statements[0] (vex {imported['id']})",
                          "scope": f"repository {stack.registry.host}/{REPOSITORY}"}
    assert "suppressed" not in findings(stack)["GHSA-vex-lodash"]
    assert image_counts(stack) == ({"critical": 1, "high": 0}, 1)

    # CLI: the table marks it and says how many were suppressed; SARIF carries an external suppression.
    reference = f"{stack.registry.host}/{REPOSITORY}:1.0"
    table = user_lookout(stack, "cves", reference)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "1 vulnerability: 1 critical, 0 high, 0 medium, 0 low, 0 unknown (1 fixable)"
    assert "1 suppressed by VEX (not counted):" in lines
    assert any("CVE-2099-3001 [VEX not_affected]" in line for line in lines)
    assert any(line.startswith(f"  CVE-2099-3001 in requests 2.19.0: not_affected ({JUSTIFICATION}, {IMPACT})")
               for line in lines)
    sarif_run = user_lookout(stack, "cves", reference, "--format", "sarif")
    assert sarif_run.returncode == 0, sarif_run.stderr
    sarif = json.loads(sarif_run.stdout)
    assert_valid_sarif(sarif)
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    assert results["CVE-2099-3001"]["suppressions"][0]["kind"] == "external"
    assert results["CVE-2099-3001"]["suppressions"][0]["justification"] == f"VEX not_affected: {JUSTIFICATION}; {IMPACT}"
    assert "suppressions" not in results["GHSA-vex-lodash"]
    listed = stack.lookout("vex", "list", "--integration", integration)
    assert listed.returncode == 0 and listed.stdout.startswith(imported["id"])

    # A re-match after an advisory update keeps it suppressed.
    before = findings(stack)["CVE-2099-3001"]["modified"]
    updated = write_records(tmp_path / "updated", records("2026-02-01T00:00:00Z"))
    again = stack.lookout("advisories", "import", str(updated))
    assert again.returncode == 0, again.stderr
    after = findings(stack)["CVE-2099-3001"]
    assert after["modified"] != before  # matched again against the updated record
    assert after["suppressed"] == suppressed
    assert image_counts(stack) == ({"critical": 1, "high": 0}, 1)

    # Removing the document counts the finding again.
    removed = stack.lookout("vex", "remove", "--integration", integration, imported["id"])
    assert removed.returncode == 0, removed.stderr
    assert "suppressed" not in findings(stack)["CVE-2099-3001"]
    assert image_counts(stack) == ({"critical": 1, "high": 1}, 2)
