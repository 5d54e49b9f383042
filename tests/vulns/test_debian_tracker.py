"""The Debian security tracker's JSON as a feed: what it keeps and drops, bad input, and matching.

testdata/distro/tracker/tracker.json is a hand-made tracker file in the published shape: open,
resolved, unimportant, not-affected (``fixed_version`` ``0``), undetermined, sid-only, end-of-life
and several-release issues, a ``TEMP-`` issue, and two malformed entries (a package that is an array,
a ``fixed_version`` that is a number).
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from shared.vulns import debian_tracker
from shared.vulns.debian_tracker import TrackerCounts, TrackerFeed, is_tracker_url, looks_like_tracker
from shared.vulns.errors import InvalidAdvisory
from shared.vulns.feeds import DirectoryFeed, ZipFeed, open_feed
from shared.vulns.index import MemoryIndex
from shared.vulns.matching import Matcher
from shared.vulns.model import Advisory
from shared.vulns.packages import PackageRef
from shared.vulns.parse import digest_of, thaw, to_osv_dict
from shared.vulns.problems import Problem
from shared.vulns.sbom_refs import package_refs
from testkit.images import tree_entries
from tests.analysis.helpers import squashed
from tests.vulns.support import TESTDATA

DISTRO = TESTDATA / "distro"
TRACKER = DISTRO / "tracker" / "tracker.json"

EXPECTED = {
    "DEBIAN-TRACKER-CVE-2022-3715-bash": [("Debian:11", None, "open", "low"), ("Debian:12", "5.2-1", "resolved", "low"),
                                          ("Debian:13", "5.2-1", "resolved", "low")],
    "DEBIAN-TRACKER-CVE-2024-8096-curl": [("Debian:11", "7.74.0-1.3+deb11u14", "resolved", "not yet assigned"),
                                          ("Debian:12", "7.88.1-10+deb12u8", "resolved", "not yet assigned"),
                                          ("Debian:13", "8.10.1-1", "resolved", "not yet assigned")],
    "DEBIAN-TRACKER-CVE-2024-2961-glibc": [("Debian:11", "2.31-13+deb11u9", "resolved", "not yet assigned"),
                                           ("Debian:12", "2.36-9+deb12u7", "resolved", "not yet assigned"),
                                           ("Debian:13", "2.37-18", "resolved", "not yet assigned")],
    "DEBIAN-TRACKER-CVE-2025-32414-libxml2": [("Debian:12", None, "open", "medium"),
                                              ("Debian:13", "2.12.7+dfsg+really2.9.14-1", "resolved", "medium")],
    "DEBIAN-TRACKER-CVE-2023-50495-ncurses": [("Debian:11", None, "open", "low"), ("Debian:12", None, "open", "low"),
                                              ("Debian:13", "6.4+20231209-1", "resolved", "low")],
    "DEBIAN-TRACKER-CVE-2025-6141-ncurses": [("Debian:12", None, "open", "not yet assigned"),
                                             ("Debian:13", None, "open", "not yet assigned")],
    "DEBIAN-TRACKER-CVE-2023-44487-nodejs": [("Debian:11", None, "open", "end-of-life"),
                                             ("Debian:12", "18.19.0+dfsg-6~deb12u1", "resolved", "not yet assigned")],
    "DEBIAN-TRACKER-CVE-2023-5363-openssl": [("Debian:12", "3.0.11-1~deb12u2", "resolved", "not yet assigned"),
                                             ("Debian:13", "3.0.12-1", "resolved", "not yet assigned")],
    "DEBIAN-TRACKER-CVE-2023-5678-openssl": [("Debian:11", "1.1.1w-0+deb11u2", "resolved", "not yet assigned"),
                                             ("Debian:12", "3.0.13-1~deb12u1", "resolved", "not yet assigned"),
                                             ("Debian:13", "3.1.4-2", "resolved", "not yet assigned")],
    "DEBIAN-TRACKER-CVE-2024-13176-openssl": [("Debian:11", None, "open", "low"), ("Debian:12", None, "open", "low"),
                                              ("Debian:13", "3.4.1-1", "resolved", "low")],
    "DEBIAN-TRACKER-CVE-2023-31486-perl": [("Debian:11", None, "open", "low"), ("Debian:12", None, "open", "low"),
                                           ("Debian:13", "5.36.0-10", "resolved", "low")],
    "DEBIAN-TRACKER-CVE-2023-7008-systemd": [("Debian:12", None, "open", "low"),  # urgency "low*"
                                             ("Debian:13", "255.2-3", "resolved", "low")],
}
"""Every record of the fixture, in file order: per affected entry (ecosystem, fixed version or None
for an open release, tracker status, urgency)."""
RECORD_URGENCY = {
    "DEBIAN-TRACKER-CVE-2022-3715-bash": "low", "DEBIAN-TRACKER-CVE-2024-8096-curl": "not yet assigned",
    "DEBIAN-TRACKER-CVE-2024-2961-glibc": "not yet assigned", "DEBIAN-TRACKER-CVE-2025-32414-libxml2": "medium",
    "DEBIAN-TRACKER-CVE-2023-50495-ncurses": "low", "DEBIAN-TRACKER-CVE-2025-6141-ncurses": "not yet assigned",
    "DEBIAN-TRACKER-CVE-2023-44487-nodejs": "end-of-life", "DEBIAN-TRACKER-CVE-2023-5363-openssl": "not yet assigned",
    "DEBIAN-TRACKER-CVE-2023-5678-openssl": "not yet assigned", "DEBIAN-TRACKER-CVE-2024-13176-openssl": "low",
    "DEBIAN-TRACKER-CVE-2023-31486-perl": "low", "DEBIAN-TRACKER-CVE-2023-7008-systemd": "low",
}  # fmt: skip
COUNTS = TrackerCounts(packages=14, issues=20, records=12, affected=31, not_cve=1, other_release=16, not_affected=3,
                       undetermined=1, unimportant=8, unaffected=6, problems=2)
"""Left out: 16 sid releases; not affected: curl CVE-2024-2379 (bookworm, trixie: fixed_version 0) and
openssl CVE-2023-5363 in bullseye; undetermined: libxml2 CVE-2024-25062; unimportant: glibc
CVE-2010-4756 (3 releases), tar CVE-2005-2541 (2), zlib CVE-2023-45853 (3); TEMP-0290435-0B57B5;
the issues left with no release: those six plus libgit2's sid-only CVE-2024-24577."""


