"""Re-matching stored SBOMs after an advisory update, against the old path as yardstick in the same run.

Run: ``.venv/bin/python -m bench.vulns_rematch [--count 1000] [--packages 40] [--concurrency 8] [--rounds 3]``
(part of ``make bench``).

On its own Azurite (data in memory: no pause to save it to disk lands in one path's timing), in one run:

1. imports the shipped PyPA + Go advisories into the mirror (and imports them again: nothing changes);
2. stores ``--count`` analyzed images with one platform SBOM each, as the worker leaves them (SBOM,
   report, image record, advisory filing — filed a hundred at a time to save time). Each SBOM holds
   ``--packages`` packages: a tenth at a version some advisory affects (drawn from 40 package names
   that at most two records name), two fifths named by advisories at a version none affects, the
   rest named by none;
3. imports a small update — three records, each for one of those 40 names — and re-matches the
   stored SBOMs it concerns with the **old path** (a cold advisory index read again from Table
   storage, the snapshot row read at every lookup, prepared records forgotten, SBOMs one after the
   other, every report, image record and filing written again, one image at a time); then a second
   version of the same three records, re-matched with the **new path** (:meth:`Vulnerabilities.rematch`:
   the process-wide index brought forward incrementally, SBOMs on ``--concurrency`` threads, only
   changed records written, images filed together). Both updates change the findings' summary text,
   so every SBOM revisited gets a new report either way;
4. re-matches every stored SBOM (an update naming more package keys than the reverse index is used
   for) both ways, with no advisory changed.

Each case runs ``--rounds`` times, old and new path back to back in every round (each round with a new
version of the three records, so every round has work to do). Prints, for both cases, each round's
per-SBOM times and ratio (old / new) and the median ratio over the rounds. Times depend on the machine
and on Azurite: compare the ratio, measured in the same run, not the absolute figures.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from shared.analysis.model import OSInfo, Package, PlatformAnalysis
from shared.api.repository_listing import refresh_repository
from shared.images.model import ImageRecord, PlatformRecord, PlatformRef
from shared.notify.changes import announce_new_findings
from shared.process import configure_process
from shared.secrets import generate_key
from shared.settings import load
from shared.store.advisory_mirror import TableAdvisoryIndex
from shared.store.azure import Tables
from shared.vulns.feeds import DirectoryFeed
from shared.vulns.matching import Matcher, clear_prepared
from shared.vulns.model import Advisory
from shared.vulns.packages import PackageKey
from shared.vulns.parse import load_json, load_yaml, parse_advisory
from shared.vulns.service import Vulnerabilities, image_counts, with_vulnerabilities
from shared.wiring import Services, build_services
from testkit.azurite import Azurite

ADVISORIES = Path(__file__).resolve().parents[2] / "shared" / "advisories"
REGISTRY = "bench.azurecr.io"
PREFIX = "bench"
REPOSITORIES = 50
VULNERABLE_NAMES = 40
UPDATED_NAMES = 3
SETUP_THREADS = 4


def affected_pairs() -> tuple[list[tuple[str, str, str]], set[str]]:
    """(purl type, name, an affected version) from the shipped records' explicit version lists and Go
    ranges, and the PyPI names at most two records name (an image rarely holds the most advised ones)."""
    pairs: dict[tuple[str, str], str] = {}
    records: dict[str, int] = {}
    for path in sorted((ADVISORIES / "pypa" / "vulns").glob("*/*.yaml")):
        record = parse_advisory(load_yaml(path.read_bytes()))
        for affected in record.affected:
            if affected.package:
                records[affected.package.name] = records.get(affected.package.name, 0) + 1
            if affected.package and affected.versions:
                pairs.setdefault(("pypi", affected.package.name), affected.versions[-1])
    for path in sorted((ADVISORIES / "go" / "osv").glob("*.json")):
        record = parse_advisory(load_json(path.read_bytes()))
        for affected in record.affected:
            if affected.package and affected.package.name not in ("stdlib", "toolchain"):
                pairs.setdefault(("golang", affected.package.name), "0.0.1")
    return [(kind, name, version) for (kind, name), version in pairs.items()], {n for n, c in records.items() if c <= 2}


def sbom(number: int, rng: random.Random, vulnerable: list[tuple[str, str, str]],
         named: list[tuple[str, str, str]], packages: int) -> PlatformAnalysis:
    """The SBOM of image ``number`` (see the module notes for its mix of packages)."""
    digest = f"sha256:{number:064x}"
    chosen = rng.sample(vulnerable, max(1, packages // 10))
    chosen += [(kind, name, "999.0.0" if kind == "pypi" else "99.0.0") for kind, name, _ in
               rng.sample(named, min(len(named), packages * 2 // 5))]
    chosen += [("pypi", f"bench-clean-{number}-{i}", f"1.{i}.0") for i in range(max(0, packages - len(chosen)))]
    found = tuple(
        Package(type=kind, name=name, version=version, purl=f"pkg:{kind}/{name}@{version if kind == 'pypi' else 'v' + version}",
                layer=digest, path=f"/x/{i}", cataloger=kind)
        for i, (kind, name, version) in enumerate(chosen))
    return PlatformAnalysis(platform="linux/amd64", digest=digest, os=OSInfo(id="debian", version_id="12"),
                            packages=found, problems=())


def store_images(svc: Services, analyses: list[PlatformAnalysis], threads: int) -> int:
    """Store each SBOM as the worker does — SBOM, report filed under its keys, image record — then file
    the images in the advisory index, a hundred at a time."""
    vulns = svc.vulnerabilities
    matcher = vulns.matcher()

    def store(pair: tuple[int, PlatformAnalysis]) -> tuple[ImageRecord, dict[PlatformRef, dict[str, Any]]]:
        number, analysis = pair
        repository = f"team/app{number % REPOSITORIES}"
        ref = PlatformRef(REGISTRY, repository, analysis.digest)
        svc.sboms.put(REGISTRY, repository, analysis, "2026-01-01T00:00:00.000000Z")
        report = vulns.match_and_store(matcher, ref, analysis)
        counts, fixable = image_counts([report])
        platform = with_vulnerabilities(PlatformRecord(digest=analysis.digest, os="linux", architecture="amd64"), report)
        record = ImageRecord(registry=REGISTRY, repository=repository, digest=analysis.digest, status="analyzed",
                             platforms=(platform,), vulnerabilities=counts, fixable=fixable)
        svc.images.put(record)
        return record, {ref: report}

    with ThreadPoolExecutor(threads) as pool:
        stored = list(pool.map(store, enumerate(analyses)))
    for start in range(0, len(stored), 100):
        vulns.file_images(stored[start : start + 100])
    for number in range(REPOSITORIES):
        refresh_repository(svc.images, svc.summaries, REGISTRY, f"team/app{number}")
    return len(analyses)


def old_rematch(vulns: Vulnerabilities, matcher: Matcher, changed: Iterable[PackageKey], threshold: int = 500) -> int:
    """The re-match as it was: one SBOM after the other, every report, record and filing written again
    (policies evaluated and new findings announced for every image, as the new path does for those that changed)."""
    keys = set(changed)
    refs = vulns.reports.platforms_naming(keys) if len(keys) <= threshold else set(vulns.sboms.all_platforms())
    checked: dict[tuple[str, str], set[str]] = {}
    reports: dict[PlatformRef, dict[str, Any]] = {}
    befores: dict[PlatformRef, dict[str, Any] | None] = {}
    for ref in sorted(refs):
        analysis = vulns.sboms.get(ref.registry, ref.repository, ref.digest)
        if analysis is None:
            continue
        befores[ref] = vulns.reports.get(ref)
        reports[ref] = vulns.match_and_store(matcher, ref, analysis, file_keys=False)
        checked.setdefault((ref.registry, ref.repository), set()).add(ref.digest)
    for (registry, repository), digests in sorted(checked.items()):
        for record in vulns.images.list_repository(registry, repository):
            if record.status != "analyzed" or not {p.digest for p in record.platforms} & digests:
                continue
            refreshed = vulns.refresh_record(record, reports)
            if vulns.policies is not None:
                refreshed = vulns.policies.evaluate(refreshed, reports)
            vulns.images.put(refreshed)
            vulns.file_image(refreshed, reports)
            announce_new_findings(vulns.notices, refreshed, befores, reports, "rematch")
        refresh_repository(vulns.images, vulns.summaries, registry, repository)
    return len(refs)


def update(names: list[str], round_: int) -> list[Advisory]:
    """Version ``round_`` of one bench record per name: every version affected, a summary naming the round."""
    return [parse_advisory({
        "id": f"PYSEC-BENCH-{name}", "summary": f"bench {round_}",
        "modified": f"2026-06-01T{round_ // 60:02d}:{round_ % 60:02d}:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": name},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}) for name in names]


def timed(action: Callable[[], int]) -> tuple[float, int]:
    """(seconds, what ``action`` returned)."""
    started = time.perf_counter()
    checked = action()
    return time.perf_counter() - started, checked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", "--images", type=int, default=1000, help="stored SBOMs (default 1000)")
    parser.add_argument("--packages", type=int, default=40, help="packages per SBOM (default 40)")
    parser.add_argument("--concurrency", type=int, default=8, help="re-match threads of the new path (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each case, old and new path back to back (default 3)")
    args = parser.parse_args()
    rng = random.Random(7)
    storage = Azurite(in_memory=True)
    storage.start()
    try:
        settings = {"AzureWebJobsStorage": storage.connection_string, "LOOKOUT_ENCRYPTION_KEY": generate_key(),
                    "LOOKOUT_TABLE_PREFIX": PREFIX}
        configure_process()  # as the app's processes do
        svc = build_services(load(settings, None))
        new = replace(svc.vulnerabilities, concurrency=args.concurrency)
        old = replace(svc.vulnerabilities, concurrency=1)

        feeds = [*DirectoryFeed(ADVISORIES / "pypa").read(), *DirectoryFeed(ADVISORIES / "go").read()]
        seconds, _ = timed(lambda: svc.advisories.import_records(feeds).added)
        again, _ = timed(lambda: svc.advisories.import_records(feeds).changed)
        print(f"import into Table storage: {len(feeds)} records in {seconds:.1f} s; again (nothing changed) in {again:.1f} s")

        pairs, rare = affected_pairs()
        pypi = [pair for pair in pairs if pair[0] == "pypi" and pair[1] in rare]
        vulnerable = rng.sample(pypi, VULNERABLE_NAMES)
        named = [pair for pair in pairs if pair not in vulnerable]
        analyses = [sbom(number, rng, vulnerable, named, args.packages) for number in range(args.count)]
        seconds, _ = timed(lambda: store_images(svc, analyses, SETUP_THREADS))
        sample = [svc.reports.get(PlatformRef(REGISTRY, f"team/app{n % REPOSITORIES}", a.digest))
                  for n, a in enumerate(analyses[:20])]
        findings = sum(len(report.get("findings", [])) for report in sample if report is not None)
        print(f"stored {args.count} analyzed images of {args.packages} packages in {seconds:.1f} s "
              f"(first 20 reports: {findings} findings)")

        names = sorted(name for _, name, _ in rng.sample(vulnerable, UPDATED_NAMES))
        tables = Tables(load(settings, None).storage, PREFIX)

        def old_path(keys: Iterable[PackageKey]) -> int:
            clear_prepared()
            return old_rematch(old, Matcher(TableAdvisoryIndex(tables)), keys)  # cold, unpinned index

        def new_path(keys: Iterable[PackageKey]) -> int:
            return new.rematch(keys).platforms_checked

        print(f"machine shared with other work: compare ratios; new path on {args.concurrency} threads", flush=True)

        def show(label: str, rounds: list[tuple[float, int, float, int]]) -> None:
            ratios = []
            for number, (old_s, old_n, new_s, new_n) in enumerate(rounds, 1):
                old_each, new_each = old_s / max(old_n, 1) * 1000, new_s / max(new_n, 1) * 1000
                ratios.append(old_each / max(new_each, 1e-9))
                print(f"  {label}, round {number}: old path {old_n} SBOMs in {old_s:.1f} s ({old_each:.1f} ms each); "
                      f"new path {new_n} SBOMs in {new_s:.1f} s ({new_each:.1f} ms each); ratio {ratios[-1]:.1f}x",
                      flush=True)
            print(f"{label}: ratio {statistics.median(ratios):.1f}x (median of {len(ratios)} rounds; "
                  f"{min(ratios):.1f}x to {max(ratios):.1f}x)", flush=True)

        updates: list[tuple[float, int, float, int]] = []
        keys = 0
        for number in range(args.rounds):
            result = svc.advisories.import_records(update(names, 2 * number + 1))
            old_seconds, old_checked = timed(partial(old_path, result.changed_keys))
            result = svc.advisories.import_records(update(names, 2 * number + 2))
            keys = len(result.changed_keys)
            new_seconds, new_checked = timed(partial(new_path, result.changed_keys))
            updates.append((old_seconds, old_checked, new_seconds, new_checked))
        show(f"update of {UPDATED_NAMES} records ({keys} package keys)", updates)

        everything = {PackageKey.of("PyPI", p.name) if p.type == "pypi" else PackageKey.of("Go", p.name)
                      for a in analyses for p in a.packages}
        full: list[tuple[float, int, float, int]] = []
        for _ in range(args.rounds):
            old_seconds, old_checked = timed(lambda: old_path(everything))
            new_seconds, new_checked = timed(lambda: new_path(everything))
            full.append((old_seconds, old_checked, new_seconds, new_checked))
        show("re-match of every stored SBOM (no advisory changed)", full)
    finally:
        storage.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
