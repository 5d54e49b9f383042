"""Image analysis: read each layer once, catalog OS and language packages, cache per layer, squash.

- :mod:`.layer` streams one layer blob (gzip, zstd or plain tar, told by its bytes) through the
  catalogers in one pass, with bounded memory;
- :mod:`.catalogers` has one module per ecosystem (a name, a version, parse functions bound to
  globs, Package URLs);
- :mod:`.cache` is the storage seam: per-layer results keyed by (layer blob digest, cataloger
  name, cataloger version);
- :mod:`.squash` and :mod:`.assemble` apply whiteouts, opaque directories and symlinks across
  layers and make the final package list;
- :mod:`.analyze` is the entry point the worker and ``lookout analyze`` share;
- :mod:`.formats` writes the JSON document, CycloneDX and SPDX.
"""

from __future__ import annotations

from shared.analysis.analyze import analyze_image, analyze_layer, analyze_platform
from shared.analysis.assemble import assemble
from shared.analysis.cache import INDEX_NAME, CacheKey, LayerCache, MemoryLayerCache
from shared.analysis.catalogers import Cataloger, default_catalogers
from shared.analysis.errors import AnalysisError, CorruptLayer, InvalidCacheEntry, LimitExceeded, PlatformNotFound
from shared.analysis.layer import LayerScan, scan_layer
from shared.analysis.limits import Limits
from shared.analysis.model import (
    FileResult,
    ImageAnalysis,
    LayerIndex,
    LayerResult,
    LayerSummary,
    OSInfo,
    Package,
    PackageRecord,
    PlatformAnalysis,
    Problem,
)
from shared.analysis.progress import NoProgress, Progress

__all__ = [
    "INDEX_NAME",
    "AnalysisError",
    "CacheKey",
    "Cataloger",
    "CorruptLayer",
    "FileResult",
    "ImageAnalysis",
    "InvalidCacheEntry",
    "LayerCache",
    "LayerIndex",
    "LayerResult",
    "LayerScan",
    "LayerSummary",
    "LimitExceeded",
    "Limits",
    "MemoryLayerCache",
    "NoProgress",
    "OSInfo",
    "Package",
    "PackageRecord",
    "PlatformAnalysis",
    "PlatformNotFound",
    "Problem",
    "Progress",
    "analyze_image",
    "analyze_layer",
    "analyze_platform",
    "assemble",
    "default_catalogers",
    "scan_layer",
]