def summary(advisory: Advisory) -> list[tuple[str, str | None, str, str]]:
    """(ecosystem, fixed version, status, urgency) of each affected entry."""
    out = []
    for entry in advisory.affected:
        assert entry.package is not None
        (only,) = entry.ranges
        assert only.type == "ECOSYSTEM" and only.events[0].kind == "introduced" and only.events[0].version == "0"
        fixed = [e.version for e in only.events if e.kind == "fixed"]
        out.append((entry.package.ecosystem, fixed[0] if fixed else None, entry.database_specific["status"],
                    entry.database_specific["urgency"]))
    return out


def read(data: bytes) -> tuple[list[Advisory], list[Problem], TrackerCounts]:
    feed = TrackerFeed(io.BytesIO(data), name="json")
    items = list(feed.read())
    return ([i for i in items if isinstance(i, Advisory)], [i for i in items if isinstance(i, Problem)], feed.counts)


def test_each_cve_of_each_source_package_becomes_one_record() -> None:
    feed = TrackerFeed(TRACKER)
    items = list(feed.read())

    records = [i for i in items if isinstance(i, Advisory)]
    assert {r.id: summary(r) for r in records} == EXPECTED
    assert [r.id for r in records] == list(EXPECTED)  # file order
    assert {r.id: r.database_specific["urgency"] for r in records} == RECORD_URGENCY
    assert all(r.database_specific["source"] == "debian-security-tracker" for r in records)
    assert feed.counts == COUNTS
    problems = [(p.code, p.origin, p.record_id, p.message) for p in items if isinstance(p, Problem)]
    assert problems == [
        ("invalid-advisory", "tracker.json!gnutls28", "", "the entry of package gnutls28 must be an object, not an array"),
        ("invalid-advisory", "tracker.json!sudo/CVE-2023-22809", "DEBIAN-TRACKER-CVE-2023-22809-sudo",
         "sudo CVE-2023-22809: bookworm: fixed_version must be a string, not a number"),
    ]


