"""The JSON document of an analysis (``lookout analyze --format json`` and the API's ``format=json``)."""

from __future__ import annotations

from typing import Any

from shared.analysis.model import ImageAnalysis


def to_document(analysis: ImageAnalysis) -> dict[str, Any]:
    """``{"reference", "digest", "platforms": [{"platform", "digest", "os", "packages", "problems"}]}``.

    Each package has ``type``, ``name``, ``version``, ``purl``, ``layer`` (the blob digest of the
    layer that introduced it) and ``path``; ``os`` is ``null`` when no ``os-release`` was found.
    """
    return analysis.to_json()
