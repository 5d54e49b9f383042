"""End to end: a Debian 12 image built from a hand-made dpkg status is analyzed by the running app and
matched against real-shaped Debian OSV records, then against the Debian security tracker's JSON, both
imported with ``lookout advisories import``; the tracker's open issues reach the stored image through
the re-match, without a push and without registry traffic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testkit.events import image_pushed
from testkit.images import push_image, tree_entries
from testkit.stack import Stack

pytestmark = pytest.mark.e2e

DISTRO = Path(__file__).resolve().parents[1] / "vulns" / "testdata" / "distro"
REPOSITORY = "os/bookworm"

OSV_FINDINGS = {
    ("libc6", "DEBIAN-CVE-2024-2961"), ("libc-bin", "DEBIAN-CVE-2024-2961"),
    ("libssl3", "DEBIAN-CVE-2023-5678"), ("openssl", "DEBIAN-CVE-2023-5678"),
    ("libssl3", "DEBIAN-CVE-2024-0727"), ("openssl", "DEBIAN-CVE-2024-0727"),
    ("zlib1g", "DEBIAN-CVE-2023-45853"),
    ("libcurl4", "DEBIAN-CVE-2024-8096"), ("curl", "DEBIAN-CVE-2024-8096"),
    ("libxml2", "DEBIAN-CVE-2024-56171"),
    ("libsystemd0", "DEBIAN-CVE-2023-50387"), ("libudev1", "DEBIAN-CVE-2023-50387"),
    ("login", "DEBIAN-CVE-2023-4641"),
    ("libtinfo6", "DEBIAN-CVE-2023-50495"), ("ncurses-base", "DEBIAN-CVE-2023-50495"),
}  # fmt: skip
"""(binary package, finding id) with the Debian OSV records only: 15 findings of 9 flaws in 8 source packages
(DSA-5673-1 names CVE-2024-2961 as its upstream id: it joins the finding of DEBIAN-CVE-2024-2961)."""
OSV_COUNTS = {"critical": 1, "high": 3, "medium": 5, "low": 0, "unknown": 0}
"""Per flaw and source package (the image's counts): zlib's CVE-2023-45853 is critical (9.8); glibc's
CVE-2024-2961, libxml2 and systemd high."""

MERGED = {"DEBIAN-CVE-2024-2961": "CVE-2024-2961", "DEBIAN-CVE-2023-5678": "CVE-2023-5678",
          "DEBIAN-CVE-2024-8096": "CVE-2024-8096", "DEBIAN-CVE-2023-50495": "CVE-2023-50495"}
"""The tracker's records alias osv.dev's ``DEBIAN-CVE-…`` record: one finding each, now named by the CVE."""
OPEN = {
    ("libssl3", "CVE-2024-13176"), ("openssl", "CVE-2024-13176"),
    ("perl-base", "CVE-2023-31486"),
    ("libsystemd0", "CVE-2023-7008"), ("libudev1", "CVE-2023-7008"),
    ("libtinfo6", "CVE-2025-6141"), ("ncurses-base", "CVE-2025-6141"),
    ("libxml2", "CVE-2025-32414"),
}  # fmt: skip
"""What the tracker adds: issues Debian has not fixed in bookworm (no fixed version)."""
TRACKER_COUNTS = {"critical": 1, "high": 3, "medium": 6, "low": 3, "unknown": 1}
"""Five more flaws: urgency low for openssl, perl and systemd, medium for libxml2, none yet for ncurses."""


def imported(stack: Stack, location: Path) -> dict[str, Any]:
    """``lookout advisories import <location> --json``: what it did."""
    done = stack.lookout("advisories", "import", str(location), "--json")
    assert done.returncode == 0, done.stderr
    (report,) = json.loads(done.stdout)
    return dict(report)


def findings(stack: Stack) -> list[dict[str, Any]]:
    response = stack.http.get(f"{stack.app.url}/api/images/vulnerabilities", timeout=30, params={
        "registry": stack.registry.host, "repository": REPOSITORY, "reference": "12"})
    assert response.status_code == 200, response.text
    (platform,) = response.json()["platforms"]
    return list(platform["findings"])


def binary(finding: dict[str, Any]) -> str:
    return str(finding["package"]).split("@")[0].rsplit("/", 1)[1]


def test_a_bookworm_image_gains_the_trackers_open_issues_by_re_match(stack: Stack) -> None:
    osv = imported(stack, DISTRO / "debian")
    assert (osv["added"] + osv["unchanged"], osv["problems"]) == (16, 0)

    stack.activate(REPOSITORY)
    pushed = push_image(stack.registry, REPOSITORY, "12", [tree_entries(DISTRO / "rootfs" / "bookworm")])
    stack.post_events([image_pushed(stack.registry.host, REPOSITORY, str(pushed.digest), "12", pushed.media_type,
                                    pushed.size)])
    image = stack.wait_for_image(REPOSITORY, "12")

    assert image["vulnerabilities"] == OSV_COUNTS
    before = findings(stack)
    assert {(binary(f), f["id"]) for f in before} == OSV_FINDINGS
    assert {f["name"] for f in before if binary(f) in ("libc6", "libc-bin")} == {"glibc"}
    assert {f["ecosystem"] for f in before} == {"Debian:12"}
    assert {tuple(f["fixed_versions"]) for f in before if f["id"] == "DEBIAN-CVE-2023-45853"} == {()}

    stack.registry.blob_downloads.reset()
    tokens = len(stack.registry.token_requests)
    tracker = imported(stack, DISTRO / "tracker" / "tracker.json")

    assert (tracker["added"], tracker["problems"]) == (12, 2)  # gnutls28 and sudo are malformed
    assert tracker["images_changed"] == [f"{stack.registry.host}/{REPOSITORY}@{pushed.digest}"]
    assert stack.registry.blob_downloads.total() == 0
    assert len(stack.registry.token_requests) == tokens
    after_image = stack.image(REPOSITORY, "12").json()
    assert after_image["vulnerabilities"] == TRACKER_COUNTS
    after = findings(stack)
    assert {(binary(f), f["id"]) for f in after} == {(b, MERGED.get(i, i)) for b, i in OSV_FINDINGS} | OPEN
    added = [f for f in after if (binary(f), f["id"]) in OPEN]
    assert all(f["fixed_versions"] == [] and not f["fixable"] for f in added)
    assert {f["id"]: f["severity"]["rating"] for f in added} == {
        "CVE-2024-13176": "low", "CVE-2023-31486": "low", "CVE-2023-7008": "low", "CVE-2025-32414": "medium",
        "CVE-2025-6141": "unknown"}
    glibc = next(f for f in after if f["id"] == "CVE-2024-2961" and binary(f) == "libc6")
    assert glibc["advisory_ids"] == ["DEBIAN-CVE-2024-2961", "DEBIAN-TRACKER-CVE-2024-2961-glibc", "DSA-5673-1"]
    assert glibc["fixed_versions"] == ["2.36-9+deb12u7"]

    again = imported(stack, DISTRO / "tracker" / "tracker.json")
    assert (again["added"], again["updated"], again["unchanged"], again["images_changed"]) == (0, 0, 12, [])
    assert stack.image(REPOSITORY, "12").json()["vulnerabilities"] == TRACKER_COUNTS
