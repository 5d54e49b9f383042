"""Credentials and ``WWW-Authenticate`` parsing (the token flow itself is tested against servers)."""

from __future__ import annotations

import pytest

from shared.registry import Credentials
from shared.registry.auth import Challenge, parse_www_authenticate


def test_credentials_never_show_the_password() -> None:
    credentials = Credentials("docker-scout-readonly-token", "hunter2-secret")
    assert "hunter2-secret" not in repr(credentials)
    assert "hunter2-secret" not in str(credentials)
    assert "docker-scout-readonly-token" in repr(credentials)


def test_bearer_challenge_like_acr() -> None:
    [challenge] = parse_www_authenticate(
        'Bearer realm="https://myreg.azurecr.io/oauth2/token",service="myreg.azurecr.io",scope="repository:team/app:pull"'
    )
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://myreg.azurecr.io/oauth2/token"
    assert challenge.service == "myreg.azurecr.io"
    assert challenge.scopes == {"repository:team/app:pull"}


def test_several_scopes_with_commas_inside_quotes() -> None:
    [challenge] = parse_www_authenticate(
        'Bearer realm="https://r/token", service="r", scope="repository:a:pull,push repository:b:pull", '
        'error="insufficient_scope"'
    )
    assert challenge.scopes == {"repository:a:pull,push", "repository:b:pull"}
    assert challenge.error == "insufficient_scope"


def test_repeated_scope_parameters() -> None:
    [challenge] = parse_www_authenticate('Bearer realm="https://r/t",scope="registry:catalog:*",scope="repository:x:pull"')
    assert challenge.scopes == {"registry:catalog:*", "repository:x:pull"}


def test_several_challenges_and_unquoted_values() -> None:
    challenges = parse_www_authenticate('Basic realm="Registry Realm", Bearer realm=https://r/t,service=r')
    assert [c.scheme for c in challenges] == ["basic", "bearer"]
    assert challenges[0].realm == "Registry Realm"
    assert challenges[1].realm == "https://r/t"
    assert challenges[1].service == "r"


def test_escaped_quotes() -> None:
    [challenge] = parse_www_authenticate(r'Basic realm="say \"hi\""')
    assert challenge.realm == 'say "hi"'


@pytest.mark.parametrize("header", [None, "", "   "])
def test_no_challenge(header: str | None) -> None:
    assert parse_www_authenticate(header) == []


def test_parameter_names_are_case_insensitive() -> None:
    [challenge] = parse_www_authenticate('BEARER Realm="https://r/t", Service="r"')
    assert challenge == Challenge("bearer", (("realm", "https://r/t"), ("service", "r")))