def test_a_record_in_full() -> None:
    glibc = next(i for i in TrackerFeed(TRACKER).read() if isinstance(i, Advisory) and i.id.endswith("2961-glibc"))
    entry = {"source": "debian-security-tracker", "status": "resolved", "urgency": "not yet assigned"}
    expected = {
        "schema_version": "1.7.0",
        "id": "DEBIAN-TRACKER-CVE-2024-2961-glibc",
        "modified": "1970-01-01T00:00:00Z",
        "aliases": ["CVE-2024-2961", "DEBIAN-CVE-2024-2961"],
        "upstream": ["CVE-2024-2961"],
        "details": "The iconv() function in the GNU C Library versions 2.39 and older may overflow the output buffer "
                   "passed to it by up to 4 bytes when converting strings to the ISO-2022-CN-EXT character set.",
        "affected": [
            {"package": {"ecosystem": f"Debian:{major}", "name": "glibc"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
             "database_specific": entry}
            for major, fixed in (("11", "2.31-13+deb11u9"), ("12", "2.36-9+deb12u7"), ("13", "2.37-18"))
        ],
        "references": [{"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/CVE-2024-2961"},
                       {"type": "REPORT", "url": "https://bugs.debian.org/1069191"}],
        "database_specific": {"source": "debian-security-tracker", "urgency": "not yet assigned", "scope": "remote"},
    }
    assert thaw(to_osv_dict(glibc)) == expected
    assert glibc.digest == digest_of(expected)
    assert glibc.modified.year == 1970  # a placeholder: the index compares digests, never this time


def test_reading_the_same_file_again_changes_nothing() -> None:
    index = MemoryIndex()
    first = index.import_records(TrackerFeed(TRACKER).read())
    again = index.import_records(TrackerFeed(TRACKER).read())

    assert (first.added, len(first.problems)) == (12, 2)
    assert (again.added, again.updated, again.unchanged, again.changed_keys) == (0, 0, 12, frozenset())
    assert again.snapshot == first.snapshot


def test_reading_in_small_pieces_gives_the_same_records(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = [(r.id, r.digest) for r in read(TRACKER.read_bytes())[0]]
    monkeypatch.setattr(debian_tracker, "READ_BYTES", 7)
    records, problems, counts = read(TRACKER.read_bytes())
    assert [(r.id, r.digest) for r in records] == whole
    assert (len(problems), counts) == (2, COUNTS)


def bookworm() -> list[PackageRef]:
    os_info, packages, problems, _ = squashed([tree_entries(DISTRO / "rootfs" / "bookworm")])
    assert problems == []
    return package_refs(packages, os_info)


def test_a_bookworm_image_gets_the_open_issues_without_a_fix_and_the_resolved_ones_below_the_fix() -> None:
    index = MemoryIndex()
    index.import_records(TrackerFeed(TRACKER).read())

    report = Matcher(index).match(bookworm())

    found: dict[str, dict[str, tuple[str, ...]]] = {}
    for finding in report.findings:
        binary = finding.package.split("@")[0].rsplit("/", 1)[1]
        found.setdefault(binary, {})[finding.id] = finding.fixed_versions
    assert found == {
        "libc6": {"CVE-2024-2961": ("2.36-9+deb12u7",)},  # 2.36-9+deb12u3 installed
        "libc-bin": {"CVE-2024-2961": ("2.36-9+deb12u7",)},
        "libssl3": {"CVE-2023-5678": ("3.0.13-1~deb12u1",), "CVE-2024-13176": ()},  # 5363: fixed at the installed
        "openssl": {"CVE-2023-5678": ("3.0.13-1~deb12u1",), "CVE-2024-13176": ()},
        "libcurl4": {"CVE-2024-8096": ("7.88.1-10+deb12u8",)},
        "curl": {"CVE-2024-8096": ("7.88.1-10+deb12u8",)},
        "libxml2": {"CVE-2025-32414": ()},  # CVE-2024-25062 is undetermined: left out
        "libtinfo6": {"CVE-2023-50495": (), "CVE-2025-6141": ()},
        "ncurses-base": {"CVE-2023-50495": (), "CVE-2025-6141": ()},
        "perl-base": {"CVE-2023-31486": ()},
        "libsystemd0": {"CVE-2023-7008": ()},
        "libudev1": {"CVE-2023-7008": ()},
    }  # bash: resolved in 5.2-1 < 5.2.15-2, and its open bullseye entry is Debian 11's; zlib, tar: unimportant
    assert {f.ecosystem for f in report.findings} == {"Debian:12"}
    glibc = next(f for f in report.findings if f.id == "CVE-2024-2961")
    assert glibc.aliases == ("DEBIAN-CVE-2024-2961", "DEBIAN-TRACKER-CVE-2024-2961-glibc")
    assert report.fixable == 6 and len(report.findings) == 16
    assert (report.problems, report.skipped) == ((), ())


def test_tracker_records_join_osv_debian_records_of_the_same_cve() -> None:
    index = MemoryIndex()
    index.import_records(DirectoryFeed(DISTRO / "debian").read())
    index.import_records(TrackerFeed(TRACKER).read())

    report = Matcher(index).match(bookworm())

    libc6 = {f.id: f.advisory_ids for f in report.findings if f.package.startswith("pkg:deb/debian/libc6@")}
    # One flaw, one finding: the DSA names the CVE as an upstream id and joins it.
    assert libc6 == {"CVE-2024-2961": ("DEBIAN-CVE-2024-2961", "DEBIAN-TRACKER-CVE-2024-2961-glibc", "DSA-5673-1")}


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("3.0.11-1~deb12u2", True),
        ("3.0.13~rc1-1", True),
        ("3.0.13-1~deb12u1", False),  # the fixed version
        ("3.0.13-1", False),
        ("3.0.15-1~deb12u1", False),
    ],
)
def test_a_resolved_issue_affects_only_versions_below_the_fix(version: str, affected: bool) -> None:
    index = MemoryIndex()
    index.import_records(TrackerFeed(TRACKER).read())
    ref = PackageRef(f"pkg:deb/debian/libssl3@{quote(version)}?arch=amd64&distro=debian-12", name="libssl3",
                     version=version, source_name="openssl", source_version=version, distro_id="debian",
                     distro_version="12")
    ids = {f.id for f in Matcher(index).match([ref]).findings}
    assert ("CVE-2023-5678" in ids) is affected
    assert "CVE-2024-13176" in ids  # open: every version
    assert "CVE-2023-5363" not in ids  # fixed in 3.0.11-1~deb12u2, the lowest version here


