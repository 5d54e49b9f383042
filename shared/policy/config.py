"""The policies Lookout knows, their parameters and defaults, and the configuration document that changes them.

A configuration is a JSON or YAML document (JSON is YAML), at most :data:`MAX_CONFIG_BYTES`::

    policies:
      no-fixable-critical-high:
        severities: [critical]          # only criticals count
      no-copyleft-licenses:
        licenses: [AGPL-3.0-only, AGPL-3.0-or-later, GPL-3.0-only]
      base-image-up-to-date:
        enabled: false                  # switched off

Each policy takes ``enabled`` (true or false) and its own parameters (:data:`POLICIES`); what a document
leaves out keeps the value of the level below it. Configurations are kept per integration and per
repository of an integration; the repository's wins over the integration's, which wins over the
defaults (:func:`effective_settings`). A document of another shape is refused with an
:class:`~shared.errors.InvalidInput` naming the field at fault (``policies.no-copyleft-licenses.licenses[1]``)
and its line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from shared.errors import InvalidInput
from shared.vulns.report import LEVELS

MAX_CONFIG_BYTES = 64 * 1024
"""The largest configuration document accepted."""
MAX_LIST_ITEMS = 1000
"""The most items a list parameter holds."""
MAX_ITEM_CHARS = 100
"""The longest item of a list parameter."""

ADVISORY_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]*$")
"""What an advisory id looks like: ``CVE-2024-3094``, ``GHSA-xxxx-xxxx-xxxx``, ``PYSEC-2023-1``."""

AGPL_FAMILY = ("AGPL-1.0", "AGPL-1.0-only", "AGPL-1.0-or-later", "AGPL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later")
"""The SPDX ids of the GNU Affero General Public License: the default copyleft list."""

ATTESTATION_KINDS = ("sbom", "provenance")


class InvalidPolicyConfig(InvalidInput):
    """A policy configuration document is not valid: the message names the field (and line) at fault."""

    code = "invalid-policy-config"


Check = Callable[[str, Any], Any]
"""Validates one parameter's value (the first argument is its field path, for errors); returns it normalized."""


def _string_list(check_item: Callable[[str, str], str], *, empty: bool = False) -> Check:
    def check(where: str, value: Any) -> list[str]:
        if not isinstance(value, list):
            raise InvalidPolicyConfig(f"{where}: must be a list")
        if not value and not empty:
            raise InvalidPolicyConfig(f"{where}: must not be empty")
        if len(value) > MAX_LIST_ITEMS:
            raise InvalidPolicyConfig(f"{where}: has {len(value)} items; at most {MAX_LIST_ITEMS}")
        items = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip() or len(item) > MAX_ITEM_CHARS:
                raise InvalidPolicyConfig(f"{where}[{index}]: must be a non-empty string of at most {MAX_ITEM_CHARS} "
                                          "characters")
            items.append(check_item(f"{where}[{index}]", item.strip()))
        return list(dict.fromkeys(items))
    return check


def _level(where: str, item: str) -> str:
    if item.lower() not in LEVELS:
        raise InvalidPolicyConfig(f"{where}: unknown severity {item!r}; use {', '.join(LEVELS)}")
    return item.lower()


def _license(where: str, item: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.+-]*", item):
        raise InvalidPolicyConfig(f"{where}: {item!r} is not an SPDX license id (such as AGPL-3.0-only)")
    return item


def _advisory(where: str, item: str) -> str:
    if not ADVISORY_ID.fullmatch(item):
        raise InvalidPolicyConfig(f"{where}: {item!r} is not an advisory id (such as CVE-2024-3094)")
    return item.upper() if item[:4].upper() == "CVE-" else item


def _kind(where: str, item: str) -> str:
    if item.lower() not in ATTESTATION_KINDS:
        raise InvalidPolicyConfig(f"{where}: unknown attestation {item!r}; use {', '.join(ATTESTATION_KINDS)}")
    return item.lower()


def _boolean(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidPolicyConfig(f"{where}: must be true or false")
    return value


@dataclass(frozen=True)
class PolicySpec:
    """A policy: its ``id``, ``version`` (raised when its meaning changes), ``title``, what it checks
    (``description``) and its parameters with their defaults and checks."""

    id: str
    version: int
    title: str
    description: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    checks: Mapping[str, Check] = field(default_factory=dict)


POLICIES: tuple[PolicySpec, ...] = (
    PolicySpec("no-fixable-critical-high", 1, "No fixable critical or high vulnerabilities",
               "fails when a vulnerability of one of `severities` has a fixed version",
               {"severities": ["critical", "high"]}, {"severities": _string_list(_level)}),
    PolicySpec("no-copyleft-licenses", 1, "No copyleft licenses",
               "fails when a package declares only licenses of the `licenses` list (a choice of another license passes)",
               {"licenses": list(AGPL_FAMILY)}, {"licenses": _string_list(_license)}),
    PolicySpec("no-root-user", 1, "Not running as root",
               "fails when the image's user is unset, 0 or root"),
    PolicySpec("base-image-up-to-date", 1, "Base image up to date",
               "fails when the tag of the detected base image now points at a newer image (a rebuild is needed)"),
    PolicySpec("no-high-profile-vulnerabilities", 1, "No high-profile vulnerabilities",
               "fails when a finding's id or alias is on the imported high-profile list (`use_imported`) or in `ids`",
               {"ids": [], "use_imported": True},
               {"ids": _string_list(_advisory, empty=True), "use_imported": _boolean}),
    PolicySpec("supply-chain-attestations", 1, "Supply chain attestations",
               "fails unless the pushed index carries attestation manifests of each `require`d kind "
               "(an SBOM, a provenance)",
               {"require": list(ATTESTATION_KINDS)}, {"require": _string_list(_kind)}),
)
"""Every policy, in the order results are listed."""

SPECS: Mapping[str, PolicySpec] = {spec.id: spec for spec in POLICIES}


@dataclass(frozen=True)
class PolicyConfig:
    """A validated configuration: per policy id, the settings the document gives (``enabled`` and parameters)."""

    policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"policies": {pid: dict(values) for pid, values in self.policies.items()}}


