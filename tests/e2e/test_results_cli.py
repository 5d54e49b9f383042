"""End to end: the ``lookout`` commands that read stored results over the API — ``images list``, ``quickview``,
``cves`` (stored, and its fallback to the registry), ``sbom``, ``compare`` and ``vulns list|show`` — run as a
subprocess with ``LOOKOUT_URL`` against the served app, on a stack of their own.

Two tags of one repository are analyzed: ``1.0`` (requests 2.19.0, urllib3 1.26.0, lodash 4.17.15 on a
one-package Debian 12) and ``2.0`` (requests upgraded to 2.20.0, six added, and labels naming its base
image). The crafted advisories make lodash critical and fixable, requests high and fixed in 2.20.0
(``CVE-2099-1001``, alias ``PYSEC-CLI-1``) and urllib3 unknown without a fix; nothing covers Debian.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testkit.contents import dist_info, npm_package, osv_record, write_records
from testkit.events import image_pushed
from testkit.images import PushedImage, push_image
from testkit.localhost import PROJECT_ROOT
from testkit.processes import free_port, wait_until
from testkit.registry import RegistryServer
from testkit.schemas import assert_valid_sarif
from testkit.stack import Stack, running_stack

pytestmark = pytest.mark.e2e

REPOSITORY = "cli/app"
CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
HIGH = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
BASE_NAME = "docker.io/library/debian:12-slim"
BASE_DIGEST = "sha256:" + "b" * 64
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
DPKG_STATUS = ("Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\n"
               "Version: 1:1.2.13.dfsg-1\n\n")
DEBIAN_WARNING = "no advisories loaded for Debian:12: its 1 package was not checked"


@dataclass
class Results:
    """The stack, the images analyzed on it and the advisories it holds."""

    stack: Stack
    old: PushedImage
    new: PushedImage
    advisories: Path

    @property
    def host(self) -> str:
        return self.stack.registry.host

    def image(self, tag: str) -> str:
        return f"{self.host}/{REPOSITORY}:{tag}"

    def environment(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("LOOKOUT_", "AzureWebJobs", "TTY_", "FORCE_COLOR", "COLUMNS"))}
        return {**env, "LOOKOUT_URL": self.stack.app.url, **extra}

    def lookout(self, *args: str, stdin: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
        """``lookout ARGS`` as a user runs it against the app (``LOOKOUT_URL``), output captured (not a terminal)."""
        return subprocess.run([sys.executable, "-m", "shared.cli.main", *args], env=self.environment(**extra),
                              cwd=PROJECT_ROOT, input=stdin, capture_output=True, text=True, timeout=300, check=False)

    def api(self, path: str, **params: str) -> Any:
        response = self.stack.http.get(f"{self.stack.app.url}/api/{path}", params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


def push_and_analyze(stack: Stack, tag: str, layers: list[dict[str, str]], labels: dict[str, str] | None = None,
                     ) -> PushedImage:
    image = push_image(stack.registry, REPOSITORY, tag, layers, labels=labels)
    answer = stack.post_events([image_pushed(stack.registry.host, REPOSITORY, str(image.digest), tag, image.media_type,
                                             image.size)])
    assert answer.status_code == 200, answer.text
    stack.wait_for_image(REPOSITORY, tag)
    wait_until(stack.drained, timeout=30, what=f"the job of {REPOSITORY}:{tag} to complete")  # listings are kept after
    return image


@pytest.fixture(scope="module")
def results(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Results]:
    with running_stack(registry, "clires") as stack:
        advisories = write_records(tmp_path_factory.mktemp("advisories"), {
            "npm/GHSA-cli-lodash.json": osv_record("GHSA-cli-lodash", "npm", "lodash", "4.17.21", severity=CRITICAL),
            "pypi/PYSEC-CLI-1.json": osv_record("PYSEC-CLI-1", "PyPI", "requests", "2.20.0", aliases=("CVE-2099-1001",),
                                                severity=HIGH),
            "pypi/PYSEC-CLI-2.json": osv_record("PYSEC-CLI-2", "PyPI", "urllib3", None),
        })
        imported = stack.lookout("advisories", "import", str(advisories))
        assert imported.returncode == 0, imported.stderr
        stack.activate(REPOSITORY)
        debian = {"etc/os-release": OS_RELEASE, "var/lib/dpkg/status": DPKG_STATUS}
        old = push_and_analyze(stack, "1.0", [debian, {**dist_info("requests", "2.19.0"), **dist_info("urllib3", "1.26.0"),
                                                       **npm_package("lodash", "4.17.15")}])
        new = push_and_analyze(stack, "2.0", [debian, {**dist_info("requests", "2.20.0"), **dist_info("urllib3", "1.26.0"),
                                                       **dist_info("six", "1.16.0"), **npm_package("lodash", "4.17.15")}],
                               labels={"org.opencontainers.image.base.name": BASE_NAME,
                                       "org.opencontainers.image.base.digest": BASE_DIGEST})
        yield Results(stack, old, new, advisories)


def columns(line: str) -> list[str]:
    """A plain table line split into its cells (two or more spaces apart)."""
    return re.split(r"\s{2,}", line.strip())


def plain(text: str) -> str:
    """``text`` without terminal escape sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def without_snapshots(value: Any) -> Any:
    """``value`` with every advisory snapshot name taken out (the mirror's and a directory's differ)."""
    if isinstance(value, dict):
        return {k: without_snapshots(v) for k, v in value.items() if k not in ("snapshot", "advisorySnapshot")}
    if isinstance(value, list):
        return [without_snapshots(v) for v in value]
    return value


