"""The configuration document: validation with the field and line at fault, and how levels combine."""

from __future__ import annotations

import pytest

from shared.policy.config import (
    AGPL_FAMILY,
    POLICIES,
    InvalidPolicyConfig,
    PolicyConfig,
    config_from_document,
    effective_settings,
    parse_config,
)

YAML = """\
# repository settings
policies:
  no-fixable-critical-high:
    severities: [Critical]
  no-copyleft-licenses:
    licenses:
      - AGPL-3.0-only
      - GPL-3.0-only
  base-image-up-to-date:
    enabled: false
"""


def test_a_yaml_document_is_read_and_normalized() -> None:
    config = parse_config(YAML)
    assert config.policies == {"no-fixable-critical-high": {"severities": ["critical"]},
                               "no-copyleft-licenses": {"licenses": ["AGPL-3.0-only", "GPL-3.0-only"]},
                               "base-image-up-to-date": {"enabled": False}}
    assert config_from_document(config.to_json()) == config


def test_json_is_read_too_and_an_empty_document_changes_nothing() -> None:
    config = parse_config(b'{"policies": {"no-high-profile-vulnerabilities": {"ids": ["cve-2024-3094"]}}}')
    assert config.policies == {"no-high-profile-vulnerabilities": {"ids": ["CVE-2024-3094"]}}
    assert parse_config("") == PolicyConfig()


@pytest.mark.parametrize(("text", "message"), [
    ("policies:\n  no-such-policy: {}\n", "policies.no-such-policy: unknown policy; known: no-fixable-critical-high"),
    ("policies:\n  no-root-user:\n    severities: [high]\n",
     "policies.no-root-user.severities: unknown parameter; no-root-user takes enabled (line 3)"),
    ("policies:\n  no-copyleft-licenses:\n    licenses:\n      - MIT\n      - 'not a license'\n",
     "policies.no-copyleft-licenses.licenses[1]: 'not a license' is not an SPDX license id (such as AGPL-3.0-only) "
     "(line 5)"),
    ("policies:\n  no-fixable-critical-high:\n    severities: [severe]\n",
     "policies.no-fixable-critical-high.severities[0]: unknown severity 'severe'; use critical, high, medium, low, "
     "unknown (line 3)"),
    ("policies:\n  no-fixable-critical-high:\n    enabled: 'no'\n",
     "policies.no-fixable-critical-high.enabled: must be true or false (line 3)"),
    ("policies:\n  no-fixable-critical-high:\n    severities: []\n",
     "policies.no-fixable-critical-high.severities: must not be empty (line 3)"),
    ("policies:\n  supply-chain-attestations:\n    require: [signature]\n",
     "policies.supply-chain-attestations.require[0]: unknown attestation 'signature'; use sbom, provenance (line 3)"),
    ("policy:\n  no-root-user: {}\n", "policy: unknown key; the document holds 'policies' only (line 1)"),
    ("policies: [1, 2]\n", "policies: must be a mapping of policy ids to their settings (line 1)"),
    ("policies:\n  no-root-user: {enabled: true\n", "line 3, column 1: not valid JSON or YAML"),
    ('{"policies": {"no-root-user": {"enabled": tru}}}', "policies.no-root-user.enabled: must be true or false (line 1)"),
    ('{"policies": {"no-root-user": {"enabled": true}}\n', "line 2, column 1: not valid JSON or YAML"),
])
def test_a_bad_document_is_refused_with_the_field_or_line_at_fault(text: str, message: str) -> None:
    with pytest.raises(InvalidPolicyConfig) as raised:
        parse_config(text)
    assert raised.value.message.startswith(message), raised.value.message


def test_size_and_encoding_are_bounded() -> None:
    with pytest.raises(InvalidPolicyConfig, match="at most 65536"):
        parse_config(b"#" * 70_000)
    with pytest.raises(InvalidPolicyConfig, match="not UTF-8"):
        parse_config(b"\xff\xfe")
    with pytest.raises(InvalidPolicyConfig, match="at most 1000"):
        parse_config({"policies": {"no-copyleft-licenses": {"licenses": [f"L{i}" for i in range(1001)]}}}.__repr__()
                     .replace("'", '"'))


def test_the_repository_wins_over_the_integration_which_wins_over_the_defaults() -> None:
    defaults = {s.spec.id: (s.enabled, dict(s.params)) for s in effective_settings([])}
    assert [s.id for s in POLICIES] == list(defaults)
    assert defaults["no-copyleft-licenses"] == (True, {"licenses": list(AGPL_FAMILY)})
    assert defaults["no-fixable-critical-high"] == (True, {"severities": ["critical", "high"]})
    integration = parse_config("policies:\n  no-root-user: {enabled: false}\n  no-fixable-critical-high:\n"
                               "    severities: [critical]\n")
    repository = parse_config("policies:\n  no-root-user: {enabled: true}\n")
    merged = {s.spec.id: (s.enabled, dict(s.params)) for s in effective_settings([integration, repository])}
    assert merged["no-root-user"] == (True, {})
    assert merged["no-fixable-critical-high"] == (True, {"severities": ["critical"]})
    only_integration = {s.spec.id: s.enabled for s in effective_settings([integration, None])}
    assert only_integration["no-root-user"] is False
