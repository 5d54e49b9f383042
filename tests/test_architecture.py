"""The import directions of ARCHITECTURE.md, checked by walking every module's imports.

Each module of the app belongs to one layer; a module imports from its own layer or the layers below
it, never above, and the store and the services (siblings) never import each other. Inside the library
layer the packages have a fixed order too. Imports inside functions count like any other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("shared", "functions", "devhost")

LAYERS: dict[str, tuple[str, ...]] = {
    "base": ("shared", "shared.settings", "shared.errors", "shared.clock", "shared.logs", "shared.secrets",
             "shared.retry", "shared.process"),
    "library": ("shared.registry", "shared.analysis", "shared.images", "shared.vulns", "shared.intake",
                "shared.integrations", "shared.dashboard", "shared.bases", "shared.vex", "shared.notify", "shared.policy"),
    "seams": ("shared.records",),
    "store": ("shared.store",),
    "services": ("shared.intake.webhook", "shared.intake.housekeeping", "shared.intake.reconcile",
                 "shared.integrations.service",
                 "shared.vulns.service", "shared.worker", "shared.api", "shared.bases.service",
                 "shared.vex.service", "shared.notify.service", "shared.vex.scoped",
                 "shared.policy.service"),
    "composition": ("shared.wiring",),
    "entry": ("shared.cli", "functions", "function_app", "devhost"),
}
"""Module-name prefixes per layer; the longest matching prefix decides (``shared.vulns.service`` is a service)."""

RANK = {"base": 0, "library": 1, "seams": 2, "store": 3, "services": 3, "composition": 4, "entry": 5}
"""Lower ranks are imported by higher ones; store and services share a rank and may not import each other."""

LIBRARY_ORDER: dict[str, frozenset[str]] = {
    "shared.registry": frozenset(),
    "shared.analysis": frozenset({"shared.registry"}),
    "shared.images": frozenset({"shared.registry"}),
    "shared.vulns": frozenset({"shared.analysis", "shared.images", "shared.registry"}),
    "shared.intake": frozenset({"shared.registry"}),
    "shared.integrations": frozenset({"shared.registry"}),
    "shared.dashboard": frozenset(),
    "shared.bases": frozenset({"shared.analysis", "shared.images", "shared.registry", "shared.vulns"}),
    "shared.vex": frozenset({"shared.analysis", "shared.images", "shared.registry", "shared.vulns"}),
    "shared.notify": frozenset({"shared.analysis", "shared.images", "shared.registry", "shared.vulns", "shared.policy"}),
    "shared.policy": frozenset({"shared.analysis", "shared.images", "shared.registry", "shared.vulns"}),
}
"""Inside the library layer: which other library packages each package may import."""

AZURE_SDK_ALLOWED = ("shared.store", "functions", "function_app", "devhost")
"""The only modules that may import the Azure SDKs (``azure.*``)."""

DEVHOST_MAY_IMPORT = ("shared.errors", "shared.settings")
"""The local host is generic: of the app it knows only the base modules it configures itself with."""


@cache
def modules() -> dict[str, Path]:
    """Every module of the app by dotted name (packages by their own name)."""
    found = {"function_app": ROOT / "function_app.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(path: Path) -> Iterator[str]:
    """Every absolute name ``path`` imports: ``import a.b`` yields ``a.b``, ``from a import b`` yields ``a.b``
    (a module or a name in ``a``: :func:`app_imports` resolves it to the longest module name)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import of {node.module}"
            if node.module:
                yield from (f"{node.module}.{alias.name}" for alias in node.names)


@cache
def app_imports() -> dict[str, frozenset[str]]:
    """For each module, the app modules it imports (names resolved to the longest known module)."""
    known = modules()
    graph: dict[str, frozenset[str]] = {}
    for name, path in known.items():
        targets = set()
        for imported in imported_names(path):
            while imported and imported not in known:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = frozenset(targets)
    return graph


def layer_of(module: str) -> str:
    """The layer whose longest prefix matches ``module``."""
    best, length = "", -1
    for layer, prefixes in LAYERS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = layer, len(prefix)
    return best


def library_package(module: str) -> str:
    """``shared.<package>`` of a library module."""
    return ".".join(module.split(".")[:2])


def under(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_every_module_has_a_layer() -> None:
    assert [m for m in modules() if not layer_of(m)] == []


def layer_violations(graph: dict[str, frozenset[str]]) -> list[str]:
    """Imports of ``graph`` that go up a layer, or across between the store and the services."""
    wrong = []
    for module, targets in graph.items():
        mine = layer_of(module)
        for target in targets:
            theirs = layer_of(target)
            if RANK[theirs] > RANK[mine] or (RANK[theirs] == RANK[mine] and theirs != mine):
                wrong.append(f"{module} ({mine}) imports {target} ({theirs})")
    return sorted(wrong)


def test_imports_go_down_the_layers() -> None:
    assert layer_violations(app_imports()) == []


def test_a_service_importing_the_store_is_caught() -> None:
    graph = {"shared.worker.process": frozenset({"shared.store.image_records", "shared.records"}),
             "shared.records": frozenset({"shared.wiring"})}
    assert layer_violations(graph) == [
        "shared.records (seams) imports shared.wiring (composition)",
        "shared.worker.process (services) imports shared.store.image_records (store)",
    ]


def test_library_packages_import_in_order() -> None:
    wrong = []
    for module, targets in app_imports().items():
        if layer_of(module) != "library":
            continue
        package = library_package(module)
        for target in targets:
            other = library_package(target)
            if layer_of(target) == "library" and other != package and other not in LIBRARY_ORDER[package]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_only_the_store_and_the_entry_points_use_the_azure_sdk() -> None:
    users = sorted(
        module for module, path in modules().items()
        if any(name == "azure" or name.startswith("azure.") for name in imported_names(path))
        and not under(module, AZURE_SDK_ALLOWED)
    )
    assert users == []


def test_the_local_host_knows_only_base_modules_of_the_app() -> None:
    wrong = sorted(f"{m} imports {t}" for m, ts in app_imports().items() if under(m, ("devhost",))
                   for t in ts if not under(t, ("devhost", *DEVHOST_MAY_IMPORT)))
    assert wrong == []


def test_the_app_imports_no_test_or_benchmark_code() -> None:
    wrong = sorted(
        f"{module} imports {name}" for module, path in modules().items() for name in imported_names(path)
        if name.split(".")[0] in ("tests", "testkit", "bench")
    )
    assert wrong == []


def test_no_import_cycles() -> None:
    graph = app_imports()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target] if target in path else [module, target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("module", ["shared.worker.process", "shared.integrations.service", "shared.vulns.service",
                                    "shared.intake.webhook", "shared.api.image_lookup"])
def test_services_receive_their_stores_through_the_seams(module: str) -> None:
    assert layer_of(module) == "services"
    assert "shared.records" in app_imports()[module]
    assert not any(under(t, ("shared.store", "shared.wiring")) for t in app_imports()[module])