def test_images_list_shows_the_repositories(results: Results) -> None:
    listed = results.api("repositories")
    (repository,) = listed["repositories"]
    assert repository["latest"] == {
        "digest": str(results.new.digest), "tags": ["2.0"], "status": "analyzed", "fixable": 1,
        "vulnerabilities": {"critical": 1, "high": 0, "medium": 0, "low": 0, "none": 0, "unknown": 1}}
    done = results.lookout("images", "list")
    assert (done.returncode, done.stderr) == (0, "")
    header, *rows = done.stdout.splitlines()
    assert columns(header) == ["REPOSITORY", "ACTIVATED", "IMAGES", "LAST PUSH", "LATEST", "STATUS", "VULNERABILITIES",
                               "FIXABLE"]
    last_push = repository["last_push"][:16].replace("T", " ")
    assert [columns(row) for row in rows] == [
        [f"{results.host}/{REPOSITORY}", "yes", "2", last_push, "2.0", "analyzed", "1C 0H 0M 0L 1?", "1"]]

    as_json = results.lookout("images", "list", "--json")
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout) == listed == {"repositories": [repository], "continuation": None}
    integration = results.lookout("images", "list", "--integration", results.stack.integration["id"], "--json")
    assert json.loads(integration.stdout) == listed


def test_images_list_shows_a_repositorys_images_newest_first(results: Results) -> None:
    repository = f"{results.host}/{REPOSITORY}"
    images = results.api("images", registry=results.host, repository=REPOSITORY)["images"]
    assert [(i["digest"], i["tags"]) for i in images] == [(str(results.new.digest), ["2.0"]),
                                                          (str(results.old.digest), ["1.0"])]
    done = results.lookout("images", "list", repository)
    assert (done.returncode, done.stderr) == (0, "")
    header, *rows = done.stdout.splitlines()
    assert columns(header) == ["TAGS", "DIGEST", "PLATFORMS", "STATUS", "VULNERABILITIES", "FIXABLE", "ANALYZED"]
    assert [columns(row) for row in rows] == [
        ["2.0", str(results.new.digest)[:19], "linux/amd64", "analyzed", "1C 0H 0M 0L 1?", "1",
         images[0]["analyzed"][:16].replace("T", " ")],
        ["1.0", str(results.old.digest)[:19], "linux/amd64", "analyzed", "1C 1H 0M 0L 1?", "2",
         images[1]["analyzed"][:16].replace("T", " ")],
    ]

    first = results.lookout("images", "list", repository, "--limit", "1")
    assert [columns(row)[0] for row in first.stdout.splitlines()[1:]] == ["2.0"]
    assert first.stderr == "lookout: more images follow: pass --all to list them all\n"
    first_json = json.loads(results.lookout("images", "list", repository, "--limit", "1", "--json").stdout)
    assert first_json["images"] == images[:1] and first_json["continuation"]
    every = results.lookout("images", "list", repository, "--limit", "1", "--all", "--json")
    assert (every.returncode, every.stderr) == (0, "")
    assert json.loads(every.stdout) == {"images": images, "continuation": None}


