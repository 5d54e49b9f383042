"""Benchmark: import the shipped PyPA + Go advisories, then match 1,000 packages against them.

Run from the project root: ``.venv/bin/python -m bench.vulns_match`` (``--advisories DIR`` to point
elsewhere, ``--packages N``, ``--seed S``). Prints one figure per line:

- the import (parse every YAML/JSON record, index it), and an import of the same data again;
- matching N packages — a seeded, realistic mix of PyPI and Go packages: half of them named by some
  advisory (of those, two in five at a version an advisory lists as affected, the rest at the
  highest fixed version), half never named by any advisory — first cold (the process-wide cache of
  prepared records emptied: ranges parsed on the way), then again (the steady state).

Target: matching 1,000 packages in at most 1 s.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path

from shared.vulns.feeds import DirectoryFeed
from shared.vulns.index import MemoryIndex
from shared.vulns.matching import Matcher, clear_prepared
from shared.vulns.model import Advisory
from shared.vulns.packages import PackageKey, PackageRef
from shared.vulns.versions import scheme_for

ROOT = Path(__file__).resolve().parents[1]


def _purl(key: PackageKey, version: str) -> str:
    if key.ecosystem == "PyPI":
        return f"pkg:pypi/{key.name}@{version}"
    if key.name in ("stdlib", "toolchain"):
        return f"pkg:golang/{key.name}@go{version}"
    return f"pkg:golang/{key.name}@v{version}"


def _versions(records: list[Advisory], key: PackageKey) -> tuple[list[str], list[str]]:
    """Versions some record of ``key`` affects (listed, or introduced), and its fixed versions."""
    affected: list[str] = []
    fixed: list[str] = []
    for record in records:
        for entry in record.affected:
            if entry.package is None or PackageKey.of(entry.package.ecosystem, entry.package.name) != key:
                continue
            affected.extend(entry.versions)
            for item in entry.ranges:
                for event in item.events:
                    if event.kind == "fixed" and item.type != "GIT":
                        fixed.append(event.version)
                    elif event.kind == "introduced" and event.version != "0" and item.type != "GIT":
                        affected.append(event.version)
    return affected, fixed


def build_packages(index: MemoryIndex, count: int, seed: int) -> list[PackageRef]:
    """``count`` packages: half named by advisories (some vulnerable), half not."""
    rng = random.Random(seed)
    keys = sorted(k for k in index.package_keys() if k.ecosystem in ("PyPI", "Go"))
    named = rng.sample(keys, min(count // 2, len(keys)))
    packages = []
    for key in named:
        affected, fixed = _versions(list(index.records_for(key)), key)
        scheme = scheme_for(key.ecosystem)
        assert scheme is not None
        parseable = []
        for version in fixed:
            try:
                parseable.append((scheme.key(version), version))
            except ValueError:
                continue
        if affected and (rng.random() < 0.4 or not parseable):
            version = rng.choice(affected)
        elif parseable:
            version = sorted(parseable, key=lambda pair: pair[0])[-1][1]
        else:
            version = "1.0.0"
        packages.append(PackageRef(_purl(key, version)))
    while len(packages) < count:
        n = len(packages)
        if n % 5 < 3:
            packages.append(PackageRef(f"pkg:pypi/bench-clean-{n}@{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"))
        else:
            packages.append(PackageRef(f"pkg:golang/example.com/bench/clean{n}@v{rng.randint(0, 3)}.{rng.randint(0, 30)}.0"))
    rng.shuffle(packages)
    return packages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--advisories", type=Path, default=ROOT.parent / "shared" / "advisories")
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    print(f"python {platform.python_version()} on {platform.machine()}")
    index = MemoryIndex()
    started = time.perf_counter()
    pypa = index.import_records(DirectoryFeed(args.advisories / "pypa" / "vulns").read())
    go = index.import_records(DirectoryFeed(args.advisories / "go" / "osv").read())
    imported = time.perf_counter() - started
    problems = len(pypa.problems) + len(go.problems)
    print(f"import: {len(index)} advisories ({pypa.added} PyPA, {go.added} Go, {problems} problems) in {imported:.2f} s")
    started = time.perf_counter()
    again = index.import_records(DirectoryFeed(args.advisories / "go" / "osv").read())
    took = time.perf_counter() - started
    print(f"re-import of the Go data: {again.changed} changed, {again.unchanged} unchanged in {took:.2f} s")

    packages = build_packages(index, args.packages, args.seed)
    clear_prepared()  # records prepared by the import's checks must not make the first match warm
    matcher = Matcher(index)
    started = time.perf_counter()
    report = matcher.match(packages)
    first = time.perf_counter() - started
    started = time.perf_counter()
    matcher.match(packages)
    warm = time.perf_counter() - started
    vulnerable = len({f.package for f in report.findings})
    counts = report.counts
    print(
        f"match {report.packages} packages: {first:.3f} s with a fresh matcher, {warm:.3f} s again "
        f"(target <= 1 s); {vulnerable} vulnerable packages, {counts.total} findings "
        f"(critical {counts.critical}, high {counts.high}, medium {counts.medium}, low {counts.low}, "
        f"unknown {counts.unknown}), {report.fixable} fixable, {len(report.problems)} problems"
    )
    return 0 if first <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
