"""HTTP route templates as the Functions host reads them, and the route table built from them.

A template is a ``/``-separated list of segments. A segment is a literal (matched without regard to
case) or one parameter: ``{name}``, ``{name?}`` (optional), ``{name=default}``, ``{name:int}`` and
other constraints (several may follow each other: ``{id:int:min(1)}``), or a catch-all ``{*rest}`` /
``{**rest}`` as the last segment, whose value may contain ``/``. Segments that mix a literal and a
parameter (``{name}.{ext}``) are rejected as unsupported.

Matching works on the *percent-decoded* request path, as in Azure (its front end decodes ``%2F``
before routing, while ``func start`` keeps it encoded): an encoded slash separates segments, so
``{name}`` never matches ``a%2Fb`` and a catch-all receives ``a/b``. Routes are tried from the most
specific to the least (literal before constrained parameter before parameter before catch-all),
and the HTTP method is part of the match, as in the host: a known path with an undeclared method
answers 404, not 405.

Pure functions and values: no I/O.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, NoReturn, TypeVar

from shared.errors import ConfigurationError

T = TypeVar("T")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_INTEGER = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class Constraint:
    """One inline route constraint: its text (``"min(1)"``) and the check it stands for."""

    text: str
    check: Callable[[str], bool] = field(compare=False, repr=False)


@dataclass(frozen=True)
class Parameter:
    """A ``{...}`` segment. ``default`` is the value used when the segment is absent."""

    name: str
    optional: bool = False
    default: str | None = None
    catch_all: bool = False
    constraints: tuple[Constraint, ...] = ()

    def accepts(self, value: str) -> bool:
        """True when ``value`` satisfies every constraint."""
        return all(constraint.check(value) for constraint in self.constraints)


Segment = str | Parameter


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed route template. Build it with :meth:`parse`."""

    text: str
    segments: tuple[Segment, ...]

    @classmethod
    def parse(cls, text: str) -> RouteTemplate:
        """Parse a template; raise :class:`ConfigurationError` for anything the host would reject or we don't support."""
        stripped = text.strip().strip("/")
        segments: list[Segment] = []
        names: set[str] = set()
        if stripped:
            for raw in stripped.split("/"):
                segment = _parse_segment(raw, text)
                if isinstance(segment, Parameter):
                    if segment.name.lower() in names:
                        raise ConfigurationError(f"route {text!r} uses the parameter name {segment.name!r} twice")
                    names.add(segment.name.lower())
                segments.append(segment)
        for index, segment in enumerate(segments):
            if isinstance(segment, Parameter) and segment.catch_all and index != len(segments) - 1:
                raise ConfigurationError(f"route {text!r}: a catch-all parameter must be the last segment")
            if isinstance(segment, Parameter) and (segment.optional or segment.default is not None):
                for later in segments[index + 1 :]:
                    if not isinstance(later, Parameter) or not (later.optional or later.default is not None or later.catch_all):
                        raise ConfigurationError(
                            f"route {text!r}: an optional parameter may only be followed by optional parameters"
                        )
        return cls(text=text, segments=tuple(segments))

    def prefixed(self, prefix: str) -> RouteTemplate:
        """This template under a route prefix such as ``api`` (an empty prefix changes nothing)."""
        literals = tuple(part for part in prefix.strip("/").split("/") if part)
        return RouteTemplate(text=self.text, segments=literals + self.segments)

    @property
    def precedence(self) -> tuple[int, ...]:
        """Sort key: lower is more specific (1 literal, 3 constrained, 4 parameter, 5 catch-all per segment)."""
        ranks: list[int] = []
        for segment in self.segments:
            if isinstance(segment, str):
                ranks.append(1)
            elif segment.catch_all:
                ranks.append(5)
            else:
                ranks.append(3 if segment.constraints else 4)
        return tuple(ranks)

    @property
    def shape(self) -> tuple[str, ...]:
        """The template with parameter names erased; two templates of one shape match the same paths."""
        parts: list[str] = []
        for segment in self.segments:
            if isinstance(segment, str):
                parts.append(segment.lower())
            else:
                kind = "*" if segment.catch_all else "?" if segment.optional or segment.default is not None else ""
                parts.append("{" + kind + ":".join(c.text.lower() for c in segment.constraints) + "}")
        return tuple(parts)

    def match(self, path: Sequence[str]) -> dict[str, str] | None:
        """Route values when the decoded path segments match, else None.

        Absent optional parameters and an empty catch-all are left out of the result; absent
        parameters with a default get the default.
        """
        values: dict[str, str] = {}
        position = 0
        for segment in self.segments:
            if isinstance(segment, str):
                if position >= len(path) or path[position].lower() != segment.lower():
                    return None
                position += 1
                continue
            if segment.catch_all:
                rest = "/".join(path[position:])
                position = len(path)
                if rest:
                    if not segment.accepts(rest):
                        return None
                    values[segment.name] = rest
                elif segment.default is not None:
                    values[segment.name] = segment.default
                continue
            if position >= len(path):
                if segment.default is not None:
                    values[segment.name] = segment.default
                    continue
                if segment.optional:
                    continue
                return None
            value = path[position]
            if not value or not segment.accepts(value):
                return None
            values[segment.name] = value
            position += 1
        return values if position == len(path) else None