def test_quickview_shows_one_image_on_one_screen(results: Results) -> None:
    image = results.api("images", registry=results.host, repository=REPOSITORY, reference="1.0")
    snapshot = image["platforms"][0]["advisory_snapshot"]
    done = results.lookout("quickview", results.image("1.0"))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        results.image("1.0"),
        f"digest      {results.old.digest}",
        "tags        1.0",
        "platforms   linux/amd64",
        "distro      Debian GNU/Linux 12 (bookworm)",
        f"status      analyzed {image['analyzed'][:16].replace('T', ' ')}",
        f"advisories  {snapshot}",
        "",
        "3 vulnerabilities (2 fixable)",
        "SEVERITY  COUNT  BAR",
        "critical  1      " + "#" * 30,
        "high      1      " + "#" * 30,
        "medium    0",
        "low       0",
        "unknown   1      " + "#" * 30,
        "",
        "Packages",
        "TYPE  linux/amd64",
        "deb   1",
        "npm   1",
        "pypi  2",
        "",
        f"warning: {DEBIAN_WARNING}",
        "",
        "Top 2 fixable vulnerabilities",
        "SEVERITY      ID               PACKAGE   INSTALLED  FIXED IN",
        "critical 9.8  GHSA-cli-lodash  lodash    4.17.15    4.17.21",
        "high 7.5      CVE-2099-1001    requests  2.19.0     2.20.0",
    ]

    newer = results.lookout("quickview", results.image("2.0"), "--json")
    assert (newer.returncode, newer.stderr) == (0, "")
    image = results.api("images", registry=results.host, repository=REPOSITORY, reference="2.0")
    (platform,) = image["platforms"]
    assert json.loads(newer.stdout) == {
        "image": {"registry": results.host, "repository": REPOSITORY, "reference": results.image("2.0"),
                  "digest": str(results.new.digest), "tags": ["2.0"], "status": "analyzed", "error": None,
                  "analyzed": image["analyzed"]},
        "base_image": {"name": BASE_NAME, "digest": BASE_DIGEST},
        "vulnerabilities": {"critical": 1, "high": 0, "medium": 0, "low": 0, "unknown": 1, "total": 2, "fixable": 1},
        "platforms": [{"platform": "linux/amd64", "digest": platform["digest"], "distro": "Debian GNU/Linux 12 (bookworm)",
                       "packages": {"deb": 1, "npm": 1, "pypi": 3}, "snapshot": snapshot,
                       "coverage": {"Debian:12": {"packages": 1, "advisories": 0}, "PyPI": {"packages": 3, "advisories": 2},
                                    "npm": {"packages": 1, "advisories": 1}},
                       "warnings": [DEBIAN_WARNING]}],
        "snapshot": snapshot,
        "warnings": [DEBIAN_WARNING],
        "top_fixable": [{"id": "GHSA-cli-lodash", "severity": "critical", "score": 9.8, "package": "lodash",
                         "purl": "pkg:npm/lodash@4.17.15", "installed_version": "4.17.15", "fixed_versions": ["4.17.21"],
                         "platforms": ["linux/amd64"]}],
    }
    text = results.lookout("quickview", results.image("2.0"), "--top", "0").stdout.splitlines()
    assert f"base image  {BASE_NAME}@{BASE_DIGEST}" in text and "Top 0 fixable vulnerabilities" not in text