@dataclass(frozen=True)
class PolicySetting:
    """What applies to one policy for one image: whether it is ``enabled`` and its parameters."""

    spec: PolicySpec
    enabled: bool
    params: Mapping[str, Any]


def parse_config(text: str | bytes) -> PolicyConfig:
    """Read and validate a configuration document (JSON or YAML).

    Raises :class:`InvalidPolicyConfig` naming the line of a syntax error, or the field (with its line)
    of a value that is not valid: an unknown policy or parameter, a value of the wrong type.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_CONFIG_BYTES:
            raise InvalidPolicyConfig(f"the configuration is {len(text)} bytes; at most {MAX_CONFIG_BYTES}")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidPolicyConfig("the configuration is not UTF-8 text") from None
    if len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise InvalidPolicyConfig(f"the configuration is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise InvalidPolicyConfig(f"{where}not valid JSON or YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise InvalidPolicyConfig(f"not valid JSON or YAML: {exc}") from None
    try:
        return config_from_document(document)
    except InvalidPolicyConfig as exc:
        path = exc.message.split(":", 1)[0]
        line = _line_of(text, path)
        raise InvalidPolicyConfig(f"{exc.message} (line {line})" if line else exc.message) from None


def config_from_document(document: Any) -> PolicyConfig:
    """Validate a parsed configuration document (see :func:`parse_config`); also reads back a stored one."""
    if document is None:
        return PolicyConfig()
    if not isinstance(document, dict):
        raise InvalidPolicyConfig("document: must be a mapping with a 'policies' key")
    unknown = [k for k in document if k != "policies"]
    if unknown:
        raise InvalidPolicyConfig(f"{unknown[0]}: unknown key; the document holds 'policies' only")
    policies = document.get("policies") or {}
    if not isinstance(policies, dict):
        raise InvalidPolicyConfig("policies: must be a mapping of policy ids to their settings")
    result: dict[str, dict[str, Any]] = {}
    for policy_id, settings in policies.items():
        where = f"policies.{policy_id}"
        spec = SPECS.get(str(policy_id))
        if spec is None:
            raise InvalidPolicyConfig(f"{where}: unknown policy; known: {', '.join(SPECS)}")
        if settings is None:
            settings = {}
        if not isinstance(settings, dict):
            raise InvalidPolicyConfig(f"{where}: must be a mapping (enabled, and the policy's parameters)")
        values: dict[str, Any] = {}
        for name, value in settings.items():
            if name == "enabled":
                values["enabled"] = _boolean(f"{where}.enabled", value)
            elif name in spec.checks:
                values[name] = spec.checks[name](f"{where}.{name}", value)
            else:
                known = ", ".join(["enabled", *spec.checks])
                raise InvalidPolicyConfig(f"{where}.{name}: unknown parameter; {spec.id} takes {known}")
        result[spec.id] = values
    return PolicyConfig(result)


def effective_settings(configs: Sequence[PolicyConfig | None]) -> tuple[PolicySetting, ...]:
    """Every policy's setting: its defaults, overridden by each of ``configs`` in turn (the integration's, then
    the repository's; None is skipped)."""
    settings = []
    for spec in POLICIES:
        enabled, params = True, dict(spec.defaults)
        for config in configs:
            given = (config.policies.get(spec.id) if config is not None else None) or {}
            enabled = bool(given.get("enabled", enabled))
            params.update({k: v for k, v in given.items() if k != "enabled"})
        settings.append(PolicySetting(spec, enabled, params))
    return tuple(settings)


def settings_json(settings: Sequence[PolicySetting]) -> dict[str, Any]:
    """The settings as a configuration document (every policy, every parameter)."""
    return {"policies": {s.spec.id: {"enabled": s.enabled, **dict(s.params)} for s in settings}}


def config_text(config: PolicyConfig) -> str:
    """A configuration as the JSON it is stored as (keys sorted)."""
    return json.dumps(config.to_json(), sort_keys=True)


def _line_of(text: str, path: str) -> int | None:
    """The 1-based line of the node at ``path`` (``a.b[2]``) in the YAML ``text``, None when not found."""
    try:
        node: Any = yaml.compose(text)
    except yaml.YAMLError:
        return None
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    line = None
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if str(k.value) == part), None)
            if match is None:
                return line
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and part.startswith("["):
            index = int(part[1:-1])
            if index >= len(node.value):
                return line
            node = node.value[index]
            line = node.start_mark.line + 1
        else:
            return line
    return line