def split_path(decoded_path: str) -> list[str]:
    """The segments of a decoded request path: the leading slash and one trailing slash are ignored."""
    trimmed = decoded_path[1:] if decoded_path.startswith("/") else decoded_path
    if trimmed.endswith("/"):
        trimmed = trimmed[:-1]
    return trimmed.split("/") if trimmed else []


@dataclass(frozen=True)
class Route(Generic[T]):
    """One HTTP function's entry: template (with the prefix), allowed methods (None: all), target."""

    template: RouteTemplate
    methods: frozenset[str] | None
    target: T


@dataclass
class RouteTable(Generic[T]):
    """HTTP routes in match order. :meth:`add` rejects a route that would shadow another."""

    routes: list[Route[T]] = field(default_factory=list)

    def add(self, route: Route[T], *, owner: str = "") -> None:
        for existing in self.routes:
            overlapping = existing.methods is None or route.methods is None or bool(existing.methods & route.methods)
            if existing.template.shape == route.template.shape and overlapping:
                raise ConfigurationError(
                    f"route {route.template.text!r}{f' of {owner}' if owner else ''} conflicts with route "
                    f"{existing.template.text!r} for the same methods"
                )
        self.routes.append(route)
        self.routes.sort(key=lambda r: (r.template.precedence, r.template.text.lower()))

    def resolve(self, method: str, path: Sequence[str]) -> tuple[Route[T], dict[str, str]] | None:
        """The first route matching both the method and the path, with its route values."""
        upper = method.upper()
        for route in self.routes:
            if route.methods is not None and upper not in route.methods:
                continue
            values = route.template.match(path)
            if values is not None:
                return route, values
        return None

    def __iter__(self) -> Iterator[Route[T]]:
        return iter(self.routes)


def _parse_segment(raw: str, template: str) -> Segment:
    if raw == "":
        raise ConfigurationError(f"route {template!r} has an empty segment ('//')")
    if not (raw.startswith("{") and raw.endswith("}")) or raw.startswith("{{"):
        if "{" in raw or "}" in raw:
            raise ConfigurationError(
                f"route {template!r}: segment {raw!r} mixes literal text and parameters, "
                "which the local host does not support"
            )
        return raw
    inner = raw[1:-1]
    catch_all = False
    if inner.startswith("**"):
        inner, catch_all = inner[2:], True
    elif inner.startswith("*"):
        inner, catch_all = inner[1:], True
    name_end = _find_any(inner, ":=?")
    name, rest = inner[:name_end], inner[name_end:]
    if not _NAME.match(name):
        raise ConfigurationError(f"route {template!r}: {name!r} is not a valid parameter name")
    constraints: list[Constraint] = []
    optional = False
    default: str | None = None
    while rest:
        if rest.startswith(":"):
            end = _constraint_end(rest, 1)
            constraints.append(_constraint(rest[1:end], template))
            rest = rest[end:]
        elif rest == "?":
            optional, rest = True, ""
        elif rest.startswith("="):
            default, rest = rest[1:], ""
        else:
            raise ConfigurationError(f"route {template!r}: cannot read parameter {raw!r}")
    if catch_all and optional:
        raise ConfigurationError(f"route {template!r}: a catch-all parameter is already optional")
    if optional and default is not None:
        raise ConfigurationError(f"route {template!r}: a parameter cannot be both optional and have a default")
    return Parameter(name=name, optional=optional, default=default, catch_all=catch_all, constraints=tuple(constraints))