def test_cves_reads_stored_results_equal_to_the_registrys(results: Results) -> None:
    user = results.stack.registry.readonly
    from_registry = ["--from-registry", "--username", user.username, "--password-stdin", "--insecure",
                     "--advisories", str(results.advisories)]
    for options in ([], ["--format", "json"], ["--format", "sarif"], ["--severity", "critical,high", "--fixable"]):
        stored = results.lookout("cves", results.image("1.0"), *options)
        fresh = results.lookout("cves", results.image("1.0"), *options, *from_registry, stdin=user.password + "\n")
        assert (stored.returncode, stored.stderr) == (0, ""), stored.stderr
        assert (fresh.returncode, fresh.stderr) == (0, ""), fresh.stderr
        if "--format" in options:
            assert without_snapshots(json.loads(stored.stdout)) == without_snapshots(json.loads(fresh.stdout))
        else:
            assert stored.stdout == fresh.stdout
    table = results.lookout("cves", results.image("1.0")).stdout.splitlines()
    assert table[0] == "3 vulnerabilities: 1 critical, 1 high, 0 medium, 0 low, 1 unknown (2 fixable)"
    assert table[2] == f"warning: {DEBIAN_WARNING}"
    assert [columns(row) for row in table[5:]] == [
        ["critical 9.8 (GHSA-cli-lodash)", "GHSA-cli-lodash", "lodash", "4.17.15", "4.17.21"],
        ["high 7.5 (PYSEC-CLI-1)", "CVE-2099-1001", "requests", "2.19.0", "2.20.0"],
        ["unknown", "PYSEC-CLI-2", "urllib3", "1.26.0", "-"],
    ]
    sarif = json.loads(results.lookout("cves", results.image("1.0"), "--format", "sarif").stdout)
    assert_valid_sarif(sarif)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["GHSA-cli-lodash", "CVE-2099-1001", "PYSEC-CLI-2"]
    found = results.lookout("cves", results.image("1.0"), "--json", "--severity", "critical", "--exit-code")
    assert found.returncode == 4
    (platform,) = json.loads(found.stdout)["platforms"]
    assert [f["id"] for f in platform["findings"]] == ["GHSA-cli-lodash"] and platform["counts"]["total"] == 1


def test_cves_falls_back_to_the_registry_when_the_app_has_no_results(results: Results) -> None:
    user = results.stack.registry.readonly
    pushed = push_image(results.stack.registry, "cli/unwatched", "1", [dist_info("requests", "2.19.0")])
    image = f"{results.host}/cli/unwatched:1"
    login = ["--username", user.username, "--password-stdin", "--insecure", "--advisories", str(results.advisories)]
    unknown = results.lookout("cves", image, *login, stdin=user.password + "\n")
    assert unknown.returncode == 0
    assert unknown.stderr == (f"lookout: Lookout at {results.stack.app.url} has no results for {image} (404: no such image "
                              "has been recorded); analyzing the image from its registry\n")
    assert unknown.stdout.splitlines()[1].startswith(f"{image} linux/amd64 {pushed.digest}")
    assert columns(unknown.stdout.splitlines()[4]) == ["high 7.5 (PYSEC-CLI-1)", "CVE-2099-1001", "requests", "2.19.0",
                                                       "2.20.0"]
    port = free_port()
    away = results.lookout("cves", image, *login, "--api", f"http://127.0.0.1:{port}", stdin=user.password + "\n")
    assert away.returncode == 0 and away.stdout == unknown.stdout
    assert away.stderr == (f"lookout: cannot reach Lookout at http://127.0.0.1:{port}: ConnectionError; analyzing the "
                           "image from its registry\n")


