"""``lookout cves`` against the real test registry and the shipped advisories: formats, filters,
advisory sources (directories, a zip, the environment, an OSV API stand-in), exit codes and errors."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from shared.cli import cves
from shared.errors import InvalidInput, LookoutError
from shared.registry import Platform
from shared.vulns.index import MemoryIndex
from shared.vulns.model import Advisory
from shared.vulns.packages import PackageKey
from testkit.images import push_image, push_index
from testkit.osv_standin import running
from testkit.registry import RegistryServer
from testkit.schemas import assert_valid_sarif
from tests.analysis.helpers import tree
from tests.vulns.alias_severity import ghsa_record, write_github_database
from tests.vulns.support import (
    ADVISORIES,
    FINDING_KEYS,
    GO,
    PROJECT_ROOT,
    PYPA,
    advisory_index,
    vulnerable_layers,
    write_debian_advisories,
)

SUMMARY = re.compile(r"\d+ vulnerabilit(y|ies): \d+ critical, \d+ high, \d+ medium, \d+ low, \d+ unknown \(\d+ fixable\)")


@pytest.fixture(scope="module")
def image(registry: RegistryServer) -> str:
    """A pushed two-platform image (the vulnerable Debian one, Fedora RPMs); its reference with the host."""
    repository = f"cves/{uuid.uuid4().hex[:12]}"
    amd64 = push_image(registry, repository, None, vulnerable_layers(), platform=Platform("linux", "amd64"))
    arm64 = push_image(registry, repository, None, [tree("rpm")], platform=Platform("linux", "arm64"))
    push_index(registry, repository, "1.0", [amd64, arm64])
    return f"{registry.host}/{repository}:1.0"


@pytest.fixture(scope="module")
def advisories(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Advisory paths as a user passes them: two PyPA package directories, a zip of the Go records
    about the standard library (real records), and a directory of crafted Debian records."""
    root = tmp_path_factory.mktemp("advisories")
    go_zip = root / "go-stdlib.zip"
    with zipfile.ZipFile(go_zip, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(GO.glob("*.json")):
            data = json.loads(path.read_bytes())
            if any(a.get("package", {}).get("name") == "stdlib" for a in data.get("affected", [])):
                archive.write(path, path.name)
    return [str(PYPA / "urllib3"), str(PYPA / "jinja2"), str(go_zip), str(write_debian_advisories(root))]


def login(registry: RegistryServer) -> tuple[list[str], str]:
    user = registry.readonly
    return ["--username", user.username, "--password-stdin", "--insecure"], user.password


def sources(paths: list[str]) -> list[str]:
    return [argument for path in paths for argument in ("--advisories", path)]


def run(
    registry: RegistryServer, args: list[str], *, environ: Mapping[str, str] | None = None, password: str | None = None
) -> tuple[int, str, str]:
    """``lookout cves`` with the read-only user's credentials on stdin; ``(exit code, stdout, stderr)``."""
    parser = argparse.ArgumentParser(prog="lookout")
    cves.add_parser(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args(["cves", *args])
    stdout, stderr = io.StringIO(), io.StringIO()
    stdin = io.StringIO((registry.readonly.password if password is None else password) + "\n")
    code = cves.run(parsed, stdin=stdin, stdout=stdout, stderr=stderr, environ=environ or {})
    return code, stdout.getvalue(), stderr.getvalue()


def ids_by_package(document: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for platform in document["platforms"]:
        for finding in platform["findings"]:
            found.setdefault(finding["package"], set()).add(finding["id"])
    return found


def test_table_starts_with_the_summary_line(registry: RegistryServer, image: str, advisories: list[str]) -> None:
    options, _ = login(registry)
    code, out, err = run(registry, [image, *options, "--platform", "linux/amd64", *sources(advisories)])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert SUMMARY.fullmatch(lines[0]), lines[0]
    assert lines[1].startswith(f"{image} linux/amd64 sha256:")
    assert lines[2] == "warning: no advisories loaded for npm: its 5 packages were not checked"
    assert re.split(r"\s{2,}", lines[4]) == ["SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED IN"]
    rows = [re.split(r"\s{2,}", line) for line in lines[5:]]
    assert ["high 8.1 (PYSEC-2023-192)", "CVE-2023-43804", "urllib3", "1.26.4", "1.26.17"] in rows
    assert ["critical 9.8 (DEBIAN-CVE-2099-0001)", "CVE-2099-0001", "libssl3 (openssl)", "3.0.19-1~deb12u2",
            "3.0.19-1~deb12u3"] in rows  # fmt: skip
    assert ["unknown", "CVE-2099-0002", "zlib1g (zlib)", "1:1.2.13.dfsg-1", "1:1.2.13.dfsg-1+deb12u1"] in rows
    total = int(lines[0].split()[0])
    assert total == len(rows) and sum(row[2] == "stdlib" for row in rows) > 50


def test_json_covers_every_platform(registry: RegistryServer, image: str, advisories: list[str]) -> None:
    options, _ = login(registry)
    code, out, err = run(registry, [image, *options, "--format", "json", *sources(advisories)])
    assert code == 0
    document = json.loads(out)
    assert document["reference"] == image
    amd64, arm64 = document["platforms"]
    assert (amd64["platform"], arm64["platform"]) == ("linux/amd64", "linux/arm64")
    assert amd64["os"]["id"] == "debian" and amd64["counts"]["total"] == len(amd64["findings"]) > 50
    assert amd64["counts"]["critical"] == 2 and all(set(f) == FINDING_KEYS for f in amd64["findings"])
    cookie = next(f for f in amd64["findings"] if f["id"] == "CVE-2023-43804")
    assert cookie["severity"] == {
        "rating": "high", "score": 8.1, "type": "CVSS_V3", "vector": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N",
        "source": "PYSEC-2023-192", "origin": "CVSS_V3",
    }  # fmt: skip
    assert arm64["findings"] == [] and [s["code"] for s in arm64["skipped"]] == ["unsupported-package"] * 2
    skipped = "; ".join(f"unsupported-package: {s['message']} ({s['package']})" for s in arm64["skipped"])
    assert err == f"lookout: 2 packages of linux/arm64 have no OSV ecosystem: {skipped}\n"


def test_sarif(registry: RegistryServer, image: str, advisories: list[str]) -> None:
    options, _ = login(registry)
    code, out, _ = run(registry, [image, *options, "--format", "sarif", *sources(advisories)])
    assert code == 0
    document = json.loads(out)
    assert_valid_sarif(document)
    results = document["runs"][0]["results"]
    assert {r["properties"]["platform"] for r in results} == {"linux/amd64"}
    assert any(r["ruleId"] == "CVE-2023-43804" and r["level"] == "error" for r in results)


def test_severity_and_fixable_filters(registry: RegistryServer, image: str, advisories: list[str]) -> None:
    options, _ = login(registry)
    args = [image, *options, "--platform", "linux/amd64", "--format", "json", "--severity", "critical,high", "--fixable"]
    code, out, _ = run(registry, [*args, *sources(advisories)])
    assert code == 0
    (platform,) = json.loads(out)["platforms"]
    assert {f["severity"]["rating"] for f in platform["findings"]} == {"critical", "high"}
    assert all(f["fixable"] for f in platform["findings"])
    counts = platform["counts"]
    assert counts["total"] == counts["critical"] + counts["high"] == len(platform["findings"]) == counts["fixable"]
    code, out, _ = run(registry, [image, *options, "--platform", "linux/amd64", "--severity", "low", *sources(advisories)])
    assert out.splitlines()[0] == "0 vulnerabilities: 0 critical, 0 high, 0 medium, 0 low, 0 unknown (0 fixable)"
    with pytest.raises(InvalidInput, match="unknown severity severe"):
        run(registry, [image, *options, "--severity", "severe", *sources(advisories)])


def test_githubs_database_rates_what_pypa_leaves_unknown(
    registry: RegistryServer, image: str, advisories: list[str], tmp_path: Path
) -> None:
    """``--severity critical,high`` misses CVE-2021-33503 with PyPA's records alone (they carry no
    rating); with GitHub's database beside them, the finding is high, and says who rated it."""
    options, _ = login(registry)
    github = write_github_database(tmp_path / "advisory-database", [
        ghsa_record("GHSA-q2q7-5pp4-w6pg", "2021-05-24T18:14:26Z", "CVE-2021-33503",
                    "Catastrophic backtracking in URL authority parser when passed URL containing many @ characters",
                    "PyPI", "urllib3", [[{"introduced": "0"}, {"fixed": "1.26.5"}]], "HIGH",
                    [("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H")], "CWE-400"),
    ])  # fmt: skip
    args = [image, *options, "--platform", "linux/amd64", "--severity", "critical,high"]
    _, without, _ = run(registry, [*args, *sources(advisories)])
    assert "CVE-2021-33503" not in without
    code, out, err = run(registry, [*args, *sources([*advisories, str(github)])])
    assert code == 0 and err == ""
    rows = [re.split(r"\s{2,}", line) for line in out.splitlines()[4:]]
    assert ["high 7.5 (GHSA-q2q7-5pp4-w6pg)", "CVE-2021-33503", "urllib3", "1.26.4", "1.26.5"] in rows


def test_exit_code_when_asked(registry: RegistryServer, image: str, advisories: list[str]) -> None:
    options, _ = login(registry)
    found, _, _ = run(registry, [image, *options, "--platform", "linux/amd64", "--exit-code", *sources(advisories)])
    assert found == cves.EXIT_VULNERABLE == 4
    clean, _, _ = run(registry, [image, *options, "--platform", "linux/arm64", "--exit-code", *sources(advisories)])
    assert clean == 0
    filtered, _, _ = run(
        registry, [image, *options, "--platform", "linux/amd64", "--exit-code", "--severity", "low", *sources(advisories)]
    )
    assert filtered == 0


def test_advisories_from_the_environment(registry: RegistryServer, image: str, advisories: list[str]) -> None:
    options, _ = login(registry)
    args = [image, *options, "--platform", "linux/amd64", "--format", "json"]
    _, from_flags, _ = run(registry, [*args, *sources(advisories)])
    code, from_environment, _ = run(registry, args, environ={cves.ADVISORIES_ENV: " , ".join(advisories)})
    assert code == 0 and json.loads(from_environment) == json.loads(from_flags)
    _, flag_wins, _ = run(registry, [*args, "--advisories", advisories[0]], environ={cves.ADVISORIES_ENV: advisories[3]})
    assert set(ids_by_package(json.loads(flag_wins))) == {"pkg:pypi/urllib3@1.26.4"}


def test_without_advisory_data_it_is_a_usage_error(registry: RegistryServer, image: str, tmp_path: Path) -> None:
    options, _ = login(registry)
    with pytest.raises(InvalidInput, match=r"no advisory data: pass --advisories .* or set LOOKOUT_ADVISORIES"):
        run(registry, [image, *options])
    with pytest.raises(InvalidInput, match="missing is neither a directory nor a file"):
        run(registry, [image, *options, "--advisories", str(tmp_path / "missing")])
    with pytest.raises(InvalidInput, match=re.escape("not 'ftp://advisories.test/all.zip'")):
        run(registry, [image, *options], environ={cves.ADVISORIES_ENV: "ftp://advisories.test/all.zip"})
    text = tmp_path / "notes.txt"
    text.write_text("not advisories")
    with pytest.raises(LookoutError, match=re.escape("notes.txt is not a readable zip archive")) as unreadable:
        run(registry, [image, *options], environ={cves.ADVISORIES_ENV: str(text)})
    assert unreadable.value.code == "invalid-advisory" and not isinstance(unreadable.value, InvalidInput)
    with pytest.raises(SystemExit) as usage:
        run(registry, [image, "--advisories", str(tmp_path), "--osv-api", "http://127.0.0.1:9"])
    assert usage.value.code == 2


def test_registry_errors_are_raised(registry: RegistryServer, image: str, advisories: list[str]) -> None:
    options, _ = login(registry)
    with pytest.raises(LookoutError) as refused:
        run(registry, [image, *options, *sources(advisories)], password="not-the-password")
    assert refused.value.code == "unauthorized"


@pytest.fixture
def osv_api(pypa_records: list[Advisory], go_records: list[Advisory], tmp_path: Path) -> Iterator[str]:
    """The OSV API stand-in, serving the same records as the ``advisories`` paths."""
    index: MemoryIndex = advisory_index([*pypa_records, *go_records], tmp_path)
    keys = [PackageKey("PyPI", "urllib3"), PackageKey("PyPI", "jinja2"), PackageKey("Go", "stdlib")]
    keys += [PackageKey("Debian:12", "openssl"), PackageKey("Debian:12", "zlib")]
    records = {r.id: r for key in keys for r in index.records_for(key)}
    with running(records.values()) as standin:
        yield standin.url


def test_osv_api_source_gives_the_same_findings(
    registry: RegistryServer, image: str, advisories: list[str], osv_api: str
) -> None:
    options, _ = login(registry)
    args = [image, *options, "--platform", "linux/amd64", "--format", "json"]
    _, offline, _ = run(registry, [*args, *sources(advisories)])
    code, online, _ = run(registry, [*args, "--osv-api", osv_api])
    assert code == 0
    document = json.loads(online)
    assert ids_by_package(document) == ids_by_package(json.loads(offline))
    assert document["snapshot"] == "osv-api"


def test_the_module_runs_as_a_command_on_all_shipped_advisories(
    registry: RegistryServer, image: str, advisories: list[str]
) -> None:
    user = registry.readonly
    debian = advisories[3]
    completed = subprocess.run(
        [sys.executable, "-m", "shared.cli.main", "cves", image, "--username", user.username, "--password-stdin", "--insecure",
         "--platform", "linux/amd64", "--format", "json", "--advisories", str(ADVISORIES), "--advisories", debian],
        input=user.password + "\n", capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=240, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    (platform,) = json.loads(completed.stdout)["platforms"]
    packages = {f["package"].split("@")[0] for f in platform["findings"]}
    assert {"pkg:pypi/urllib3", "pkg:pypi/jinja2", "pkg:golang/stdlib", "pkg:deb/debian/libssl3"} <= packages


def test_the_command_exits_2_without_advisory_data(registry: RegistryServer, image: str) -> None:
    environment = {k: v for k, v in os.environ.items() if k != cves.ADVISORIES_ENV}
    completed = subprocess.run(
        [sys.executable, "-m", "shared.cli.main", "cves", image, "--insecure"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env=environment, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 2
    assert completed.stderr.startswith("lookout: no advisory data")