def test_a_cut_short_file_keeps_the_records_before_the_cut_and_reports_where() -> None:
    data = TRACKER.read_bytes()
    cut = data[: data.index(b'"openssl"') + 60]

    records, problems, counts = read(cut)

    assert [r.id for r in records] == list(EXPECTED)[:7]  # everything before openssl
    assert [(p.code, p.origin) for p in problems] == [("invalid-advisory", "json!gnutls28"), ("invalid-feed", "json!openssl")]
    assert "(in the entry of package 'openssl'); reading stopped" in problems[-1].message
    assert (counts.records, counts.problems) == (7, 2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"   \n", "the file is empty"),
        (b'[{"openssl": {}}]', "the top level is not a JSON object"),
        (b'"openssl"', "the top level is not a JSON object"),
        (b'{"openssl": {}} {"zlib": {}}', "the file goes on after the object closes"),
        (b'{"openssl": {} "zlib": {}}', "expected ',' or '}'"),
        (b'{"openssl" {}}', "expected ':'"),
        (b'{"openssl": {"CVE-2023-5678": {"releases": {]}}}', "not valid JSON"),
        (b'{"openssl": {"CVE-2023-5678": {"releases": {}}}', "the file ends where ',' or '}' belongs"),
        (b'{"openssl": {"CVE-2023-5678": {"description": "\xff"}}}', "not UTF-8"),
        (b'{"openssl": {"CVE-2023-5678": {"releases": {"bookworm": {"status": "op', "the file ends inside an entry"),
    ],
)
def test_a_file_that_stops_being_json_ends_with_one_problem(data: bytes, message: str) -> None:
    records, problems, _ = read(data)
    assert records == []
    (problem,) = problems
    assert problem.code == "invalid-feed"
    assert message in problem.message


def _issue(entry: object, package: str = "openssl", issue: str = "CVE-2023-5678") -> bytes:
    """A tracker file holding one issue."""
    return json.dumps({package: {issue: entry}}).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_issue("resolved"), "openssl CVE-2023-5678: the issue must be an object, not a string"),
        (_issue({"releases": []}), "releases must be an object, not an array"),
        (_issue({"releases": {}, "description": 5}), "description has the wrong type"),
        (_issue({"releases": {}, "debianbug": "1069191"}), "debianbug has the wrong type"),
        (_issue({"releases": {"bookworm": "open"}}), "bookworm: the release must be an object, not a string"),
        (_issue({"releases": {"bookworm": {"urgency": "low"}}}), "bookworm: status must be a string, not null"),
        (_issue({"releases": {"bookworm": {"status": "open", "urgency": 3}}}), "urgency must be a string"),
        (_issue({"releases": {"bookworm": {"status": "resolved", "urgency": "low"}}}), "needs a fixed_version"),
        (_issue({"releases": {"bookworm": {"status": "resolved", "fixed_version": "not a version!", "urgency": "low"}}}),
         "fixed_version 'not a version!' is not a Debian version"),
        (_issue({"releases": {"bookworm": {"status": "postponed", "urgency": "low"}}}), "unknown status 'postponed'"),
        (_issue({}, package="Not A Package"), "'Not A Package' is not a Debian source package name"),
    ],
)
def test_a_malformed_entry_is_a_problem_naming_it_and_the_rest_is_read(data: bytes, message: str) -> None:
    good = _issue({"releases": {"bookworm": {"status": "open", "urgency": "low"}}}, package="zlib", issue="CVE-2023-45853")
    records, problems, _ = read(data[:-1] + b", " + good[1:])

    assert [r.id for r in records] == ["DEBIAN-TRACKER-CVE-2023-45853-zlib"]
    (problem,) = problems
    assert problem.code == "invalid-advisory"
    assert message in problem.message


