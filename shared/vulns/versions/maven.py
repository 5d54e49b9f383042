"""Maven versions, ordered as Maven's ``ComparableVersion`` (maven-artifact 3.8) orders them.

The rules, as Maven documents them for version order:

- The version is lower-cased and split into items at ``.``, at ``-`` and at every change between
  digits and letters. Numbers are compared numerically (no size limit). ``-`` and a change between
  letters and digits open a sub-list; a qualifier written after a dot (``1.0.0.RC1``) is treated as
  if written after a hyphen (``1.0.0-RC1``).
- A single letter followed by digits abbreviates a qualifier: ``a1`` = ``alpha-1``, ``b1`` =
  ``beta-1``, ``m1`` = ``milestone-1``; ``cr`` = ``rc``; ``ga``, ``final`` and ``release`` are the
  release itself (empty).
- Known qualifiers order ``alpha < beta < milestone < rc < snapshot < (release) < sp``; unknown
  qualifiers sort after them, alphabetically.
- Trailing "null" items (``0``, the release qualifier, empty sub-lists) are dropped, so ``1``,
  ``1.0``, ``1.0.0`` and ``1-ga`` are equal; missing items compare as null.
- A number is greater than a qualifier or a sub-list (``1.1 > 1-sp > 1``... see the tests); a
  sub-list is greater than a qualifier.
"""

from __future__ import annotations

from typing import Union

from shared.vulns.errors import InvalidVersion
from shared.vulns.versions.base import CachedScheme, OrderedKey, VersionKey

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_RELEASE = str(_QUALIFIERS.index(""))
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}

# An item is an int (a number), a str (a qualifier, already aliased) or a list of items.
Item = Union[int, str, "list[Item]"]


def _qualifier(value: str, followed_by_digit: bool) -> str:
    if followed_by_digit and len(value) == 1:
        value = _SHORT.get(value, value)
    return _ALIASES.get(value, value)


def _comparable_qualifier(value: str) -> str:
    try:
        return str(_QUALIFIERS.index(value))
    except ValueError:
        return f"{len(_QUALIFIERS)}-{value}"


def _item(is_digit: bool, text: str) -> Item:
    return int(text) if is_digit else _qualifier(text, False)


def parse_items(version: str) -> list[Item]:
    """The normalized item tree of ``version`` (what ``ComparableVersion`` prints as its tokens)."""
    text = version.lower()
    root: list[Item] = []
    current = root
    stack: list[list[Item]] = [root]
    is_digit = False
    start = 0

    def open_sublist() -> None:
        nonlocal current
        sub: list[Item] = []
        current.append(sub)
        current = sub
        stack.append(sub)

    for i, ch in enumerate(text):
        if ch == ".":
            current.append(0 if i == start else _item(is_digit, text[start:i]))
            start = i + 1
        elif ch == "-":
            current.append(0 if i == start else _item(is_digit, text[start:i]))
            start = i + 1
            open_sublist()
        elif ch.isdigit() and ch.isascii():
            if not is_digit and i > start:
                if current:  # a qualifier after a dot counts as one after a hyphen
                    open_sublist()
                current.append(_qualifier(text[start:i], True))
                start = i
                open_sublist()
            is_digit = True
        else:
            if is_digit and i > start:
                current.append(int(text[start:i]))
                start = i
                open_sublist()
            is_digit = False
    if len(text) > start:
        if not is_digit and current:
            open_sublist()
        current.append(_item(is_digit, text[start:]))
    while stack:
        _normalize(stack.pop())
    return root


def _is_null(item: Item) -> bool:
    if isinstance(item, int):
        return item == 0
    if isinstance(item, str):
        return item == ""
    return not item


def _normalize(items: list[Item]) -> None:
    for i in range(len(items) - 1, -1, -1):
        if _is_null(items[i]):
            del items[i]
        elif not isinstance(items[i], list):
            break


def compare_items(a: Item | None, b: Item | None) -> int:
    """Three-way comparison of two items (``None`` stands for a missing item)."""
    if a is None:
        return 0 if b is None else -compare_items(b, None)
    if isinstance(a, int):
        if b is None:
            return 0 if a == 0 else 1
        if isinstance(b, int):
            return (a > b) - (a < b)
        return 1  # a number beats a qualifier and a sub-list
    if isinstance(a, str):
        qa = _comparable_qualifier(a)
        if b is None:
            return (qa > _RELEASE) - (qa < _RELEASE)
        if isinstance(b, str):
            qb = _comparable_qualifier(b)
            return (qa > qb) - (qa < qb)
        return -1  # a qualifier loses to a number and to a sub-list
    # a is a list
    if b is None:
        for item in a:
            result = compare_items(item, None)
            if result:
                return result
        return 0
    if isinstance(b, int):
        return -1
    if isinstance(b, str):
        return 1
    for i in range(max(len(a), len(b))):
        left = a[i] if i < len(a) else None
        right = b[i] if i < len(b) else None
        result = compare_items(left, right)
        if result:
            return result
    return 0


def _bucket(items: list[Item]) -> object:
    if not items:
        return None
    first = items[0]
    return first if isinstance(first, int) else ("q", _comparable_qualifier(first)) if isinstance(first, str) else "list"


def _parse(version: str) -> VersionKey:
    text = version.strip()
    if not text or any(ch.isspace() for ch in text):
        raise InvalidVersion(f"{version[:80]!r} is not a Maven version")
    items = parse_items(text)
    return OrderedKey(text, items, compare_items, _bucket(items))


MAVEN = CachedScheme("maven", _parse)
