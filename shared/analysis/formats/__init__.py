"""Writing an analysis: the JSON document, CycloneDX 1.6 JSON, SPDX 2.3 JSON and a text table."""

from __future__ import annotations

from shared.analysis.formats.cyclonedx import to_cyclonedx
from shared.analysis.formats.document import to_document
from shared.analysis.formats.spdx import to_spdx
from shared.analysis.formats.table import to_table

__all__ = ["to_cyclonedx", "to_document", "to_spdx", "to_table"]
