"""The OSV API source against a local stand-in server (the real API cannot be reached here)."""

from __future__ import annotations

import email.utils
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from shared.retry import RETRY_STATUSES, RetryPolicy
from shared.vulns.errors import AdvisorySourceRejected, AdvisorySourceUnavailable
from shared.vulns.index import ImportResult, MemoryIndex
from shared.vulns.matching import Matcher
from shared.vulns.model import Advisory
from shared.vulns.osvapi import DEFAULT_RETRY, OsvApiClient, OsvApiSource
from shared.vulns.packages import PackageKey, PackageRef, osv_query
from shared.vulns.severity import SeverityScore
from testkit.osv_standin import OsvStandIn, running
from tests.vulns.support import advisory, affected

PACKAGES = [
    PackageRef("pkg:pypi/django@3.2.0"),
    PackageRef("pkg:pypi/jinja2@2.10"),
    PackageRef("pkg:pypi/requests@2.31.0"),
    PackageRef("pkg:golang/stdlib@go1.20.1"),
    PackageRef("pkg:golang/golang.org/x/text@v0.3.7"),
]
JINJA2 = [osv_query(PackageRef("pkg:pypi/jinja2@2.10"))]
V3_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8


@pytest.fixture
def records(real_index: tuple[MemoryIndex, ImportResult]) -> list[Advisory]:
    index, _ = real_index
    keys = {key for ref in PACKAGES for key in osv_query(ref).keys}
    return sorted({r.id: r for key in keys for r in index.records_for(key)}.values(), key=lambda r: r.id)


@pytest.fixture
def standin(records: list[Advisory]) -> Iterator[OsvStandIn]:
    with running(records) as server:
        yield server


class _Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _policy(sleeps: _Sleeps | None = None, **changes: float) -> RetryPolicy:
    """The client's default policy, without jitter and recording its waits instead of sleeping."""
    return replace(DEFAULT_RETRY, jitter=False, sleep=sleeps if sleeps is not None else _Sleeps(), **changes)  # type: ignore[arg-type]


def _client(standin: OsvStandIn, sleeps: _Sleeps | None = None, *, url: str = "", **options: float) -> OsvApiClient:
    return OsvApiClient(url or standin.url, retry=_policy(sleeps), **options)  # type: ignore[arg-type]


def test_findings_from_the_api_equal_findings_from_the_mirror(
    standin: OsvStandIn, real_index: tuple[MemoryIndex, ImportResult]
) -> None:
    index, _ = real_index
    from_api = Matcher(OsvApiSource(_client(standin))).match(PACKAGES)
    from_mirror = Matcher(index).match(PACKAGES)
    assert len(from_mirror.findings) > 50
    assert [(f.id, f.package, f.fixed_versions) for f in from_api.findings] == [
        (f.id, f.package, f.fixed_versions) for f in from_mirror.findings
    ]
    assert from_api.snapshot == "osv-api"
    posts = [path for method, path in standin.log if method == "POST"]
    assert posts == ["/v1/querybatch"]


def test_records_are_fetched_once_and_cached(standin: OsvStandIn) -> None:
    """Records for lookups, and ids asked for severities (at most 100 a call), are fetched once each."""
    source = OsvApiSource(_client(standin))
    Matcher(source).match(PACKAGES)
    first = [path for method, path in standin.log if method == "GET"]
    assert len(first) > 50
    Matcher(source).match(PACKAGES)
    fetched = [path for method, path in standin.log if method == "GET"]
    assert len(fetched) == len(set(fetched))
    Matcher(source).match(PACKAGES)
    assert sum(1 for method, _ in standin.log if method == "GET") == len(fetched)


