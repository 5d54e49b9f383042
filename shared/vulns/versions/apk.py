"""Alpine (apk) versions, ordered the way apk-tools orders them (also Wolfi and Chainguard).

Grammar: ``number{.number}[letter]{_suffix[number]}[~hash][-rN]``, e.g. ``1.2.3``, ``1.0a``,
``2.1_rc2``, ``0.1_git20230101``, ``1.36.1-r15``. The version is read as a sequence of tokens and two
versions are compared token by token:

- the first number, later numbers, suffix numbers and the ``-r`` revision compare numerically —
  except that a later number with a leading zero (``1.02``) compares as a string with the other;
- a letter compares by character; a suffix by its rank:
  ``_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p``;
- a commit hash compares as a string.

When one version runs out of tokens first, the versions are equal if both ran out; otherwise a
pre-release suffix (``_alpha``... ``_rc``) on the longer side makes it *older* (``1.0_rc1 < 1.0``),
and else the side whose next token comes later in the grammar is older (``1.0 < 1.0.1``,
``1.0a < 1.0.1``, ``1.0 < 1.0-r1``, ``1.0 < 1.0_p1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.vulns.errors import InvalidVersion
from shared.vulns.versions.base import CachedScheme, OrderedKey, VersionKey

# Token types, in grammar order (the order matters for the end-of-input rule).
INITIAL, DIGIT, LETTER, SUFFIX, SUFFIX_NO, HASH, REVISION, END = range(8)

_PRE_SUFFIXES = ("alpha", "beta", "pre", "rc")
_POST_SUFFIXES = ("cvs", "svn", "git", "hg", "p")
_NONE_RANK = len(_PRE_SUFFIXES)
SUFFIX_RANK = {name: rank for rank, name in enumerate(_PRE_SUFFIXES)} | {
    name: _NONE_RANK + 1 + rank for rank, name in enumerate(_POST_SUFFIXES)
}

_DIGITS = re.compile(r"[0-9]+")
_LOWER = re.compile(r"[a-z]*")
_HEX = re.compile(r"[0-9a-fA-F]+")


@dataclass(frozen=True)
class Token:
    """One token: its ``type``, its text, and its number (numbers) or rank (suffixes)."""

    type: int
    text: str
    number: int = 0


def tokenize(version: str) -> tuple[Token, ...]:
    """The tokens of ``version``; raises :class:`InvalidVersion` where the grammar breaks."""
    tokens: list[Token] = []
    first = _DIGITS.match(version)
    if first is None:
        raise InvalidVersion(f"{version[:80]!r} is not an apk version: it must start with a number")
    tokens.append(Token(INITIAL, first.group(), int(first.group())))
    pos = first.end()
    while pos < len(version):
        prev = tokens[-1].type
        ch = version[pos]
        if "a" <= ch <= "z" and prev in (INITIAL, DIGIT):
            tokens.append(Token(LETTER, ch, ord(ch)))
            pos += 1
        elif ch == "." and prev in (INITIAL, DIGIT):
            match = _DIGITS.match(version, pos + 1)
            if match is None:
                break
            tokens.append(Token(DIGIT, match.group(), int(match.group())))
            pos = match.end()
        elif ch.isdigit() and prev == SUFFIX:
            match = _DIGITS.match(version, pos)
            assert match is not None
            tokens.append(Token(SUFFIX_NO, match.group(), int(match.group())))
            pos = match.end()
        elif ch == "_" and prev <= SUFFIX_NO:
            word = _LOWER.match(version, pos + 1)
            assert word is not None
            if word.group() not in SUFFIX_RANK:
                break
            tokens.append(Token(SUFFIX, word.group(), SUFFIX_RANK[word.group()]))
            pos = word.end()
        elif ch == "~" and prev < HASH:
            match = _HEX.match(version, pos + 1)
            if match is None:
                break
            tokens.append(Token(HASH, match.group()))
            pos = match.end()
        elif ch == "-" and prev < REVISION and version.startswith("-r", pos):
            match = _DIGITS.match(version, pos + 2)
            if match is None:
                break
            tokens.append(Token(REVISION, match.group(), int(match.group())))
            pos = match.end()
        else:
            break
    if pos != len(version):
        raise InvalidVersion(f"{version[:80]!r} is not an apk version (stopped at {version[pos : pos + 10]!r})")
    return tuple(tokens)


def _token_cmp(a: Token, b: Token) -> int:
    if a.type in (DIGIT, HASH) and (a.type == HASH or a.text[0] == "0" or b.text[0] == "0"):
        return (a.text > b.text) - (a.text < b.text)
    return (a.number > b.number) - (a.number < b.number)


def compare_tokens(a: tuple[Token, ...], b: tuple[Token, ...]) -> int:
    """Three-way comparison of two tokenized apk versions."""
    i = 0
    while True:
        ta = a[i] if i < len(a) else None
        tb = b[i] if i < len(b) else None
        type_a = ta.type if ta else END
        type_b = tb.type if tb else END
        if type_a != type_b or ta is None or tb is None:
            break
        result = _token_cmp(ta, tb)
        if result:
            return result
        i += 1
    if type_a == type_b:
        return 0
    if ta is not None and ta.type == SUFFIX and ta.number < _NONE_RANK:
        return -1
    if tb is not None and tb.type == SUFFIX and tb.number < _NONE_RANK:
        return 1
    return -1 if type_a > type_b else 1


def _parse(version: str) -> VersionKey:
    text = version.strip()
    tokens = tokenize(text)
    return OrderedKey(text, tokens, compare_tokens, tokens[0].number)


APK = CachedScheme("apk", _parse)
