"""Reading high-profile lists: the CISA KEV catalog's JSON, a JSON list, plain text; bad files refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.policy.highprofile import MAX_IDS, InvalidHighProfileList, parse_high_profile

KEV = Path(__file__).parent / "testdata" / "kev.json"


def test_the_kev_catalog_is_read() -> None:
    assert parse_high_profile(KEV.read_bytes()) == ("CVE-2018-18074", "CVE-2021-44228", "CVE-2024-3094")


def test_a_json_list_and_plain_text_are_read() -> None:
    assert parse_high_profile(b'["cve-2024-3094", "GHSA-jf85-cpcp-j695"]') == ("CVE-2024-3094", "GHSA-jf85-cpcp-j695")
    text = b"# exploited in the wild\nCVE-2021-44228\nCVE-2024-3094, PYSEC-2018-28  # requests\n\n\xef\xbb\xbf"
    assert parse_high_profile(b"\xef\xbb\xbf" + text.replace(b"\xef\xbb\xbf", b"")) == (
        "CVE-2021-44228", "CVE-2024-3094", "PYSEC-2018-28")


@pytest.mark.parametrize(("data", "message"), [
    (b'{"vulnerabilities": [{"cveID": "CVE-2021-44228"}, {"cveID": "not an id"}]}',
     "vulnerabilities[1].cveID: 'not an id' is not an advisory id"),
    (b'{"vulnerabilities": [{"cveID": "CVE-2021-44228"}, {"vendorProject": "x"}]}',
     "vulnerabilities[1].cveID: is not an advisory id"),
    (b'{"catalogVersion": "1"}', "vulnerabilities: the KEV catalog's list is missing"),
    (b'{"vulnerabilities": [', "not valid JSON"),
    (b"CVE-2021-44228\n<script>\n", "line 2: '<script>' is not an advisory id"),
    (b"\xff\xfe", "the file is not UTF-8 text"),
])
def test_a_bad_file_is_refused_with_the_entry_at_fault(data: bytes, message: str) -> None:
    with pytest.raises(InvalidHighProfileList) as raised:
        parse_high_profile(data)
    assert raised.value.message.startswith(message), raised.value.message


def test_the_list_is_bounded() -> None:
    with pytest.raises(InvalidHighProfileList, match=f"more than {MAX_IDS}"):
        parse_high_profile("\n".join(f"CVE-2020-{i}" for i in range(MAX_IDS + 1)).encode())
