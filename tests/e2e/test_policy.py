"""End to end: policies evaluated on the real stack (``lookout serve`` on Azurite, the test registry), stored,
served by ``GET /api/images/policy`` and the image record, and checked by ``lookout policy IMAGE`` for CI.

Two images of one repository: ``bad`` (a plain manifest running as root, requests 2.19.0 with a fixable high
advisory whose CVE alias is on the imported KEV list, and an AGPL-3.0 package) and ``good`` (an index carrying
SBOM and provenance attestations, user ``1000``, requests 2.31.0). Neither has a base image Lookout knows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testkit.contents import dist_info, osv_record, write_records
from testkit.events import image_pushed
from testkit.images import PROVENANCE_PREDICATE, SPDX_PREDICATE, PushedImage, PushedIndex, push_image, push_index
from testkit.processes import wait_until
from testkit.registry import RegistryServer
from testkit.stack import Stack, running_stack

pytestmark = pytest.mark.e2e

REPOSITORY = "policy/e2e"
HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
SITE = "usr/local/lib/python3.11/site-packages"
AGPL = {f"{SITE}/agpl_lib-1.0.dist-info/METADATA":
        "Metadata-Version: 2.1\nName: agpl-lib\nVersion: 1.0\nLicense-Expression: AGPL-3.0-or-later\n",
        f"{SITE}/agpl_lib-1.0.dist-info/RECORD": ""}
KEV = Path(__file__).parents[1] / "policy" / "testdata" / "kev.json"


@dataclass
class Pushed:
    stack: Stack
    bad: PushedImage
    good: PushedIndex

    def image(self, tag: str) -> str:
        return f"{self.stack.registry.host}/{REPOSITORY}:{tag}"

    def policy(self, tag: str) -> dict[str, Any]:
        response = self.stack.http.get(f"{self.stack.app.url}/api/images/policy", timeout=30, params={
            "registry": self.stack.registry.host, "repository": REPOSITORY, "reference": tag})
        assert response.status_code == 200, response.text
        return dict(response.json())


def analyzed(stack: Stack, image: PushedImage | PushedIndex, tag: str) -> None:
    answer = stack.post_events([image_pushed(stack.registry.host, REPOSITORY, str(image.digest), tag, image.media_type,
                                             image.size)])
    assert answer.status_code == 200, answer.text
    stack.wait_for_image(REPOSITORY, tag)
    wait_until(stack.drained, timeout=30, what=f"the job of {REPOSITORY}:{tag} to complete")


@pytest.fixture(scope="module")
def pushed(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushed]:
    with running_stack(registry, "policy") as stack:
        advisories = write_records(tmp_path_factory.mktemp("advisories"), {
            "pypi/PYSEC-2018-28.json": osv_record("PYSEC-2018-28", "PyPI", "requests", "2.20.0",
                                                  aliases=("CVE-2018-18074",), severity=HIGH)})
        done = stack.lookout("advisories", "import", str(advisories))
        assert done.returncode == 0, done.stderr
        done = stack.lookout("policy", "kev", "import", str(KEV))
        assert (done.returncode, done.stdout.splitlines()[0]) == (0, "imported 3 high-profile id(s) from kev.json"), \
            done.stderr
        stack.activate(REPOSITORY)
        bad = push_image(registry, REPOSITORY, "bad", [{"etc/os-release": OS_RELEASE},
                                                       {**dist_info("requests", "2.19.0"), **AGPL}])
        analyzed(stack, bad, "bad")
        child = push_image(registry, REPOSITORY, None, [{"etc/os-release": OS_RELEASE}, dist_info("requests", "2.31.0")],
                           user="1000")
        good = push_index(registry, REPOSITORY, "good", [child],
                          attestation_predicates=(SPDX_PREDICATE, PROVENANCE_PREDICATE))
        analyzed(stack, good, "good")
        yield Pushed(stack, bad, good)


def outcomes(document: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["result"] for r in document["results"]}


def test_the_results_are_stored_and_served_with_their_reasons(pushed: Pushed) -> None:
    bad = pushed.policy("bad")
    assert outcomes(bad) == {"no-fixable-critical-high": "fail", "no-copyleft-licenses": "fail", "no-root-user": "fail",
                             "base-image-up-to-date": "unknown", "no-high-profile-vulnerabilities": "fail",
                             "supply-chain-attestations": "fail"}
    assert bad["failed"] is True and bad["stored"] is True and bad["digest"] == str(pushed.bad.digest)
    reasons = {r["id"]: r["reasons"] for r in bad["results"]}
    assert reasons["no-fixable-critical-high"] == [{"text": "CVE-2018-18074 (high, fixed in 2.20.0) in requests 2.19.0",
                                                    "package": "pkg:pypi/requests@2.19.0", "advisory": "CVE-2018-18074"}]
    assert reasons["no-high-profile-vulnerabilities"][0]["advisory"] == "CVE-2018-18074"
    assert reasons["no-copyleft-licenses"] == [{"text": "agpl-lib 1.0 is licensed AGPL-3.0-or-later",
                                                "package": "pkg:pypi/agpl-lib@1.0"}]
    assert reasons["no-root-user"] == [{"text": "platform linux/amd64 runs as root (no user set)"}]
    assert reasons["base-image-up-to-date"] == [{"text": "no base image detected for platform linux/amd64"}]
    good = pushed.policy("good")
    assert outcomes(good) == {"no-fixable-critical-high": "pass", "no-copyleft-licenses": "pass", "no-root-user": "pass",
                              "base-image-up-to-date": "unknown", "no-high-profile-vulnerabilities": "pass",
                              "supply-chain-attestations": "pass"}
    assert good["failed"] is False
    record = pushed.stack.image(REPOSITORY, "good").json()
    assert record["policy"] == {"pass": 5, "fail": 0, "unknown": 1}
    assert record["attestations"] == [PROVENANCE_PREDICATE, SPDX_PREDICATE]
    assert pushed.stack.image(REPOSITORY, "bad").json()["policy"] == {"pass": 0, "fail": 5, "unknown": 1}
    stored = pushed.stack.svc.policy_results.get(pushed.stack.registry.host, REPOSITORY, str(pushed.bad.digest))
    assert stored is not None and stored.current.summary == {"pass": 0, "fail": 5, "unknown": 1}


def test_lookout_policy_exits_4_on_a_failing_policy_and_0_otherwise(pushed: Pushed) -> None:
    url = pushed.stack.app.url
    bad = pushed.stack.lookout("policy", pushed.image("bad"), "--url", url)
    assert bad.returncode == 4, bad.stderr
    lines = bad.stdout.splitlines()
    assert any("FAIL" in line and "no-root-user" in line for line in lines), bad.stdout
    assert any("CVE-2018-18074 (high-profile, high) in requests 2.19.0" in line for line in lines), bad.stdout
    as_json = pushed.stack.lookout("policy", pushed.image("bad"), "--json", "--url", url)
    assert as_json.returncode == 4 and json.loads(as_json.stdout) == pushed.policy("bad")
    good = pushed.stack.lookout("policy", pushed.image("good"), "--url", url)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "UNKNOWN" in good.stdout and "no base image detected" in good.stdout
    missing = pushed.stack.lookout("policy", pushed.image("never-pushed"), "--url", url)
    assert missing.returncode == 1 and "no such image has been recorded" in missing.stderr


def test_a_bad_configuration_is_refused_and_a_good_one_applies_at_once(pushed: Pushed, tmp_path: Path) -> None:
    integration = pushed.stack.integration["id"]
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("policies:\n  no-root-user:\n    enabled: maybe\n")
    refused = pushed.stack.lookout("policy", "config", "set", "--integration", integration, "--repository", REPOSITORY,
                                   str(wrong))
    assert refused.returncode == 2
    assert refused.stderr.strip() == "lookout: policies.no-root-user.enabled: must be true or false (line 3)"
    assert pushed.stack.svc.policy_configs.list(integration) == {}

    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"policies": {"no-root-user": {"enabled": False},
                                               "supply-chain-attestations": {"require": ["sbom"]}}}))
    done = pushed.stack.lookout("policy", "config", "set", "--integration", integration, "--repository", REPOSITORY,
                                str(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "2 image(s) evaluated again"
    bad = pushed.policy("bad")
    assert "no-root-user" not in outcomes(bad) and bad["disabled"] == ["no-root-user"]
    assert bad["summary"] == {"pass": 0, "fail": 4, "unknown": 1}
    assert pushed.stack.image(REPOSITORY, "bad").json()["policy"] == bad["summary"]
    shown = pushed.stack.lookout("policy", "config", "show", "--integration", integration, "--repository", REPOSITORY,
                                 "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["effective"]["policies"]["no-root-user"] == {"enabled": False}
    assert document["effective"]["policies"]["supply-chain-attestations"] == {"enabled": True, "require": ["sbom"]}
    assert document["stored"] == {REPOSITORY: json.loads(config.read_text())}
    removed = pushed.stack.lookout("policy", "config", "unset", "--integration", integration, "--repository",
                                   REPOSITORY)
    assert removed.returncode == 0, removed.stderr
    assert "no-root-user" in outcomes(pushed.policy("bad"))
