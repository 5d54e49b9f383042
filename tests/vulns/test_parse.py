"""OSV records from JSON and YAML: the model, the bounds, and malformed records."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from shared.vulns.errors import InvalidAdvisory
from shared.vulns.model import Advisory
from shared.vulns.parse import (
    MAX_DEPTH,
    MAX_RECORD_BYTES,
    digest_of,
    load_json,
    load_yaml,
    parse_advisory,
    parse_time,
    to_osv_dict,
)
from tests.vulns.support import GO, PYPA, affected, record

FULL = {
    "schema_version": "1.6.0",
    "id": "GHSA-aaaa-bbbb-cccc",
    "modified": "2024-02-03T04:05:06.123456789Z",
    "published": "2024-01-01T00:00:00Z",
    "aliases": ["CVE-2024-0001", "PYSEC-2024-1"],
    "related": ["CVE-2023-9999"],
    "summary": "Remote code execution in example",
    "details": "Long text",
    "severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
        {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
    ],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "example", "purl": "pkg:pypi/example"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}], "database_specific": {"x": 1}},
                {"type": "GIT", "repo": "https://example.test/repo", "events": [{"introduced": "abc"}, {"limit": "def"}]},
            ],
            "versions": ["1.0", "1.1"],
            "ecosystem_specific": {"imports": [{"path": "example/sub", "symbols": ["f"]}]},
            "database_specific": {"severity": "HIGH"},
        }
    ],
    "references": [{"type": "ADVISORY", "url": "https://example.test/a"}],
    "database_specific": {"github_reviewed": True},
}


def test_a_full_record_parses_into_the_model() -> None:
    advisory = parse_advisory(FULL)
    assert advisory.id == "GHSA-aaaa-bbbb-cccc"
    assert advisory.modified == datetime(2024, 2, 3, 4, 5, 6, 123456, tzinfo=timezone.utc)
    assert advisory.aliases == ("CVE-2024-0001", "PYSEC-2024-1")
    assert advisory.all_ids == {"GHSA-aaaa-bbbb-cccc", "CVE-2024-0001", "PYSEC-2024-1"}
    assert [s.type for s in advisory.severity] == ["CVSS_V3", "CVSS_V4"]
    entry = advisory.affected[0]
    assert entry.package is not None and entry.package.purl == "pkg:pypi/example"
    assert [(r.type, [(e.kind, e.version) for e in r.events]) for r in entry.ranges] == [
        ("ECOSYSTEM", [("introduced", "0"), ("fixed", "1.2.3")]),
        ("GIT", [("introduced", "abc"), ("limit", "def")]),
    ]
    assert entry.versions == ("1.0", "1.1")
    assert entry.ecosystem_specific["imports"][0]["symbols"] == ("f",)
    assert entry.database_specific["severity"] == "HIGH"
    assert advisory.references[0].url == "https://example.test/a"
    assert not advisory.is_withdrawn
    assert advisory.digest == digest_of(FULL)


def test_json_and_yaml_of_one_record_give_the_same_advisory() -> None:
    yaml_text = """
id: PYSEC-2024-7
modified: 2024-03-01T10:00:00Z
published: 2024-02-01T10:00:00Z
affected:
- package: {ecosystem: PyPI, name: example}
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: "0"
    - fixed: 1.10
  versions:
  - 1.9
  - 1.10
