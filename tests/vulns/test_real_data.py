"""Range evaluation on the real PyPA and Go advisory data.

The PyPA database lists every affected version explicitly besides its ranges, an independent check:
each listed version must evaluate as affected by the ranges alone. The shipped snapshot has a few
disagreements; they are data quirks and are pinned here so a change of behaviour shows:

- 108 listed versions are not PEP 440 versions (``0.9-gyarados``, ``2013-07-19T09:11:08+0000``...):
  no ordering can place them, so ranges cannot say (28 records); they still match by their exact string.
- 9 listed versions lie outside the record's own ranges: pre-releases listed while the range is
  introduced at the final release (PYSEC-2023-61), or versions at or above a ``fixed`` bound.
- 2 records have a range event that is not a PEP 440 version; that range cannot be evaluated (the
  record's listed versions still match).
"""

from __future__ import annotations

from shared.vulns.index import ImportResult, MemoryIndex
from shared.vulns.matching import Matcher
from shared.vulns.model import Advisory, Affected
from shared.vulns.packages import PackageRef
from shared.vulns.ranges import CompiledAffected

KNOWN_OUT_OF_RANGE = {
    ("PYSEC-2021-114", "2.11.6"),
    ("PYSEC-2023-177", "23.9.0"),
    ("PYSEC-2023-177", "23.9.0.post1"),
    ("PYSEC-2023-61", "3.2a1"),
    ("PYSEC-2023-61", "3.2b1"),
    ("PYSEC-2023-61", "3.2rc1"),
    ("PYSEC-2023-61", "4.2a1"),
    ("PYSEC-2023-61", "4.2b1"),
    ("PYSEC-2023-61", "4.2rc1"),
}
KNOWN_BAD_EVENTS = {
    ("PYSEC-2019-125", "ranges[0]: fixed '2019-09-12' is not a PEP 440 version"),
    ("PYSEC-2021-371", "ranges[1]: fixed '0.2.0-n653' is not a PEP 440 version"),
}


def test_pypa_listed_versions_agree_with_the_ranges(pypa_records: list[Advisory]) -> None:
    checked = 0
    unparseable: list[tuple[str, str]] = []
    out_of_range: set[tuple[str, str]] = set()
    bad_events: set[tuple[str, str]] = set()
    versions_only = 0
    for advisory in pypa_records:
        for entry in advisory.affected:
            assert entry.package is not None
            ranges_only = CompiledAffected(Affected(package=entry.package, ranges=entry.ranges), entry.package.ecosystem)
            bad_events.update((advisory.id, problem) for problem in ranges_only.problems)
            if all(item.type == "GIT" for item in entry.ranges):
                versions_only += 1  # nothing to check the list against
                continue
            for version in entry.versions:
                checked += 1
                verdict = ranges_only.evaluate(version)
                if verdict.affected:
                    continue
                if any("installed version" in problem for problem in verdict.problems):
                    unparseable.append((advisory.id, version))
                else:
                    out_of_range.add((advisory.id, version))
    assert checked == 140_846
    assert versions_only == 2
    assert len(unparseable) == 108
    assert len({record_id for record_id, _ in unparseable}) == 28
    assert out_of_range == KNOWN_OUT_OF_RANGE
    assert bad_events == KNOWN_BAD_EVENTS


def test_pypa_listed_versions_all_match_through_the_matcher(pypa_records: list[Advisory]) -> None:
    """From a package URL to a finding, for every tenth listed version of every record (the
    unparseable ones too: they match by their exact string)."""
    missing: list[tuple[str, str]] = []
    for advisory in pypa_records:
        if advisory.is_withdrawn:
            continue
        index = MemoryIndex()
        index.import_records([advisory])
        matcher = Matcher(index)
        for entry in advisory.affected:
            assert entry.package is not None
            versions = entry.versions[::10]
            report = matcher.match([PackageRef(f"pkg:pypi/{entry.package.name}@{version}") for version in versions])
            found = {f.installed_version for f in report.findings if advisory.id in f.advisory_ids}
            missing.extend((advisory.id, version) for version in versions if version not in found)
    assert missing == []


