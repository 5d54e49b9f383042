"""The advisory mirror on Table storage: import the shipped data, then re-match 1,000 stored SBOMs after an update.

Run: ``.venv/bin/python -m bench.vulns_rematch [--images 1000] [--packages 40]`` (part of ``make bench``).

On its own Azurite, in one run:

1. imports the shipped PyPA + Go advisories into the mirror (and imports them again: nothing changes);
2. stores ``--images`` image records with one platform SBOM each (``--packages`` PyPI and Go packages,
   drawn from names the advisories mention, at versions some of them affect), matched as the worker
   matches them (the first match loads the mirror's partitions into the process cache);
3. imports an update — new versions of 20 records whose packages the SBOMs name — and re-matches the
   stored SBOMs it concerns, as the refresh timer does; prints how long that took and how many images
   changed. No registry is involved at any point.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from shared.analysis.model import OSInfo, Package, PlatformAnalysis
from shared.images.model import ImageRecord, PlatformRecord, PlatformRef
from shared.secrets import generate_key
from shared.settings import load
from shared.vulns.feeds import DirectoryFeed
from shared.vulns.parse import load_json, load_yaml, parse_advisory
from shared.vulns.service import image_counts, with_vulnerabilities
from shared.wiring import build_services
from testkit.azurite import Azurite

ADVISORIES = Path(__file__).resolve().parents[2] / "shared" / "advisories"
REGISTRY = "bench.azurecr.io"


def affected_pairs(limit: int) -> list[tuple[str, str, str]]:
    """(purl type, name, an affected version) from the shipped records' explicit version lists."""
    pairs: list[tuple[str, str, str]] = []
    for path in sorted((ADVISORIES / "pypa" / "vulns").glob("*/*.yaml"))[: limit * 2]:
        record = parse_advisory(load_yaml(path.read_bytes()))
        for affected in record.affected:
            if affected.package and affected.versions:
                pairs.append(("pypi", affected.package.name, affected.versions[-1]))
    for path in sorted((ADVISORIES / "go" / "osv").glob("*.json"))[:limit]:
        record = parse_advisory(load_json(path.read_bytes()))
        for affected in record.affected:
            if affected.package and affected.package.name != "stdlib":
                pairs.append(("golang", affected.package.name, "0.0.1"))
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--packages", type=int, default=40)
    args = parser.parse_args()
    rng = random.Random(7)
    storage = Azurite()
    storage.start()
    try:
        settings = {"AzureWebJobsStorage": storage.connection_string, "LOOKOUT_ENCRYPTION_KEY": generate_key(),
                    "LOOKOUT_TABLE_PREFIX": "bench"}
        svc = build_services(load(settings, None))

        started = time.perf_counter()
        first = svc.advisories.import_records(
            [*DirectoryFeed(ADVISORIES / "pypa").read(), *DirectoryFeed(ADVISORIES / "go").read()])
        imported = time.perf_counter() - started
        started = time.perf_counter()
        second = svc.advisories.import_records(
            [*DirectoryFeed(ADVISORIES / "pypa").read(), *DirectoryFeed(ADVISORIES / "go").read()])
        reimported = time.perf_counter() - started
        print(f"import into Table storage: {first.added} advisories in {imported:.1f} s; "
              f"again: {second.changed} changed, {second.unchanged} unchanged in {reimported:.1f} s")

        pairs = affected_pairs(300)
        os_info = OSInfo(id="debian", version_id="12")
        matcher = svc.vulnerabilities.matcher()
        started = time.perf_counter()
        for number in range(args.images):
            chosen = rng.sample(pairs, min(args.packages, len(pairs)))
            digest = f"sha256:{number:064x}"
            packages = tuple(
                Package(type=kind, name=name, version=version,
                        purl=f"pkg:{kind}/{name}@{version}", layer=digest, path=f"/x/{i}", cataloger=kind)
                for i, (kind, name, version) in enumerate(chosen)
            )
            analysis = PlatformAnalysis(platform="linux/amd64", digest=digest, os=os_info, packages=packages, problems=())
            repository = f"team/app{number % 50}"
            svc.sboms.put(REGISTRY, repository, analysis, "2026-01-01T00:00:00.000000Z")
            report = svc.vulnerabilities.match_and_store(matcher, PlatformRef(REGISTRY, repository, digest), analysis)
            counts, fixable = image_counts([report])
            platform = with_vulnerabilities(PlatformRecord(digest=digest, os="linux", architecture="amd64"), report)
            svc.images.put(ImageRecord(registry=REGISTRY, repository=repository, digest=digest, status="analyzed",
                                       platforms=(platform,), vulnerabilities=counts, fixable=fixable))
        stored = time.perf_counter() - started
        print(f"stored and matched {args.images} SBOMs of {args.packages} packages in {stored:.1f} s "
              f"({stored / args.images * 1000:.0f} ms each, storage writes included)")

        named = sorted({name for kind, name, _ in pairs if kind == "pypi"})[:20]
        update = []
        for name in named:
            update.append(json.loads(json.dumps({
                "id": f"PYSEC-BENCH-{name}", "modified": "2026-06-01T00:00:00Z",
                "affected": [{"package": {"ecosystem": "PyPI", "name": name},
                              "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]})))
        records = [parse_advisory(u) for u in update]
        started = time.perf_counter()
        result, rematched = svc.vulnerabilities.import_and_rematch(svc.advisories, records)
        elapsed = time.perf_counter() - started
        print(f"update of {result.changed} advisories ({len(result.changed_keys)} package keys): re-matched "
              f"{rematched.platforms_checked} stored SBOMs in {elapsed:.1f} s; {len(rematched.images_changed)} images changed")
    finally:
        storage.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