"""
    from_yaml = parse_advisory(load_yaml(yaml_text.encode()))
    as_json = {
        "id": "PYSEC-2024-7",
        "modified": "2024-03-01T10:00:00Z",
        "published": "2024-02-01T10:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "example"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.10"}]}],
                "versions": ["1.9", "1.10"],
            }
        ],
    }
    from_json = parse_advisory(load_json(json.dumps(as_json).encode()))
    # Unquoted 1.10 stays "1.10" (not the float 1.1) and the unquoted timestamp stays a string.
    assert from_yaml.affected[0].versions == ("1.9", "1.10")
    assert from_yaml.affected[0].ranges[0].events[1].version == "1.10"
    assert from_yaml == from_json
    assert from_yaml.digest == from_json.digest


def test_to_osv_dict_round_trips() -> None:
    advisory = parse_advisory(FULL)
    again = parse_advisory(to_osv_dict(advisory), digest=advisory.digest)
    assert again == advisory
    assert again.affected == advisory.affected
    assert to_osv_dict(again) == to_osv_dict(advisory)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("id"), "id is missing"),
        (lambda r: r.update(id="not an id!"), "not a valid OSV id"),
        (lambda r: r.pop("modified"), "modified is missing"),
        (lambda r: r.update(modified="yesterday"), "not an RFC 3339"),
        (lambda r: r.update(affected={"package": {}}), "affected must be an array"),
        (lambda r: r["affected"][0]["package"].pop("ecosystem"), "ecosystem is missing"),
        (lambda r: r["affected"][0]["ranges"][0]["events"].append({"fixed": "1", "introduced": "0"}), "exactly one event"),
        (lambda r: r["affected"][0]["ranges"][0]["events"].append({"patched": "1"}), "unknown event"),
        (lambda r: r["affected"][0]["ranges"][0].update(events=[{"fixed": "1"}]), "no introduced event"),
        (lambda r: r["affected"][0]["ranges"][0].update(events=[]), "no events"),
        (lambda r: r["affected"][0].update(versions=[1.5]), "float where a version string belongs"),
        (lambda r: r["affected"][0].update(versions=["x" * 300]), "overlong version"),
        (lambda r: r.update(aliases="CVE-1"), "aliases must be an array"),
        (lambda r: r.update(severity=[{"type": "CVSS_V3"}]), "score is missing"),
        (lambda r: r.update(references=[{"type": "WEB"}]), "url is missing"),
        (lambda r: r.update(database_specific=[1]), "database_specific must be an object"),
    ],
)
def test_a_malformed_record_raises_invalid_advisory_naming_the_field(mutate: object, message: str) -> None:
    data = record("OSV-2024-1", affected("PyPI", "x", ("introduced", "0"), ("fixed", "1.0")))
    mutate(data)  # type: ignore[operator]
    with pytest.raises(InvalidAdvisory, match=message):
        parse_advisory(data)


def test_not_an_object_is_invalid() -> None:
    with pytest.raises(InvalidAdvisory):
        parse_advisory(["not", "a", "record"])


def test_input_bounds() -> None:
    with pytest.raises(InvalidAdvisory, match="more than"):
        load_json(b" " * (MAX_RECORD_BYTES + 1))
    with pytest.raises(InvalidAdvisory, match="not valid JSON"):
        load_json(b"{")
    with pytest.raises(InvalidAdvisory, match="not valid YAML"):
        load_yaml(b"a: [")
    deep: object = "x"
    for _ in range(MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(InvalidAdvisory, match="nested"):
        parse_advisory(record("OSV-2024-2", database_specific={"deep": deep}))
    with pytest.raises(InvalidAdvisory, match="not valid JSON"):
        load_json(b"[" * 100_000 + b"]" * 100_000)


def test_yaml_aliases_cannot_blow_a_small_file_up() -> None:
    # A "billion laughs" document: each level refers to the one before nine times.
    lines = ["id: OSV-2024-3", "modified: '2024-01-01T00:00:00Z'", "database_specific:", "  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    with pytest.raises(InvalidAdvisory, match="more than"):
        parse_advisory(load_yaml("\n".join(lines).encode()))


def test_yaml_loading_is_safe() -> None:
    with pytest.raises(InvalidAdvisory, match="not valid YAML"):
        load_yaml(b"id: !!python/object/apply:os.system ['true']")


def test_timestamps() -> None:
    assert parse_time("2024-01-02T03:04:05Z") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_time("2024-01-02T05:04:05+02:00") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_time("2024-01-02T03:04:05") == datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert parse_time("0001-01-01T00:00:00Z").year == 1


def test_withdrawn_records_parse_and_say_so() -> None:
    data = record("OSV-2024-4", affected("PyPI", "x", ("introduced", "0")), withdrawn="2024-05-01T00:00:00Z")
    assert parse_advisory(data).is_withdrawn


def test_every_shipped_record_parses(pypa_records: list[Advisory], go_records: list[Advisory]) -> None:
    assert len(pypa_records) == len(list(PYPA.glob("*/*.yaml")))
    assert len(go_records) == len(list(GO.glob("*.json")))
    withdrawn = [a.id for a in (*pypa_records, *go_records) if a.is_withdrawn]
    assert len(withdrawn) == 27
    ids = [a.id for a in (*pypa_records, *go_records)]
    assert len(ids) == len(set(ids))