def test_sbom_prints_the_stored_sbom(results: Results, tmp_path: Path) -> None:
    query = {"registry": results.host, "repository": REPOSITORY, "reference": "2.0"}
    document = results.api("images/sbom", **query, format="json")
    for options in ([], ["--json"], ["--format", "json"]):
        done = results.lookout("sbom", results.image("2.0"), *options)
        assert (done.returncode, done.stderr) == (0, "")
        assert json.loads(done.stdout) == document
    assert [(p["name"], p["version"]) for p in document["platforms"][0]["packages"]] == [
        ("zlib1g", "1:1.2.13.dfsg-1"), ("lodash", "4.17.15"), ("requests", "2.20.0"), ("six", "1.16.0"),
        ("urllib3", "1.26.0")]

    target = tmp_path / "app.cdx.json"
    written = results.lookout("sbom", results.image("2.0"), "--format", "cyclonedx", "--output", str(target))
    assert (written.returncode, written.stdout) == (0, "")
    assert written.stderr == f"lookout: wrote the cyclonedx SBOM of {results.image('2.0')} to {target}\n"
    cyclonedx = json.loads(target.read_text())
    served = results.api("images/sbom", **query, format="cyclonedx")
    for document in (cyclonedx, served):  # each rendering has its own serial number and time
        del document["serialNumber"], document["metadata"]["timestamp"]
    assert cyclonedx == served
    assert cyclonedx["specVersion"] == "1.6"
    assert {c["name"] for c in cyclonedx["components"]} >= {"zlib1g", "lodash", "requests", "six", "urllib3"}
    spdx = json.loads(results.lookout("sbom", results.image("2.0"), "--format", "spdx", "--platform", "linux/amd64").stdout)
    assert spdx["spdxVersion"] == "SPDX-2.3"

    listed = results.lookout("sbom", results.image("2.0"), "--format", "list")
    assert (listed.returncode, listed.stderr) == (0, "")
    assert [columns(line) for line in listed.stdout.splitlines()] == [
        ["NAME", "VERSION", "TYPE"], ["zlib1g", "1:1.2.13.dfsg-1", "deb"], ["lodash", "4.17.15", "npm"],
        ["requests", "2.20.0", "pypi"], ["six", "1.16.0", "pypi"], ["urllib3", "1.26.0", "pypi"]]

    missing = results.lookout("sbom", results.image("2.0"), "--platform", "linux/arm64")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == (f"lookout: {results.image('2.0')}: the image has no platform linux/arm64; it has "
                              "linux/amd64\n")


def test_compare_two_tags(results: Results) -> None:
    old, new = results.image("1.0"), results.image("2.0")
    done = results.lookout("compare", old, new)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        "packages: 1 added, 0 removed, 1 changed; vulnerabilities: 1 fixed, 0 introduced",
        f"from {old} ({results.old.digest}) to {new} ({results.new.digest}), linux/amd64",
        "",
        "Packages added",
        "TYPE  NAME  VERSION",
        "pypi  six   1.16.0",
        "",
        "Packages changed",
        "TYPE  NAME      FROM    TO",
        "pypi  requests  2.19.0  2.20.0",
        "",
        "Vulnerabilities fixed",
        "SEVERITY  ID             PACKAGE   INSTALLED  FIXED IN",
        "high      CVE-2099-1001  requests  2.19.0     2.20.0",
    ]
    as_json = results.lookout("compare", old, new, "--json")
    assert json.loads(as_json.stdout) == {
        "base": {"reference": old, "digest": str(results.old.digest), "platform": "linux/amd64"},
        "target": {"reference": new, "digest": str(results.new.digest), "platform": "linux/amd64"},
        "summary": {"packages": {"added": 1, "removed": 0, "changed": 1}, "vulnerabilities": {"fixed": 1, "introduced": 0}},
        "packages": {"added": [{"type": "pypi", "name": "six", "versions": ["1.16.0"]}], "removed": [],
                     "changed": [{"type": "pypi", "name": "requests", "from": ["2.19.0"], "to": ["2.20.0"]}]},
        "vulnerabilities": {"fixed": [{"id": "CVE-2099-1001", "package": "requests", "purl": "pkg:pypi/requests",
                                       "installed_version": "2.19.0", "fixed_versions": ["2.20.0"], "severity": "high",
                                       "score": 7.5}],
                            "introduced": []},
    }
    backwards = json.loads(results.lookout("compare", new, old, "--json").stdout)
    assert backwards["summary"] == {"packages": {"added": 0, "removed": 1, "changed": 1},
                                    "vulnerabilities": {"fixed": 0, "introduced": 1}}
    assert [v["id"] for v in backwards["vulnerabilities"]["introduced"]] == ["CVE-2099-1001"]