def _find_any(text: str, characters: str) -> int:
    for index, char in enumerate(text):
        if char in characters:
            return index
    return len(text)


def _constraint_end(text: str, start: int) -> int:
    """Index just past the constraint starting at ``start`` (parentheses may hold ``:``, ``?``, ``=``)."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and char in ":?=":
            break
        index += 1
    return index


def _constraint(text: str, template: str) -> Constraint:
    match = re.fullmatch(r"(?P<name>[A-Za-z]+)(?:\((?P<args>.*)\))?", text, flags=re.DOTALL)
    if not match:
        raise ConfigurationError(f"route {template!r}: cannot read constraint {text!r}")
    name, args = match["name"].lower(), match["args"]
    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda v: _in_range(v, *_INT32),
        "long": lambda v: _in_range(v, *_INT64),
        "bool": lambda v: v.lower() in ("true", "false"),
        "alpha": lambda v: bool(re.fullmatch(r"[A-Za-z]+", v)),
        "guid": _is_guid,
        "double": _is_number,
        "float": _is_number,
        "decimal": _is_number,
        "datetime": _is_datetime,
        "required": bool,
    }
    if name in simple:
        if args is not None:
            raise ConfigurationError(f"route {template!r}: constraint {name!r} takes no arguments")
        return Constraint(text, simple[name])
    if args is None:
        raise ConfigurationError(f"route {template!r}: unknown route constraint {text!r}")
    if name == "regex":
        try:
            pattern = re.compile(args, re.IGNORECASE)
        except re.error as exc:
            raise ConfigurationError(f"route {template!r}: bad regex constraint {args!r}: {exc}") from exc
        return Constraint(text, lambda v: pattern.search(v) is not None)
    numbers = _int_args(args, text, template)
    bounds: dict[str, tuple[int, float, float]] = {
        # name: (argument count, low, high); NaN stands for "the argument"
        "min": (1, math.nan, _INT64[1]),
        "max": (1, _INT64[0], math.nan),
        "range": (2, math.nan, math.nan),
        "minlength": (1, math.nan, math.inf),
        "maxlength": (1, 0, math.nan),
    }
    if name == "length":
        if len(numbers) not in (1, 2):
            _bad_args(text, template)
        shortest, longest = numbers[0], numbers[-1]
        return Constraint(text, lambda v: shortest <= len(v) <= longest)
    if name not in bounds:
        raise ConfigurationError(f"route {template!r}: unknown route constraint {text!r}")
    count, low, high = bounds[name]
    if len(numbers) != count:
        _bad_args(text, template)
    supplied = iter(numbers)
    low = next(supplied) if math.isnan(low) else low
    high = next(supplied) if math.isnan(high) else high
    if name.endswith("length"):
        return Constraint(text, lambda v: low <= len(v) <= high)
    return Constraint(text, lambda v: _in_range(v, low, high))


def _int_args(args: str, text: str, template: str) -> list[int]:
    try:
        return [int(part.strip()) for part in args.split(",")]
    except ValueError:
        _bad_args(text, template)


def _bad_args(text: str, template: str) -> NoReturn:
    raise ConfigurationError(f"route {template!r}: bad arguments in constraint {text!r}")


def _in_range(value: str, low: int | float, high: int | float) -> bool:
    if not _INTEGER.match(value):
        return False
    return low <= int(value) <= high


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_number(value: str) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return math.isfinite(number)


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True
