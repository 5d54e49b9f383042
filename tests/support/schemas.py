"""The official SBOM schemas, for validating what Lookout writes."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def spdx_schema() -> dict[str, Any]:
    """The SPDX 2.3 JSON schema (shipped by lib4sbom)."""
    text = resources.files("lib4sbom").joinpath("schemas/spdx/2.3-schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def assert_valid_spdx(document: Any) -> None:
    """Fail unless ``document`` validates against the SPDX 2.3 schema."""
    jsonschema.Draft7Validator(spdx_schema()).validate(json.loads(json.dumps(document)))


def assert_valid_cyclonedx(text: str) -> None:
    """Fail unless ``text`` validates against the CycloneDX 1.6 JSON schema."""
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
