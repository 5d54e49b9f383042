"""VEX costs: reading a document, and applying its statements to a platform report.

Run from the project root: ``.venv/bin/python -m bench.vex_apply [--findings N]``. Builds N crafted
PyPI packages with one advisory each (alias ``CVE-2099-<n>``), matches them, writes an OpenVEX document
with a ``not_affected`` statement for every second advisory (products without versions), then prints
the time to read the document (:func:`shared.vex.documents.parse_document`) and to apply it
(:func:`shared.vex.apply.apply_vex`), best of five.
"""

from __future__ import annotations

import argparse
import json
import time

from shared.analysis.model import Package, PlatformAnalysis
from shared.vex.apply import Subject, apply_vex
from shared.vex.documents import parse_document
from shared.vex.model import ImportedVex, Scope
from shared.vulns.index import MemoryIndex
from shared.vulns.parse import parse_advisory
from shared.vulns.report import match_platform
from testkit.contents import osv_record

DIGEST = "sha256:" + "1" * 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--findings", type=int, default=2000)
    count = parser.parse_args().findings
    index = MemoryIndex()
    index.import_records([parse_advisory(osv_record(f"PYSEC-B-{n}", "PyPI", f"pkg{n}", "9.0", aliases=(f"CVE-2099-{n}",)))
                          for n in range(count)])
    packages = tuple(Package(type="python", name=f"pkg{n}", version="1.0", purl=f"pkg:pypi/pkg{n}@1.0",
                             layer=DIGEST, path=f"/site/pkg{n}", cataloger="bench") for n in range(count))
    report = match_platform(PlatformAnalysis("linux/amd64", DIGEST, None, packages, ()), index)
    document = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "bench", "author": "bench",
                "timestamp": "2026-01-01T00:00:00Z", "version": 1,
                "statements": [{"vulnerability": {"name": f"CVE-2099-{n}"}, "products": [{"@id": f"pkg:pypi/pkg{n}"}],
                                "status": "not_affected", "justification": "component_not_present"}
                               for n in range(0, count, 2)]}
    data = json.dumps(document).encode()
    parse_times, apply_times = [], []
    for _ in range(5):
        started = time.perf_counter()
        parsed = parse_document(data)
        parse_times.append(time.perf_counter() - started)
        vex = ImportedVex("bench", Scope("bench", "registry.test"), "bench.json", "2026-01-01T00:00:00Z", parsed)
        started = time.perf_counter()
        applied = apply_vex(report, [vex], Subject("registry.test", "team/app", frozenset({DIGEST})))
        apply_times.append(time.perf_counter() - started)
    print(f"read {len(data):,} bytes, {len(parsed.statements):,} statements: {min(parse_times) * 1000:.0f} ms")
    print(f"applied to {len(report.findings):,} findings: {min(apply_times) * 1000:.0f} ms, "
          f"{applied.suppressed_count:,} suppressed")


if __name__ == "__main__":
    main()