def test_real_ranges_hold_at_their_bounds(pypa_records: list[Advisory], go_records: list[Advisory]) -> None:
    """An ``introduced`` version is affected and a ``fixed`` version is not, in every real range."""
    exceptions: set[tuple[str, str, str]] = set()
    bounds = 0
    for advisory in (*pypa_records, *go_records):
        for entry in advisory.affected:
            assert entry.package is not None
            for item in entry.ranges:
                if item.type == "GIT":
                    continue
                compiled = CompiledAffected(Affected(package=entry.package, ranges=(item,)), entry.package.ecosystem)
                if compiled.problems:
                    assert advisory.id in {record_id for record_id, _ in KNOWN_BAD_EVENTS}
                    continue
                for event in item.events:
                    if event.kind not in ("introduced", "fixed") or event.version == "0":
                        continue
                    bounds += 1
                    if compiled.evaluate(event.version).affected != (event.kind == "introduced"):
                        exceptions.add((advisory.id, event.kind, event.version))
    assert bounds > 15_000
    # The exceptions are versions a range names twice, once as "fixed" and once as "introduced":
    # equal versions keep the publisher's order, so "fixed 3.1.1 ... introduced 3.1.1" leaves 3.1.1
    # affected and "introduced 0.13.0 ... fixed 0.13.0" leaves 0.13.0 unaffected.
    assert exceptions == {
        ("PYSEC-2022-42972", "introduced", "0.13.0"),
        ("PYSEC-2022-236", "fixed", "3.1.1"),
        ("PYSEC-2023-72", "fixed", "3.1.1"),
        ("PYSEC-2023-72", "introduced", "3.2.0"),
    }


def _ids(index: MemoryIndex, purl: str) -> set[str]:
    report = Matcher(index).match([PackageRef(purl)])
    return {record_id for f in report.findings for record_id in f.advisory_ids}


def test_go_standard_library_and_modules(real_index: tuple[MemoryIndex, ImportResult]) -> None:
    index, _ = real_index
    # GO-2021-0159: net/http request smuggling, fixed in Go 1.4.3.
    assert "GO-2021-0159" in _ids(index, "pkg:golang/stdlib@go1.4.2")
    assert "GO-2021-0159" not in _ids(index, "pkg:golang/stdlib@go1.4.3")
    # GO-2022-1059 (CVE-2022-32149): golang.org/x/text before 0.3.8.
    assert "GO-2022-1059" in _ids(index, "pkg:golang/golang.org/x/text@v0.3.7")
    assert "GO-2022-1059" not in _ids(index, "pkg:golang/golang.org/x/text@v0.3.8")
    # GO-2020-0012: golang.org/x/crypto fixed at a pseudo-version.
    assert "GO-2020-0012" in _ids(index, "pkg:golang/golang.org/x/crypto@v0.0.0-20200128174031-69ecbb4d6d5d")
    assert "GO-2020-0012" not in _ids(index, "pkg:golang/golang.org/x/crypto@v0.0.0-20200220183623-bac4c82f6975")
    assert "GO-2020-0012" not in _ids(index, "pkg:golang/golang.org/x/crypto@v0.1.0")


def test_go_finding_is_named_after_its_cve_with_every_alias(real_index: tuple[MemoryIndex, ImportResult]) -> None:
    index, _ = real_index
    report = Matcher(index).match([PackageRef("pkg:golang/golang.org/x/text@v0.3.7")])
    finding = next(f for f in report.findings if "GO-2022-1059" in f.advisory_ids)
    assert finding.id == "CVE-2022-32149"
    assert set(finding.aliases) == {"GHSA-69ch-w2m2-3vjp", "GO-2022-1059"}
    assert finding.fixed_versions == ("0.3.8",)
    assert finding.fixable


def test_withdrawn_real_records_never_match(real_index: tuple[MemoryIndex, ImportResult], go_records: list[Advisory]) -> None:
    index, _ = real_index
    withdrawn = [a for a in go_records if a.is_withdrawn and a.affected and a.affected[0].package is not None]
    assert withdrawn
    for advisory in withdrawn:
        package = advisory.affected[0].package
        assert package is not None
        purl = f"pkg:golang/{package.name}@v0.0.1"
        assert advisory.id not in _ids(index, purl)
