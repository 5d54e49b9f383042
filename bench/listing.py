"""The listing and search API over 1,000 stored images: how long each call takes (p50 and p95).

Run from the project root: ``.venv/bin/python -m bench.listing [--images 1000] [--repositories 20] [--calls 40]``
(``--help`` for the other options).

On its own Azurite, the benchmark stores ``--images`` analyzed images spread over ``--repositories``
repositories of one integration, through the real stores and the same index-keeping calls the worker
makes: the record (and its place in the push order), two tags, ``--packages`` packages in the package
index, ``--findings`` findings drawn from 300 advisories of every severity in the advisory index,
and the repository summary, ``--writers`` images at a time as several queue workers would. It prints
what storing cost per image, then calls every listing of
:mod:`shared.api` ``--calls`` times (default page size, 50) and prints the median and 95th
percentile latency of each, with the number of results of one call. HTTP parsing is not included:
the functions in ``functions/api.py`` only parse parameters and serialize the answer.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared.api.image_listing import list_images
from shared.api.package_search import search_packages
from shared.api.repository_listing import list_repositories, refresh_repository
from shared.api.vulnerability_listing import list_vulnerabilities, vulnerability_detail
from shared.images.listing import AdvisoryHit, PackageOccurrence
from shared.images.model import ImageRecord, PlatformRecord
from shared.integrations.model import Integration
from shared.secrets import generate_key
from shared.settings import load
from shared.vulns.report import LEVELS
from shared.wiring import Services, build_services
from testkit.azurite import Azurite

REGISTRY = "bench.azurecr.io"
ADVISORIES = 300
NAMES = [f"pkg{n:03d}" for n in range(400)]


def advisory_pool(rng: random.Random) -> list[tuple[str, str, float | None, str]]:
    """(id, level, CVSS score or None, package name) of the advisories the images are found to have."""
    pool = []
    for number in range(ADVISORIES):
        level = LEVELS[number % len(LEVELS)]
        score = {"critical": 9.0, "high": 7.0, "medium": 5.0, "low": 2.0}.get(level)
        pool.append((f"CVE-2026-{number:05d}", level, score + rng.random() if score else None, rng.choice(NAMES)))
    return pool


def store_image(svc: Services, rng: random.Random, pool: list[tuple[str, str, float | None, str]], number: int,
                repository: str, packages: int, findings: int) -> None:
    """One analyzed image with its tags, package occurrences, advisory hits and repository summary."""
    digest, platform = f"sha256:{number:064x}", f"sha256:{number + 10**6:064x}"
    counts = {level: 0 for level in LEVELS}
    hits = []
    for advisory, level, score, name in rng.sample(pool, findings):
        counts[level] += 1
        hits.append(AdvisoryHit(
            advisory=advisory, aliases=(f"GHSA-{advisory[-5:]}-bnch-mark",), summary=f"{name} flaw",
            severity={"rating": level, "score": score, "type": "CVSS_V3" if score else "", "vector": "", "source": advisory,
                      "origin": ""}, level=level, references=({"type": "WEB", "url": f"https://example.test/{advisory}"},),
            platform="linux/amd64", platform_digest=platform, package=f"pkg:pypi/{name}@1.{number % 7}", name=name,
            installed_version=f"1.{number % 7}", fixed_versions=("2.0",) if number % 3 else ()))
    record = ImageRecord(registry=REGISTRY, repository=repository, digest=digest, status="analyzed",
                         platforms=(PlatformRecord(digest=platform, os="linux", architecture="amd64"),),
                         event_time=f"2026-01-01T00:{number // 60 % 60:02d}:{number % 60:02d}.{number:06d}Z",
                         vulnerabilities=counts, fixable=sum(1 for h in hits if h.fixed_versions))
    svc.images.put(record)
    for tag in (f"v{number}", f"build-{number}"):
        svc.images.point_tag(REGISTRY, repository, tag, digest, record.event_time)
    svc.packages.file(REGISTRY, repository, digest, [
        PackageOccurrence(REGISTRY, repository, digest, "linux/amd64", platform, f"pkg:pypi/{name}@1.{number % 7}", name,
                          f"1.{number % 7}", "pypi", f"sha256:{number:064x}")
        for name in rng.sample(NAMES, packages)])
    svc.affected.file(REGISTRY, repository, digest, hits)
    refresh_repository(svc.images, svc.summaries, REGISTRY, repository)


def timed(call: Callable[[], dict[str, Any]], times: int) -> tuple[float, float, dict[str, Any]]:
    """(median, 95th percentile) in milliseconds over ``times`` calls, and the last answer."""
    seconds, answer = [], {}
    for _ in range(times):
        started = time.perf_counter()
        answer = call()
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return statistics.median(seconds) * 1000, seconds[min(len(seconds) - 1, int(len(seconds) * 0.95))] * 1000, answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--repositories", type=int, default=20)
    parser.add_argument("--packages", type=int, default=40)
    parser.add_argument("--findings", type=int, default=15)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--writers", type=int, default=4, help="images stored at once, as several workers would")
    args = parser.parse_args()
    rng = random.Random(11)
    storage = Azurite()
    storage.start()
    try:
        svc = build_services(load({"AzureWebJobsStorage": storage.connection_string, "LOOKOUT_ENCRYPTION_KEY": generate_key(),
                                   "LOOKOUT_TABLE_PREFIX": "bench"}, None))
        svc.integrations.put(Integration(id="bench", registry=REGISTRY, created="2026-01-01T00:00:00.000000Z",
                                         webhook_secret_encrypted="unused"))  # noqa: S106 - no secret: never decrypted
        pool = advisory_pool(rng)
        repositories = [f"team/app{n:02d}" for n in range(args.repositories)]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.writers) as writers:
            list(writers.map(lambda n: store_image(svc, random.Random(n), pool, n, repositories[n % len(repositories)],
                                                   args.packages, args.findings), range(args.images)))
        stored = time.perf_counter() - started
        print(f"stored {args.images} images ({args.packages} packages, {args.findings} findings each) with every index, "
              f"{args.writers} at a time, in {stored:.1f} s ({stored / args.images * args.writers * 1000:.0f} ms per image)")

        tokens = svc.continuations
        deep = list_images(svc.images, tokens, REGISTRY, repositories[0], "20")["continuation"]
        first = list_vulnerabilities(svc.affected, tokens)["vulnerabilities"][0]["id"]
        alias = f"GHSA-{pool[1][0][-5:]}-bnch-mark"
        calls: list[tuple[str, str, Callable[[], dict[str, Any]]]] = [
            ("GET /api/repositories?integration=", "repositories",
             lambda: list_repositories(svc.integrations, svc.summaries, tokens, "bench")),
            ("GET /api/repositories (all integrations)", "repositories",
             lambda: list_repositories(svc.integrations, svc.summaries, tokens)),
            ("GET /api/images (first page)", "images", lambda: list_images(svc.images, tokens, REGISTRY, repositories[0])),
            ("GET /api/images (limit=20, second page)", "images",
             lambda: list_images(svc.images, tokens, REGISTRY, repositories[0], "20", deep)),
            ("GET /api/vulnerabilities", "vulnerabilities", lambda: list_vulnerabilities(svc.affected, tokens)),
            ("GET /api/vulnerabilities?severity=critical,high", "vulnerabilities",
             lambda: list_vulnerabilities(svc.affected, tokens, severity="critical,high")),
            ("GET /api/vulnerabilities?fixable=true&q=pkg1", "vulnerabilities",
             lambda: list_vulnerabilities(svc.affected, tokens, fixable="true", q="pkg1")),
            ("GET /api/vulnerabilities/{id}", "affected",
             lambda: vulnerability_detail(svc.affected, svc.images, tokens, first)),
            ("GET /api/vulnerabilities/{alias}", "affected",
             lambda: vulnerability_detail(svc.affected, svc.images, tokens, alias)),
            ("GET /api/packages?name=&type=", "packages",
             lambda: search_packages(svc.packages, svc.images, tokens, name="pkg007", type="pypi")),
            ("GET /api/packages?name=", "packages", lambda: search_packages(svc.packages, svc.images, tokens, name="pkg007")),
            ("GET /api/packages?purl=…@version", "packages",
             lambda: search_packages(svc.packages, svc.images, tokens, purl="pkg:pypi/pkg007@1.3")),
        ]
        print(f"{'call':50} {'p50 ms':>8} {'p95 ms':>8} {'results':>8}")
        for name, key, call in calls:
            p50, p95, answer = timed(call, args.calls)
            print(f"{name:50} {p50:8.1f} {p95:8.1f} {len(answer[key]):8d}")
    finally:
        storage.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
