"""Reads ARM templates the way Resource Manager does, far enough to check their references offline.

:func:`parse` turns one template language expression (the text between ``[`` and ``]``) into a tree;
:class:`Evaluator` walks such trees symbolically: a parameter evaluates to a placeholder, a variable
to its evaluated definition, ``format``/``concat``/``resourceId``/``extensionResourceId`` to the
strings and resource IDs they build, and every other function to an opaque value after its arguments
were evaluated. Evaluating the same name expression on the declaring and the referring side gives the
same result, which is what resolving ``dependsOn``, ``resourceId`` and ``reference`` needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Node = tuple[Any, ...]

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[()\[\],.]))"
)


_RESOURCE_TYPE = re.compile(r"^[A-Za-z0-9]+(\.[A-Za-z0-9]+)+(/[A-Za-z0-9]+)+$")


class ExpressionError(ValueError):
    """An expression that does not follow the template language grammar."""


def is_expression(text: str) -> bool:
    """True for a string Resource Manager evaluates: ``[...]`` but not the ``[[`` escape."""
    return text.startswith("[") and text.endswith("]") and not text.startswith("[[")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match:
            raise ExpressionError(f"unexpected text at {position}: {text[position:position + 20]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def parse(expression: str) -> Node:
    """The tree of one expression, without its surrounding brackets.

    Nodes: ``("str", s)``, ``("num", n)``, ``("call", name, [args])``, ``("prop", node, name)`` and
    ``("index", node, node)``.
    """
    tokens = _tokens(expression)
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take(value: str | None = None) -> tuple[str, str]:
        nonlocal position
        token = peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'more'} in {expression!r}")
        position += 1
        return token

    def primary() -> Node:
        kind, value = take()
        if kind == "string":
            node: Node = ("str", value[1:-1].replace("''", "'"))
        elif kind == "number":
            node = ("num", int(value))
        elif kind == "name":
            take("(")
            args: list[Node] = []
            if peek() != ("punct", ")"):
                args.append(primary())
                while peek() == ("punct", ","):
                    take(",")
                    args.append(primary())
            take(")")
            node = ("call", value, args)
        else:
            raise ExpressionError(f"unexpected {value!r} in {expression!r}")
        while peek() in (("punct", "."), ("punct", "[")):
            if take()[1] == ".":
                node = ("prop", node, take()[1])
            else:
                node = ("index", node, primary())
                take("]")
        return node

    tree = primary()
    if position != len(tokens):
        raise ExpressionError(f"trailing text in {expression!r}")
    return tree


def calls(node: Node) -> Iterator[tuple[str, list[Node]]]:
    """Every function call in the tree, outermost first."""
    if node[0] == "call":
        yield node[1], node[2]
        for arg in node[2]:
            yield from calls(arg)
    elif node[0] in ("prop", "index"):
        yield from calls(node[1])
        if node[0] == "index":
            yield from calls(node[2])


def expressions(value: Any, skip: set[int] | None = None) -> Iterator[str]:
    """Every expression string in a JSON value, keys included, except inside the objects in ``skip``."""
    if skip and id(value) in skip:
        return
    if isinstance(value, str):
        if is_expression(value):
            yield value[1:-1]
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from expressions(key, skip)
            yield from expressions(item, skip)
    elif isinstance(value, list):
        for item in value:
            yield from expressions(item, skip)


@dataclass(frozen=True)
class ResourceRef:
    """A resource ID as the template builds it: scope (``""`` for this resource group), type, name."""

    scope: str
    type: str
    name: str

    def key(self) -> str:
        return f"{self.scope}|{self.type.lower()}|{self.name}"


@dataclass(frozen=True)
class Opaque:
    """A value only Azure knows (a reference, a hash, a platform property)."""

    text: str

    def __str__(self) -> str:
        return f"<{self.text}>"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


@dataclass
class Evaluator:
    """Evaluates expressions of one template; records the parameters and variables they use."""

    template: dict[str, Any]
    used_parameters: set[str] = field(default_factory=set)
    used_variables: set[str] = field(default_factory=set)
    undeclared: set[str] = field(default_factory=set)
    references: list[Any] = field(default_factory=list)
    built: list[ResourceRef] = field(default_factory=list)
    _variables: dict[str, Any] = field(default_factory=dict)

    def value(self, value: Any) -> Any:
        """A JSON value with every expression in it evaluated."""
        if isinstance(value, str):
            return self.evaluate(parse(value[1:-1])) if is_expression(value) else value
        if isinstance(value, dict):
            return {_text(self.value(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value

    def evaluate(self, node: Node) -> Any:
        kind = node[0]
        if kind in ("str", "num"):
            return node[1]
        if kind == "prop":
            base = self.evaluate(node[1])
            if isinstance(base, dict) and node[2] in base:
                return base[node[2]]
            return Opaque(f"{base.text if isinstance(base, Opaque) else base}.{node[2]}")
        if kind == "index":
            base, index = self.evaluate(node[1]), self.evaluate(node[2])
            return Opaque(f"{base}[{index}]")
        return self._call(node[1], node[2])

    def _call(self, name: str, args: list[Node]) -> Any:
        lowered = name.lower()
        if lowered == "parameters":
            parameter = self.evaluate(args[0])
            self.used_parameters.add(parameter)
            if parameter not in self.template.get("parameters", {}):
                self.undeclared.add(f"parameters('{parameter}')")
            return f"{{param:{parameter}}}"
        if lowered == "variables":
            variable = self.evaluate(args[0])
            self.used_variables.add(variable)
            declared = self.template.get("variables", {})
            if variable not in declared:
                self.undeclared.add(f"variables('{variable}')")
                return Opaque(f"variables('{variable}')")
            if variable not in self._variables:
                self._variables[variable] = Opaque(f"variables('{variable}') (cycle)")
                self._variables[variable] = self.value(declared[variable])
            return self._variables[variable]
        values = [self.evaluate(arg) for arg in args]
        if lowered == "format":
            text = _text(values[0])
            return re.sub(r"\{(\d+)(?::[^}]*)?\}", lambda m: _text(values[1 + int(m.group(1))]), text)
        if lowered == "concat" and not any(isinstance(v, list) for v in values):
            return "".join(_text(v) for v in values)
        if lowered in ("resourceid", "subscriptionresourceid"):
            built = self._resource_id(lowered, values)
            self.built.append(built)
            return built
        if lowered == "extensionresourceid":
            scope = values[0]
            scope_key = scope.key() if isinstance(scope, ResourceRef) else _text(scope)
            built = ResourceRef(scope_key, _text(values[1]), "/".join(_text(v) for v in values[2:]))
            self.built.append(built)
            return built
        if lowered == "reference" or lowered.startswith("list"):
            if values:
                self.references.append(values[0])
            return Opaque(f"{name}(...)")
        return Opaque(f"{name}({', '.join(_text(v) for v in values)})")

    @staticmethod
    def _resource_id(function: str, values: list[Any]) -> ResourceRef:
        texts = [_text(v) for v in values]
        types = [i for i, v in enumerate(values) if isinstance(v, str) and _RESOURCE_TYPE.match(v)]
        if not types:
            raise ExpressionError(f"{function}() without a resource type: {texts}")
        position = types[0]
        scope = "subscription" if function == "subscriptionresourceid" else ""
        if position:
            scope = "/".join(texts[:position])
        return ResourceRef(scope, texts[position], "/".join(texts[position + 1:]))


def relative_scope(scope: str) -> str:
    """The key of a resource named by a ``scope`` property's ``Namespace/type/name/...`` form."""
    parts = scope.strip("/").split("/")
    namespace, rest = parts[0], parts[1:]
    types, names = rest[0::2], rest[1::2]
    return ResourceRef("", "/".join([namespace, *types]), "/".join(names)).key()
