"""Limits and continuation tokens: sealed for one listing, refused when altered, foreign or garbage."""

from __future__ import annotations

import base64

import pytest

from shared.api.paging import DEFAULT_LIMIT, MAX_LIMIT, Continuations, parse_limit
from shared.errors import InvalidContinuation, InvalidInput
from shared.secrets import generate_key


@pytest.mark.parametrize(("given", "expected"), [(None, DEFAULT_LIMIT), ("", DEFAULT_LIMIT), ("1", 1), ("500", MAX_LIMIT)])
def test_limits_default_and_stay_bounded(given: str | None, expected: int) -> None:
    assert parse_limit(given) == expected


@pytest.mark.parametrize("given", ["0", "501", "-1", "1.5", "ten", "9" * 40])
def test_limits_out_of_bounds_are_refused(given: str) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        parse_limit(given)


def test_a_token_opens_only_for_the_listing_it_was_sealed_for() -> None:
    tokens = Continuations(generate_key())
    token = tokens.seal('["pushed","abc!sha256:1"]', ("images", "r.example", "team/app"))
    assert token is not None and tokens.open(token, ("images", "r.example", "team/app")) == '["pushed","abc!sha256:1"]'
    assert tokens.seal(None, ("images",)) is None and tokens.open(None, ("images",)) is None
    with pytest.raises(InvalidContinuation):
        tokens.open(token, ("images", "r.example", "team/other"))
    with pytest.raises(InvalidContinuation):
        Continuations(generate_key()).open(token, ("images", "r.example", "team/app"))


def test_altered_and_garbage_tokens_are_refused() -> None:
    tokens = Continuations(generate_key())
    scope = ("vulnerabilities", "critical", "False", "")
    token = tokens.seal("cursor", scope)
    assert token is not None
    payload, tag = token.split(".")
    forged = base64.urlsafe_b64encode(b'{"v":1,"c":"other"}').decode().rstrip("=")
    for bad in [f"{forged}.{tag}", f"{payload}.{tag[:-2]}", payload, "a.b.c", "%%%.***", "x" * 5000, f"{payload}."]:
        with pytest.raises(InvalidContinuation) as caught:
            tokens.open(bad, scope)
        assert caught.value.code == "invalid-continuation"