def test_vulns_list(results: Results) -> None:
    listed = results.api("vulnerabilities")
    done = results.lookout("vulns", "list")
    assert (done.returncode, done.stderr) == (0, "")
    assert [columns(line) for line in done.stdout.splitlines()] == [
        ["ID", "SEVERITY", "FIXABLE", "IMAGES", "REPOSITORIES", "PACKAGES", "SUMMARY"],
        ["GHSA-cli-lodash", "critical 9.8", "yes", "2", "1", "lodash", "lodash flaw"],
        ["CVE-2099-1001", "high 7.5", "yes", "1", "1", "requests", "requests flaw"],
        ["PYSEC-CLI-2", "unknown", "no", "2", "1", "urllib3", "urllib3 flaw"],
    ]
    assert json.loads(results.lookout("vulns", "list", "--json").stdout) == listed
    assert [(v["id"], v["aliases"], v["images"], v["fixable"]) for v in listed["vulnerabilities"]] == [
        ("GHSA-cli-lodash", [], 2, True), ("CVE-2099-1001", ["PYSEC-CLI-1"], 1, True), ("PYSEC-CLI-2", [], 2, False)]

    def ids(*options: str) -> list[str]:
        done = results.lookout("vulns", "list", "--json", *options)
        assert done.returncode == 0, done.stderr
        return [v["id"] for v in json.loads(done.stdout)["vulnerabilities"]]

    assert ids("--severity", "critical,high") == ["GHSA-cli-lodash", "CVE-2099-1001"]
    assert ids("--fixable") == ["GHSA-cli-lodash", "CVE-2099-1001"]
    assert ids("--query", "REQUESTS") == ["CVE-2099-1001"]
    assert ids("--query", "pysec", "--fixable") == ["CVE-2099-1001"]
    assert ids("--limit", "1", "--all") == ["GHSA-cli-lodash", "CVE-2099-1001", "PYSEC-CLI-2"]
    page = results.lookout("vulns", "list", "--limit", "1")
    assert [columns(line)[0] for line in page.stdout.splitlines()] == ["ID", "GHSA-cli-lodash"]
    assert page.stderr == "lookout: more vulnerabilities follow: pass --all to list them all\n"
    none = results.lookout("vulns", "list", "--query", "nothing-like-this")
    assert (none.returncode, none.stdout) == (0, "no vulnerabilities match\n")


