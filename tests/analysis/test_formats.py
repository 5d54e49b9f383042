"""The outputs: the JSON document, CycloneDX 1.6 and SPDX 2.3, validated against their official schemas."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import jsonschema
import pytest

from shared.analysis import ImageAnalysis, PlatformAnalysis
from shared.analysis.formats import to_cyclonedx, to_document, to_spdx, to_table
from shared.analysis.formats.common import declared_license
from testkit.images import symlink
from testkit.schemas import assert_valid_cyclonedx, assert_valid_spdx, spdx_schema
from tests.analysis.helpers import LayerEntries, squashed, tree

DIGEST = "sha256:" + "ab" * 32
INDEX = "sha256:" + "cd" * 32


def analysis() -> ImageAnalysis:
    layers: list[LayerEntries] = [
        {**tree("distro/debian"), "/etc/os-release": symlink("../usr/lib/os-release"), **tree("dpkg")},
        {**tree("python"), **tree("npm"), **tree("java"), **tree("php")},
        {"/app/node_modules/broken/package.json": b"{"},
    ]
    os_info, packages, problems, _ = squashed(layers)
    platform = PlatformAnalysis("linux/amd64", DIGEST, os_info, tuple(packages), tuple(problems))
    other = PlatformAnalysis("linux/arm64", "sha256:" + "ef" * 32, None, (), ())
    media_type = "application/vnd.oci.image.index.v1+json"
    return ImageAnalysis("registry.example:5000/team/app:1.0", INDEX, media_type, (platform, other))


def test_json_document_shape() -> None:
    document = json.loads(json.dumps(to_document(analysis())))
    assert document["reference"] == "registry.example:5000/team/app:1.0"
    assert document["digest"] == INDEX
    first = document["platforms"][0]
    assert (first["platform"], first["digest"]) == ("linux/amd64", DIGEST)
    assert first["os"]["id"] == "debian" and first["os"]["version_id"] == "12"
    deb = next(p for p in first["packages"] if p["name"] == "libssl3")
    assert deb["purl"].startswith("pkg:deb/debian/libssl3@") and "distro=debian-12" in deb["purl"]
    assert deb["layer"].startswith("sha256:") and deb["path"] == "/var/lib/dpkg/status"
    assert first["problems"] == [
        {"source": "npm", "message": first["problems"][0]["message"], "layer": first["problems"][0]["layer"],
         "path": "/app/node_modules/broken/package.json"}
    ]
    assert document["platforms"][1]["os"] is None


def test_cyclonedx_validates_against_the_1_6_schema() -> None:
    text = to_cyclonedx(analysis(), "linux/amd64")
    assert_valid_cyclonedx(text)
    bom = json.loads(text)
    assert bom["specVersion"] == "1.6"
    assert bom["metadata"]["component"]["type"] == "container"
    assert bom["metadata"]["component"]["version"] == DIGEST
    components = bom["components"]
    [os_component] = [c for c in components if c["type"] == "operating-system"]
    assert (os_component["name"], os_component["version"]) == ("debian", "12")
    libraries = [c for c in components if c["type"] == "library"]
    assert len(libraries) == len(analysis().platforms[0].packages)
    maven = next(c for c in libraries if c["purl"].startswith("pkg:maven/"))
    properties = {p["name"]: p["value"] for p in maven["properties"]}
    assert properties["lookout:path"] == "/usr/share/java/slf4j-nop-1.7.32.jar"
    assert properties["lookout:layer"].startswith("sha256:")
    assert len({c["bom-ref"] for c in components}) == len(components)


def test_cyclonedx_of_a_platform_without_packages_validates() -> None:
    text = to_cyclonedx(analysis(), "linux/arm64")
    assert_valid_cyclonedx(text)


def test_spdx_validates_against_the_2_3_schema() -> None:
    document = to_spdx(analysis(), created=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    assert_valid_spdx(document)
    assert document["spdxVersion"] == "SPDX-2.3"
    assert document["creationInfo"]["created"] == "2024-01-02T03:04:05Z"
    ids = [p["SPDXID"] for p in document["packages"]]
    assert len(set(ids)) == len(ids)
    described = [r for r in document["relationships"] if r["relationshipType"] == "DESCRIBES"]
    assert described == [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Image"}
    ]
    contains = {r["relatedSpdxElement"] for r in document["relationships"] if r["relationshipType"] == "CONTAINS"}
    assert contains == set(ids) - {"SPDXRef-Image"}
    purls = [ref["referenceLocator"] for p in document["packages"] for ref in p.get("externalRefs", [])]
    assert any(purl.startswith("pkg:oci/app@sha256:") for purl in purls)
    assert any(purl.startswith("pkg:pypi/requests@") for purl in purls)


def test_spdx_namespace_is_unique_per_document() -> None:
    first = to_spdx(analysis(), created=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    second = to_spdx(analysis(), created=dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc))
    assert first["documentNamespace"] != second["documentNamespace"]


def test_the_schema_rejects_a_broken_spdx_document() -> None:
    document = to_spdx(analysis())
    del document["packages"][1]["SPDXID"]
    errors = list(jsonschema.Draft7Validator(spdx_schema()).iter_errors(document))
    assert errors


def test_table() -> None:
    text = to_table(analysis())
    lines = text.splitlines()
    assert lines[0] == f"registry.example:5000/team/app:1.0 linux/amd64 {DIGEST}"
    assert lines[1].startswith("Debian GNU/Linux 12 (bookworm), ")
    assert lines[2].split() == ["NAME", "VERSION", "TYPE"]
    assert any(line.split()[:1] == ["libssl3"] and line.split()[-1] == "deb" for line in lines)
    assert any(line.startswith("problem (npm) /app/node_modules/broken/package.json") for line in lines)


def _licensed() -> ImageAnalysis:
    """The fixture image with the declared licenses replaced: an expression, an old spelling, free text, none."""
    declared = {"requests": "Apache-2.0", "PyJWT": "MIT AND (LGPL-2.1+ OR BSD-3-Clause)", "packageurl-python": "BSD"}
    base = analysis()
    first = base.platforms[0]
    packages = tuple(
        replace(p, meta={**{k: v for k, v in p.meta.items() if k != "license"}, "license": declared[p.name]})
        if p.name in declared else replace(p, meta={k: v for k, v in p.meta.items() if k != "license"})
        for p in first.packages
    )
    return replace(base, platforms=(replace(first, packages=packages), *base.platforms[1:]))


def test_declared_licenses_in_cyclonedx() -> None:
    text = to_cyclonedx(_licensed(), "linux/amd64")
    assert_valid_cyclonedx(text)
    by_name = {c["name"]: c for c in json.loads(text)["components"]}
    assert by_name["requests"]["licenses"] == [{"expression": "Apache-2.0"}]
    assert by_name["PyJWT"]["licenses"] == [{"expression": "MIT AND (LGPL-2.1-or-later OR BSD-3-Clause)"}]
    assert by_name["packageurl-python"]["licenses"] == [{"license": {"name": "BSD"}}]
    assert "licenses" not in by_name["libssl3"]


def test_declared_licenses_in_spdx() -> None:
    document = to_spdx(_licensed(), "linux/amd64")
    assert_valid_spdx(document)
    by_name = {p["name"]: p for p in document["packages"]}
    assert by_name["requests"]["licenseDeclared"] == "Apache-2.0"
    assert by_name["PyJWT"]["licenseDeclared"] == "MIT AND (LGPL-2.1-or-later OR BSD-3-Clause)"
    assert by_name["packageurl-python"]["licenseDeclared"] == "NOASSERTION"
    assert "'BSD'" in by_name["packageurl-python"]["licenseComments"]
    assert by_name["libssl3"]["licenseDeclared"] == "NOASSERTION" and "licenseComments" not in by_name["libssl3"]
    assert all(p["licenseConcluded"] == "NOASSERTION" for p in document["packages"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MIT/Apache-2.0", ("MIT/Apache-2.0", None)),  # the expression parser raises on these: kept as text
        ("()", ("()", None)),
        ("Apache License, Version 2.0", ("Apache License, Version 2.0", None)),
        ("GPL-2.0+", ("GPL-2.0+", "GPL-2.0-or-later")),
        ("x" * 201, None),
        ("GNU GENERAL PUBLIC LICENSE\nVersion 3", None),
    ],
)
def test_declared_license_never_fails_an_export(text: str, expected: tuple[str, str | None] | None) -> None:
    package = replace(analysis().platforms[0].packages[0], meta={"license": text})
    declared = declared_license(package)
    assert (None if declared is None else (declared.text, declared.expression)) == expected