def _pyyaml_records() -> list[Advisory]:
    """PyPA's unrated record of CVE-2017-18342 and GitHub's rated one, whose range ends earlier (4.1)."""
    return [
        advisory("PYSEC-2018-49", affected("PyPI", "pyyaml", ("introduced", "0"), ("fixed", "5.1")),
                 aliases=["CVE-2017-18342", "GHSA-rprw-h62v-c2w7"]),
        advisory("GHSA-rprw-h62v-c2w7", affected("PyPI", "PyYAML", ("introduced", "0"), ("fixed", "4.1")),
                 aliases=["CVE-2017-18342"], severity=[{"type": "CVSS_V3", "score": V3_CRITICAL}],
                 database_specific={"severity": "CRITICAL"}),
        advisory("PYSEC-2099-1", affected("PyPI", "pyyaml", ("introduced", "0"), ("fixed", "5.1")), aliases=["CVE-2099-1"]),
    ]  # fmt: skip


def test_an_unrated_finding_borrows_the_rating_of_a_record_fetched_by_id() -> None:
    with running(_pyyaml_records()) as standin:
        source = OsvApiSource(_client(standin))
        report = Matcher(source).match([PackageRef("pkg:pypi/pyyaml@4.2b1")])
        by_id = {f.id: f for f in report.findings}
        assert by_id["CVE-2017-18342"].advisory_ids == ("PYSEC-2018-49",)
        assert by_id["CVE-2017-18342"].severity == SeverityScore(
            "critical", 9.8, "CVSS_V3", V3_CRITICAL, "GHSA-rprw-h62v-c2w7", "CVSS_V3"
        )
        assert by_id["CVE-2099-1"].severity == SeverityScore()
        # GitHub's record was fetched by id; it also rated its alias CVE-2017-18342, which was not fetched.
        # CVE-2099-1 is unknown to the API (404), and that is remembered too.
        gets = [path for method, path in standin.log if method == "GET"]
        assert sorted(gets) == [
            "/v1/vulns/CVE-2099-1", "/v1/vulns/GHSA-rprw-h62v-c2w7", "/v1/vulns/PYSEC-2018-49", "/v1/vulns/PYSEC-2099-1",
        ]  # fmt: skip
        again = Matcher(source).match([PackageRef("pkg:pypi/pyyaml@4.2b1")])
        assert again.findings == report.findings
        assert sum(1 for method, _ in standin.log if method == "GET") == len(gets)


def test_severity_fetches_are_bounded_per_call() -> None:
    with running(_pyyaml_records()) as standin:
        source = OsvApiSource(_client(standin), max_severity_fetches=1)
        asked = ["GHSA-rprw-h62v-c2w7", "CVE-2099-1", "CVE-2017-18342"]
        first = source.severities(asked)
        rated = SeverityScore("critical", 9.8, "CVSS_V3", V3_CRITICAL, "GHSA-rprw-h62v-c2w7", "CVSS_V3")
        assert first == {"GHSA-rprw-h62v-c2w7": rated, "CVE-2017-18342": rated}  # the alias came with the record
        assert [path for method, path in standin.log if method == "GET"] == ["/v1/vulns/GHSA-rprw-h62v-c2w7"]
        assert source.severities(asked) == first
        assert [path for method, path in standin.log if method == "GET"][1:] == ["/v1/vulns/CVE-2099-1"]