def test_a_release_with_a_problem_does_not_lose_the_other_releases() -> None:
    records, problems, _ = read(_issue({"releases": {
        "bookworm": {"status": "resolved", "fixed_version": 3, "urgency": "low"},
        "trixie": {"status": "resolved", "fixed_version": "3.1.4-2", "urgency": "low**"},
    }}))
    (record,) = records
    assert summary(record) == [("Debian:13", "3.1.4-2", "resolved", "low")]
    assert [p.record_id for p in problems] == ["DEBIAN-TRACKER-CVE-2023-5678-openssl"]


def test_size_limits_stop_the_read_with_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    data = TRACKER.read_bytes()
    monkeypatch.setattr(debian_tracker, "MAX_ENTRY_CHARS", 1500)
    records, problems, _ = read(data)
    assert "is longer than 1500 characters" in problems[-1].message
    assert [r.id for r in records] == ["DEBIAN-TRACKER-CVE-2022-3715-bash"]  # curl's entry is longer

    monkeypatch.setattr(debian_tracker, "MAX_ENTRY_CHARS", 64 * 1024 * 1024)
    monkeypatch.setattr(debian_tracker, "MAX_TRACKER_BYTES", 4096)
    records, problems, _ = read(data)
    assert "larger than 4096 bytes" in problems[-1].message
    assert problems[-1].code == "invalid-feed"


def test_a_missing_file_raises_like_other_feeds(tmp_path: Path) -> None:
    with pytest.raises(InvalidAdvisory, match="cannot be read"):
        list(TrackerFeed(tmp_path / "json").read())


def test_the_tracker_shape_is_told_from_osv_records_and_zips() -> None:
    assert looks_like_tracker(TRACKER.read_bytes()[:100])
    assert looks_like_tracker(b'{"0ad":{"TEMP-0000000-6D3FD2":{"releases":{}}}}')
    assert not looks_like_tracker((DISTRO / "debian" / "DSA-5673-1.json").read_bytes())
    assert not looks_like_tracker(b'{"database_specific": {"x": {}}}')
    assert not looks_like_tracker(b"PK\x03\x04")
    assert is_tracker_url("https://security-tracker.debian.org/tracker/data/json")
    assert not is_tracker_url("https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip")


def test_open_feed_opens_a_tracker_file_and_a_zip_as_before(tmp_path: Path) -> None:
    with open_feed(str(TRACKER)) as opened:
        assert isinstance(opened.feed, TrackerFeed)
        assert opened.complete_ecosystems == ()  # the tracker never prunes osv.dev's Debian records
        assert len([i for i in opened.feed.read() if isinstance(i, Advisory)]) == 12
    archive = tmp_path / "Debian" / "all.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as out:
        out.write(DISTRO / "debian" / "DSA-5673-1.json", "DSA-5673-1.json")
    with open_feed(str(archive)) as opened:
        assert isinstance(opened.feed, ZipFeed)
        assert opened.complete_ecosystems == ("Debian",)


@pytest.fixture
def tracker_server() -> Iterator[str]:
    """A local web server answering the tracker fixture at ``/tracker/data/json`` (404 elsewhere)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/tracker/data/json":
                self.send_error(404)
                return
            body = TRACKER.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=functools.partial(server.serve_forever, poll_interval=0.05), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_open_feed_downloads_the_tracker_url(tracker_server: str) -> None:
    url = f"{tracker_server}/tracker/data/json"
    with open_feed(url + "?fresh=1") as opened:
        assert isinstance(opened.feed, TrackerFeed)
        assert opened.feed.name == url  # never the query string
        assert opened.complete_ecosystems == ()
        items = list(opened.feed.read())
    assert [i.id for i in items if isinstance(i, Advisory)] == list(EXPECTED)
    assert [p.origin for p in items if isinstance(p, Problem)] == ["json!gnutls28", "json!sudo/CVE-2023-22809"]
