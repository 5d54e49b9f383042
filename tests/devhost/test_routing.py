"""Route templates: parsing, matching, constraints, precedence; no server involved."""

from __future__ import annotations

import pytest

from devhost.routing import Route, RouteTable, RouteTemplate, split_path
from shared.errors import ConfigurationError


def match(template: str, path: str, prefix: str = "") -> dict[str, str] | None:
    return RouteTemplate.parse(template).prefixed(prefix).match(split_path(path))


def test_literals_match_without_regard_to_case_and_trailing_slash() -> None:
    assert match("Items/Latest", "/api/items/LATEST/", prefix="api") == {}
    assert match("items/latest", "/api/items") is None


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("items/{id:int}", "/items/42", {"id": "42"}),
        ("items/{id:int}", "/items/-7", {"id": "-7"}),
        ("items/{id:int}", "/items/4x", None),
        ("items/{id:int}", "/items/2147483648", None),
        ("items/{id:long}", "/items/2147483648", {"id": "2147483648"}),
        ("items/{name:alpha}", "/items/abcXYZ", {"name": "abcXYZ"}),
        ("items/{name:alpha}", "/items/abc1", None),
        ("items/{id:int:min(1)}", "/items/0", None),
        ("items/{id:int:range(1,9)}", "/items/9", {"id": "9"}),
        ("items/{id:guid}", "/items/7d1f0c1e-2d4b-4a53-9a8e-0d3c1c1c9a10", {"id": "7d1f0c1e-2d4b-4a53-9a8e-0d3c1c1c9a10"}),
        ("items/{flag:bool}", "/items/True", {"flag": "True"}),
        ("items/{code:length(3)}", "/items/abcd", None),
        ("items/{code:minlength(2):maxlength(3)}", "/items/abc", {"code": "abc"}),
        ("items/{code:regex(^[a-f]+$)}", "/items/BEEF", {"code": "BEEF"}),
        ("items/{code:regex(^[a-f]+$)}", "/items/beefy", None),
        ("items/{id?}", "/items", {}),
        ("items/{id=all}", "/items", {"id": "all"}),
        ("items/{id=all}", "/items/some", {"id": "some"}),
        ("files/{*rest}", "/files/a/b/c", {"rest": "a/b/c"}),
        ("files/{**rest}", "/files/a", {"rest": "a"}),
        ("files/{*rest}", "/files", {}),
        ("{a}/{b}", "/x", None),
        ("{a}/{b}", "/x/y/z", None),
    ],
)
def test_matching(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert match(template, path) == expected


def test_empty_segment_never_matches_a_parameter() -> None:
    assert match("a/{b}/c", "/a//c") is None


@pytest.mark.parametrize(
    "template",
    [
        "files/{*rest}/more",
        "items/{id?}/details",
        "items/{id:unknown}",
        "items/{id:min(x)}",
        "items/{name}.{ext}",
        "items/{id}/{id}",
        "a//b",
        "items/{1bad}",
        "items/{id:regex(()}",
    ],
)
def test_invalid_templates_are_rejected(template: str) -> None:
    with pytest.raises(ConfigurationError):
        RouteTemplate.parse(template)


def test_table_prefers_literal_then_constrained_then_parameter_then_catch_all() -> None:
    table: RouteTable[str] = RouteTable()
    for text, target in [("x/{*rest}", "catch-all"), ("x/{p}", "parameter"), ("x/{p:int}", "int"), ("x/latest", "literal")]:
        table.add(Route(RouteTemplate.parse(text), None, target))
    def resolve(path: str) -> str | None:
        found = table.resolve("GET", split_path(path))
        return found[0].target if found else None
    assert resolve("/x/latest") == "literal"
    assert resolve("/x/12") == "int"
    assert resolve("/x/abc") == "parameter"
    assert resolve("/x/a/b") == "catch-all"


def test_method_is_part_of_the_match() -> None:
    table: RouteTable[str] = RouteTable()
    table.add(Route(RouteTemplate.parse("x/{id:int}"), frozenset({"POST"}), "post-int"))
    table.add(Route(RouteTemplate.parse("x/{id}"), frozenset({"GET"}), "get-any"))
    get = table.resolve("get", ["x", "1"])
    post = table.resolve("POST", ["x", "1"])
    assert get is not None and get[0].target == "get-any"
    assert post is not None and post[0].target == "post-int"
    assert table.resolve("DELETE", ["x", "1"]) is None


def test_conflicting_routes_are_rejected() -> None:
    table: RouteTable[str] = RouteTable()
    table.add(Route(RouteTemplate.parse("x/{id}"), frozenset({"GET"}), "one"))
    table.add(Route(RouteTemplate.parse("x/{other}"), frozenset({"POST"}), "other method is fine"))
    with pytest.raises(ConfigurationError, match="conflicts"):
        table.add(Route(RouteTemplate.parse("X/{name}"), None, "all methods overlap"))