def test_long_answers_are_paged(standin: OsvStandIn) -> None:
    standin.script.page_size = 7
    client = _client(standin)
    (django,) = client.querybatch([osv_query(PackageRef("pkg:pypi/django@3.2.0"))])
    assert len(django) > 7
    assert len({i for i, _ in django}) == len(django)
    assert sum(1 for method, _ in standin.log if method == "POST") == -(-len(django) // 7)


def test_429_and_5xx_are_retried_with_backoff_and_retry_after(standin: OsvStandIn) -> None:
    standin.script.statuses = [(503, {}), (429, {"Retry-After": "2"})]
    sleeps = _Sleeps()
    client = OsvApiClient(standin.url, retry=_policy(sleeps, base_delay=0.5))
    assert client.querybatch(JINJA2)[0]
    assert sleeps == [0.5, 2.0]
    assert client.request_count == 3


def test_the_default_policy_is_the_shared_one_with_500_retried() -> None:
    assert isinstance(DEFAULT_RETRY, RetryPolicy)
    assert DEFAULT_RETRY.statuses == RETRY_STATUSES | {500}
    assert DEFAULT_RETRY.max_attempts == 3 and DEFAULT_RETRY.jitter
    assert OsvApiClient(max_attempts=5).retry == replace(DEFAULT_RETRY, max_attempts=5)
    with pytest.raises(ValueError):
        OsvApiClient(max_attempts=0)


def test_500_is_retried_and_retry_after_may_be_a_date(standin: OsvStandIn) -> None:
    when = email.utils.format_datetime(datetime.now(timezone.utc) + timedelta(seconds=3), usegmt=True)
    standin.script.statuses = [(500, {"Retry-After": when})]
    sleeps = _Sleeps()
    client = _client(standin, sleeps)
    assert client.querybatch(JINJA2)[0]
    assert len(sleeps) == 1 and 1.0 < sleeps[0] <= 3.0
    assert client.request_count == 2


def test_giving_up_is_temporary(standin: OsvStandIn) -> None:
    standin.script.statuses = [(502, {})] * 3
    with pytest.raises(AdvisorySourceUnavailable, match="HTTP 502 after 3") as caught:
        _client(standin, max_attempts=3).querybatch(JINJA2)
    assert caught.value.temporary


def test_a_retry_after_too_long_is_not_waited_for(standin: OsvStandIn) -> None:
    standin.script.statuses = [(429, {"Retry-After": "3600"})]
    sleeps = _Sleeps()
    with pytest.raises(AdvisorySourceUnavailable, match=r"HTTP 429 after 1 attempt\(s\); it asked to wait 3600s"):
        _client(standin, sleeps).querybatch(JINJA2)
    assert sleeps == []
    assert len(standin.log) == 1


def test_a_rejected_request_is_permanent(standin: OsvStandIn) -> None:
    standin.script.statuses = [(400, {})]
    with pytest.raises(AdvisorySourceRejected, match="HTTP 400") as caught:
        _client(standin).querybatch(JINJA2)
    assert not caught.value.temporary


def test_missing_and_broken_records_are_problems(standin: OsvStandIn) -> None:
    client = _client(standin)
    ids = [i for i, _ in client.querybatch(JINJA2)[0]]
    standin.script.missing = {ids[0]}
    standin.script.broken = {ids[1]}
    lookup = OsvApiSource(client).lookup(JINJA2)
    assert {(p.code, p.record_id) for p in lookup.problems} == {("advisory-not-found", ids[0]), ("invalid-advisory", ids[1])}
    assert {a.id for a in lookup.records[PackageKey("PyPI", "jinja2")]} == set(ids[2:])


def test_an_oversized_answer_is_refused(standin: OsvStandIn) -> None:
    standin.script.oversized = True
    with pytest.raises(AdvisorySourceRejected, match="larger than"):
        _client(standin).querybatch(JINJA2)


def test_a_slow_server_times_out(standin: OsvStandIn) -> None:
    standin.script.delay = 0.5
    with pytest.raises(AdvisorySourceUnavailable, match="Timeout after 2"):
        _client(standin, read_timeout=0.1, max_attempts=2).querybatch(JINJA2)


def test_an_unreachable_server() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = OsvApiClient(f"http://127.0.0.1:{port}", retry=_policy(), max_attempts=2)
    with pytest.raises(AdvisorySourceUnavailable, match="ConnectionError after 2"):
        client.querybatch(JINJA2)


def test_a_tls_failure_is_not_retried(standin: OsvStandIn) -> None:
    sleeps = _Sleeps()
    client = _client(standin, sleeps, url=standin.url.replace("http://", "https://"))
    with pytest.raises(AdvisorySourceUnavailable, match="TLS handshake failed") as caught:
        client.querybatch(JINJA2)
    assert caught.value.temporary
    assert client.request_count == 1 and sleeps == []


def test_an_answer_cut_short_is_temporary(standin: OsvStandIn) -> None:
    standin.script.truncated = True
    with pytest.raises(AdvisorySourceUnavailable, match="while reading the answer") as caught:
        _client(standin).querybatch(JINJA2)
    assert caught.value.temporary
