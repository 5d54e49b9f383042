"""Reading many platforms' SBOMs, reports and policy results together (few requests), on Azurite."""

from __future__ import annotations

from shared.analysis.model import Package, PlatformAnalysis
from shared.images.model import PlatformRef
from shared.policy.model import PolicyEvaluation, PolicyResult
from shared.wiring import Services

REGISTRY = "r.example"


def analysis(number: int) -> PlatformAnalysis:
    digest = f"sha256:{number:064x}"
    return PlatformAnalysis(platform="linux/amd64", digest=digest, os=None, problems=(), packages=(
        Package(type="pypi", name=f"pkg{number}", version="1.0", purl=f"pkg:pypi/pkg{number}@1.0", layer=digest,
                path="/x", cataloger="python"),))


def test_sboms_and_reports_of_many_platforms_are_read_together_and_absent_ones_left_out(svc: Services) -> None:
    stored: dict[PlatformRef, PlatformAnalysis] = {}
    for number in range(33):  # more digests of one repository than one query names
        repository = "team/big" if number < 30 else f"team/small{number}"
        ref = PlatformRef(REGISTRY, repository, f"sha256:{number:064x}")
        if number % 4:
            svc.sboms.put(REGISTRY, repository, analysis(number), "2026-01-01T00:00:00Z")
            svc.reports.put(ref, {"digest": ref.digest, "findings": [], "n": number})
            stored[ref] = analysis(number)
    asked = [*stored, PlatformRef(REGISTRY, "team/big", "sha256:" + "0" * 64), PlatformRef(REGISTRY, "team/none", "sha256:1")]
    assert svc.sboms.get_many(asked) == stored
    reports = svc.reports.get_many(asked)
    assert set(reports) == set(stored) and all(reports[ref] == svc.reports.get(ref) for ref in stored)
    assert svc.sboms.get_many([]) == {} and svc.reports.get_many([]) == {}


def test_current_policy_evaluations_are_read_together(svc: Services) -> None:
    evaluation = PolicyEvaluation((PolicyResult.of("no-root-user", 1, "Not running as root", "pass"),),
                                  "2026-01-01T00:00:00.000000Z")
    images = [(REGISTRY, "team/app", f"sha256:{number:064x}") for number in range(20)]
    for image in images[::2]:
        svc.policy_results.put(*image, evaluation)
    assert svc.policy_results.current_of([*images, (REGISTRY, "team/other", "sha256:1")]) == {
        image: evaluation for image in images[::2]}


def test_reports_of_several_repositories_are_written_together(svc: Services) -> None:
    written = {PlatformRef(REGISTRY, f"team/app{n % 3}", f"sha256:{n:064x}"): {"digest": f"sha256:{n:064x}", "n": n,
                                                                               "findings": []} for n in range(30)}
    svc.reports.put_many(list(written.items()))
    assert svc.reports.get_many(list(written)) == written
    svc.reports.put_many([(ref, {**report, "n": -1}) for ref, report in list(written.items())[:5]])
    assert [svc.reports.get(ref)["n"] for ref in list(written)[:6]] == [-1] * 5 + [5]  # type: ignore[index]
