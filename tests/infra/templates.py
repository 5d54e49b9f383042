"""Loading infra/'s templates and walking them scope by scope (a nested inner-scope template is its own)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.infra.arm import Evaluator, ResourceRef, expressions, relative_scope

PROJECT = Path(__file__).resolve().parents[2]
INFRA = PROJECT / "infra"
MAIN = INFRA / "main.json"
REGISTRY = INFRA / "registry-integration.json"
TEMPLATES = (MAIN, REGISTRY)


def load(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path.name} is not a JSON object"
    return document


@dataclass
class Scope:
    """One template body: the top-level template or the inner template of a nested deployment."""

    label: str
    template: dict[str, Any]
    nested: list[dict[str, Any]]

    def expressions(self) -> Iterator[str]:
        """Every expression evaluated in this scope (inner templates' own expressions excluded)."""
        return expressions(self.template, skip={id(inner) for inner in self.nested})

    def resources(self) -> list[dict[str, Any]]:
        resources = self.template.get("resources", [])
        assert isinstance(resources, list), f"{self.label}: resources must be an array"
        return resources

    def evaluator(self) -> Evaluator:
        """An evaluator that has evaluated every expression of the scope once."""
        evaluator = Evaluator(self.template)
        for resource in self.resources():
            evaluator.value({k: v for k, v in resource.items() if k != "properties" or not _inner(resource)})
            if _inner(resource):
                properties = {k: v for k, v in resource["properties"].items() if k != "template"}
                evaluator.value(properties)
        evaluator.value(self.template.get("outputs", {}))
        return evaluator

    def declared(self, evaluator: Evaluator) -> dict[str, dict[str, Any]]:
        """The key of each resource the scope declares (see :class:`ResourceRef`), to the resource."""
        declared: dict[str, dict[str, Any]] = {}
        for resource in self.resources():
            name = str(evaluator.value(resource["name"]))
            scope = ""
            if "scope" in resource:
                scope = relative_scope(str(evaluator.value(resource["scope"])))
            elif "resourceGroup" in resource:
                group = str(evaluator.value(resource["resourceGroup"]))
                subscription = resource.get("subscriptionId")
                scope = f"{evaluator.value(subscription)}/{group}" if subscription else group
            declared[ResourceRef(scope, resource["type"], name).key()] = resource
        return declared


def _inner(resource: dict[str, Any]) -> bool:
    properties = resource.get("properties", {})
    return (
        resource.get("type", "").lower() == "microsoft.resources/deployments"
        and isinstance(properties, dict)
        and properties.get("expressionEvaluationOptions", {}).get("scope", "").lower() == "inner"
        and isinstance(properties.get("template"), dict)
    )


def scopes(path: Path) -> list[Scope]:
    """The template's top-level scope and the scope of each nested inner-scope template, recursively."""
    found: list[Scope] = []

    def walk(label: str, template: dict[str, Any]) -> None:
        nested = [r["properties"]["template"] for r in template.get("resources", []) if _inner(r)]
        found.append(Scope(label, template, nested))
        for index, inner in enumerate(nested):
            walk(f"{label} > nested template {index + 1}", inner)

    walk(path.name, load(path))
    return found


def site(template: dict[str, Any]) -> dict[str, Any]:
    """The one Microsoft.Web/sites resource."""
    sites = resources_of(template, "Microsoft.Web/sites")
    assert len(sites) == 1, "main.json declares exactly one function app"
    return sites[0]


def resources_of(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """The resources of one type, in template order."""
    resources: list[dict[str, Any]] = template["resources"]
    return [r for r in resources if r["type"].lower() == resource_type.lower()]
