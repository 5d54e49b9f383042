"""Test helpers: image filesystem trees from testdata, layers scanned in memory, squashed results."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

from shared.analysis import LayerScan, Limits, OSInfo, Package, Problem, assemble, default_catalogers, scan_layer
from shared.analysis.catalogers.base import Cataloger
from testkit.images import Compression, Entry, make_layer

TESTDATA = Path(__file__).parent / "testdata"

LayerEntries = Mapping[str, bytes | str | Entry]


def tree(name: str, prefix: str = "") -> dict[str, bytes]:
    """The regular files of ``testdata/<name>`` as layer entries (image paths, ``prefix`` prepended)."""
    root = TESTDATA / name
    if not root.is_dir():
        raise FileNotFoundError(root)
    return {
        prefix + "/" + str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def scan(
    entries: LayerEntries | bytes,
    *,
    compression: Compression = "none",
    catalogers: Sequence[Cataloger] | None = None,
    limits: Limits | None = None,
) -> LayerScan:
    """Build a layer from ``entries`` and scan it from memory, as a registry stream would be read."""
    layer = make_layer(entries, compression)
    return scan_layer(io.BytesIO(layer.blob), catalogers or default_catalogers(), limits or Limits())  # type: ignore[arg-type]


def squashed(
    layers: Sequence[LayerEntries], *, catalogers: Sequence[Cataloger] | None = None
) -> tuple[OSInfo | None, list[Package], list[Problem], list[str]]:
    """Scan each layer, squash them: (os, packages, problems, layer digests)."""
    chosen = tuple(catalogers or default_catalogers())
    built = [make_layer(entries, "gzip") for entries in layers]
    scans = [scan_layer(io.BytesIO(layer.blob), chosen, Limits()) for layer in built]  # type: ignore[arg-type]
    digests = [layer.digest.value for layer in built]
    results = {c.name: [s.results[c.name] for s in scans] for c in chosen}
    os_info, packages, problems = assemble(digests, [s.index for s in scans], results, chosen)
    return os_info, packages, problems, digests


def names(packages: Sequence[Package], package_type: str | None = None) -> list[str]:
    """``name@version`` of each package (of one type), sorted."""
    return sorted(f"{p.name}@{p.version}" for p in packages if package_type is None or p.type == package_type)
