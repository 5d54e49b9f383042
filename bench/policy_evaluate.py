"""Benchmark: evaluate the six policies of one large image, as the worker and the re-match do.

Run from the project root: ``.venv/bin/python -m bench.policy_evaluate [--packages N] [--findings N]
[--kev N] [--rounds R]``. The image has N packages (a seeded mix of SPDX expressions, free-text licenses
and none; one in fifty AGPL), a report of the given number of findings (each with two aliases, half
fixable, ratings spread over the levels) and a high-profile list of ``--kev`` ids. Prints the time of
one evaluation (the first loads the SPDX license list and judges each declaration) and the mean over
``--rounds`` more (a worker's steady state: declarations already judged).
"""

from __future__ import annotations

import argparse
import random
import time

from shared.analysis.model import OSInfo, Package, PlatformAnalysis
from shared.images.model import ImageRecord, PlatformRecord
from shared.policy.config import effective_settings
from shared.policy.evaluate import Evidence, evaluate
from shared.policy.highprofile import HighProfileList

LICENSES = ("MIT", "Apache-2.0", "BSD-3-Clause", "MIT OR Apache-2.0", "GPL-2.0-or-later", "Apache Software License",
            "ISC", "(MIT AND BSD-2-Clause) OR GPL-3.0-only", "")
LEVELS = ("critical", "high", "medium", "low", "unknown")


def image(packages: int, findings: int, seed: int) -> tuple[ImageRecord, PlatformAnalysis, dict[str, object]]:
    rng = random.Random(seed)
    digest = "sha256:" + "1" * 64
    built = []
    for number in range(packages):
        license_text = "AGPL-3.0-only" if number % 50 == 0 else rng.choice(LICENSES)
        built.append(Package(type="npm", name=f"p{number}", version="1.0.0", purl=f"pkg:npm/p{number}@1.0.0",
                             layer="sha256:" + "2" * 64, path=f"/app/node_modules/p{number}/package.json",
                             cataloger="npm", meta={"license": license_text} if license_text else {}))
    analysis = PlatformAnalysis("linux/amd64", digest, OSInfo("debian", "12"), tuple(built), ())
    report_findings = []
    for number in range(findings):
        report_findings.append({
            "id": f"CVE-2026-{number}", "aliases": [f"GHSA-{number}", f"PYSEC-{number}"], "advisory_ids": [f"GHSA-{number}"],
            "package": f"pkg:npm/p{number % packages}@1.0.0", "ecosystem": "npm", "name": f"p{number % packages}",
            "installed_version": "1.0.0", "fixed_versions": ["2.0.0"] if number % 2 else [],
            "severity": {"rating": LEVELS[number % 5], "score": None, "type": "", "vector": "", "source": "", "origin": ""},
            "summary": "", "references": [], "modified": "2026-01-01T00:00:00Z", "locations": []})
    record = ImageRecord(registry="r", repository="a", digest="sha256:" + "9" * 64, status="analyzed",
                         media_type="application/vnd.oci.image.manifest.v1+json",
                         platforms=(PlatformRecord(digest=digest, os="linux", architecture="amd64", user="root"),),
                         attestations=())
    return record, analysis, {"digest": digest, "findings": report_findings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--findings", type=int, default=1000)
    parser.add_argument("--kev", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    record, analysis, report = image(args.packages, args.findings, args.seed)
    listed = HighProfileList(tuple(f"CVE-2026-{n * 7}" for n in range(args.kev)), "bench", "")
    def evidence() -> Evidence:  # a fresh one per evaluation, as each image gets (the license verdicts stay cached)
        return Evidence(record=record, reports={analysis.digest: report}, sbom={analysis.digest: analysis}.get,
                        high_profile=listed)

    settings = effective_settings([])
    started = time.perf_counter()
    result = evaluate(evidence(), settings, "now")
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(args.rounds):
        evaluate(evidence(), settings, "now")
    mean = (time.perf_counter() - started) / max(1, args.rounds)
    print(f"{args.packages} packages, {args.findings} findings, {args.kev} high-profile ids")
    print(f"first evaluation (loads the SPDX license list): {first * 1000:.0f} ms")
    print(f"evaluation, mean of {args.rounds}: {mean * 1000:.0f} ms")
    print("results: " + ", ".join(f"{r.id}={r.outcome} ({len(r.reasons)}+{r.omitted})" for r in result.results))


if __name__ == "__main__":
    main()
