"""What every version scheme provides: a parse into an ordered, hashable key.

A :class:`VersionScheme` turns a version string into a key. Keys of one scheme are totally ordered
(``<``, ``==``) the way the ecosystem's own tool orders the versions, and hashable consistently with
``==`` (two versions the ecosystem calls equal, like PEP 440's ``1.0`` and ``1.0.0``, have equal
keys and equal hashes). Parsing raises :class:`~shared.vulns.errors.InvalidVersion`.

:class:`OrderedKey` adapts a three-way comparison function to that contract, for schemes whose
library (or our own implementation) compares pairs rather than producing tuple keys.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import lru_cache
from typing import Any, Protocol

from shared.vulns.errors import InvalidVersion

KEY_CACHE_SIZE = 1 << 16


class VersionKey(Protocol):
    """A parsed version: ordered with ``<`` and ``==`` against keys of the same scheme, hashable."""

    def __lt__(self, other: Any, /) -> bool: ...

    def __eq__(self, other: object, /) -> bool: ...

    def __hash__(self) -> int: ...


class VersionScheme(Protocol):
    """The version ordering of one ecosystem."""

    @property
    def name(self) -> str:
        """A short name for reports: ``pep440``, ``semver``, ``debian``, ``apk``..."""
        ...

    def key(self, version: str) -> VersionKey:
        """The ordered key of ``version``; raises :class:`InvalidVersion` when it does not parse."""
        ...


class OrderedKey:
    """A version key ordered by a three-way ``compare(a, b) -> int`` over parsed values.

    ``bucket`` must be equal for any two values that compare equal (it is the hash); a coarse
    bucket (the epoch and leading number, say) is enough and keeps the contract easy to keep.
    """

    __slots__ = ("_bucket", "_compare", "text", "value")

    def __init__(self, text: str, value: Any, compare: Callable[[Any, Any], int], bucket: Hashable) -> None:
        self.text = text
        self.value = value
        self._compare = compare
        self._bucket = bucket

    def _cmp(self, other: object) -> int | None:
        if not isinstance(other, OrderedKey) or other._compare is not self._compare:
            return None
        return self._compare(self.value, other.value)

    def __lt__(self, other: object) -> bool:
        result = self._cmp(other)
        if result is None:
            return NotImplemented
        return result < 0

    def __le__(self, other: object) -> bool:
        result = self._cmp(other)
        if result is None:
            return NotImplemented
        return result <= 0

    def __gt__(self, other: object) -> bool:
        result = self._cmp(other)
        if result is None:
            return NotImplemented
        return result > 0

    def __ge__(self, other: object) -> bool:
        result = self._cmp(other)
        if result is None:
            return NotImplemented
        return result >= 0

    def __eq__(self, other: object) -> bool:
        result = self._cmp(other)
        if result is None:
            return NotImplemented
        return result == 0

    def __hash__(self) -> int:
        return hash(self._bucket)

    def __repr__(self) -> str:
        return f"OrderedKey({self.text!r})"


class CachedScheme:
    """A scheme built from a name and a parse function, with the last parses cached.

    ``parse`` raises :class:`InvalidVersion` (or ``ValueError``, turned into one) for bad input.
    """

    def __init__(self, name: str, parse: Callable[[str], VersionKey]) -> None:
        self._name = name
        self._parse = parse
        self._cached = lru_cache(maxsize=KEY_CACHE_SIZE)(self._key_uncached)

    @property
    def name(self) -> str:
        return self._name

    def key(self, version: str) -> VersionKey:
        result: VersionKey | InvalidVersion = self._cached(version)
        if isinstance(result, InvalidVersion):
            raise InvalidVersion(result.message)
        return result

    def _key_uncached(self, version: str) -> VersionKey | InvalidVersion:
        try:
            return self._parse(version)
        except InvalidVersion as exc:
            return exc
        except (ValueError, TypeError, ArithmeticError, IndexError) as exc:
            return InvalidVersion(f"{version[:80]!r} is not a valid {self._name} version ({type(exc).__name__})")

    def __repr__(self) -> str:
        return f"CachedScheme({self._name!r})"


def leading_number(text: str) -> int | str:
    """The first run of digits of ``text`` as an int (the first word when there is none): a bucket."""
    digits = ""
    for ch in text:
        if ch.isdigit():
            digits += ch
        elif digits:
            break
    if digits:
        return int(digits)
    return text.split(".", 1)[0].lower()