def test_vulns_show(results: Results) -> None:
    done = results.lookout("vulns", "show", "PYSEC-CLI-1")
    assert (done.returncode, done.stderr) == (0, "")
    header, *rows = done.stdout.splitlines()[7:]
    assert done.stdout.splitlines()[:7] == [
        "id          CVE-2099-1001",
        "aliases     PYSEC-CLI-1",
        "severity    high 7.5 (PYSEC-CLI-1)",
        "summary     requests flaw",
        "references  https://example.test/PYSEC-CLI-1",
        "",
        "Affected: 1 image, 1 package",
    ]
    assert columns(header) == ["IMAGE", "TAGS", "DIGEST", "PLATFORM", "PACKAGE", "INSTALLED", "FIXED IN"]
    assert [columns(row) for row in rows] == [
        [f"{results.host}/{REPOSITORY}", "1.0", str(results.old.digest)[:19], "linux/amd64", "requests", "2.19.0", "2.20.0"]]

    lodash = results.lookout("vulns", "show", "GHSA-cli-lodash", "--json")
    assert lodash.returncode == 0
    document = json.loads(lodash.stdout)
    assert {k: document[k] for k in ("id", "aliases", "summary", "references", "continuation")} == {
        "id": "GHSA-cli-lodash", "aliases": [], "summary": "lodash flaw",
        "references": [{"type": "ADVISORY", "url": "https://example.test/GHSA-cli-lodash"}], "continuation": None}
    assert (document["severity"]["rating"], document["severity"]["score"]) == ("critical", 9.8)
    assert sorted((a["tags"], a["digest"], a["platform"], a["package"], a["installed_version"], a["fixed_versions"])
                  for a in document["affected"]) == sorted(
        (tags, str(digest), "linux/amd64", "pkg:npm/lodash@4.17.15", "4.17.15", ["4.17.21"])
        for tags, digest in ((["1.0"], results.old.digest), (["2.0"], results.new.digest)))


@pytest.mark.parametrize(("args", "code", "error"), [
    (["quickview", "{host}/cli/app:9.9"], 1, "{host}/cli/app:9.9: no such image has been recorded"),
    (["compare", "{host}/cli/app:1.0", "{host}/cli/app:9.9"], 1, "{host}/cli/app:9.9: no such image has been recorded"),
    (["vulns", "show", "CVE-1999-0001"], 1, "no live image has CVE-1999-0001"),
    (["vulns", "list", "--severity", "severe"], 2,
     "unknown severity severe: use one or more of critical, high, medium, low, unknown"),
    (["images", "list", "--limit", "0"], 2, "'limit' must be a whole number from 1 to 500"),
    (["images", "list", "{host}/cli/app:1.0"], 2, "{host}/cli/app:1.0: name a repository (registry/repository), "
                                                  "without a tag or digest"),
    (["sbom", "cli/app:1.0"], 2, "image reference 'cli/app:1.0' names no registry host"),
])  # fmt: skip
def test_an_unknown_image_or_a_bad_argument_is_one_line_on_stderr(results: Results, args: list[str], code: int,
                                                                    error: str) -> None:
    done = results.lookout(*(arg.format(host=results.host) for arg in args))
    assert (done.returncode, done.stdout) == (code, "")
    assert done.stderr == f"lookout: {error.format(host=results.host)}\n"


def test_an_unreachable_app_exits_3(results: Results) -> None:
    done = results.lookout("vulns", "list", "--url", f"http://127.0.0.1:{free_port()}")
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr.startswith("lookout: cannot reach Lookout at http://127.0.0.1:")


def test_tables_are_drawn_on_a_terminal(results: Results) -> None:
    done = results.lookout("images", "list", f"{results.host}/{REPOSITORY}", TTY_COMPATIBLE="1", TTY_INTERACTIVE="0",
                           COLUMNS="200")
    assert done.returncode == 0
    assert "\x1b[" in done.stdout
    lines = plain(done.stdout).splitlines()
    assert [cell.strip() for cell in lines[0].split("┃")] == ["TAGS", "DIGEST", "PLATFORMS", "STATUS", "VULNERABILITIES",
                                                             "FIXABLE", "ANALYZED"]
    assert set(lines[1]) <= {"━", "╇"}
    assert [cell.strip() for cell in lines[2].split("│")][:6] == ["2.0", str(results.new.digest)[:19], "linux/amd64",
                                                                 "analyzed", "1C 0H 0M 0L 1?", "1"]
