"""Webhook URL rules: what is refused (with the field at fault), locally and in Azure, and DNS answers checked."""

from __future__ import annotations

import ipaddress

import pytest

from shared.notify.model import InvalidEndpoint
from shared.notify.urls import Unresolvable, UrlPolicy, check_url, resolve_allowed

LOCAL = UrlPolicy(local=True)
AZURE = UrlPolicy(local=False)
AZURE_PRIVATE = UrlPolicy(local=False, allow_private=True)


def refused(url: object, policy: UrlPolicy) -> str:
    with pytest.raises(InvalidEndpoint) as caught:
        check_url(url, policy)
    assert caught.value.field == "url"
    assert caught.value.message.startswith("'url': ")
    return caught.value.message


@pytest.mark.parametrize("url, reason", [
    ("http://hooks.example.com/x", "https"),
    ("ftp://hooks.example.com/x", "https"),
    ("https://169.254.169.254/latest/meta-data", "metadata"),
    ("https://[fd00:ec2::254]/", "metadata"),
    ("https://168.63.129.16/machine", "metadata"),
    ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("https://169.254.10.1/", "link-local"),
    ("https://[fe80::1]/", "link-local"),
    ("https://[::ffff:169.254.169.254]/", "metadata"),
    ("https://10.1.2.3/hook", "private"),
    ("https://192.168.0.10/hook", "private"),
    ("https://[fd12::1]/hook", "private"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://localhost/hook", "locally"),
    ("http://localhost:8080/hook", "https"),
    ("https://0.0.0.0/", "unicast"),
    ("https://user:pass@hooks.example.com/", "credentials"),
    ("https:///nohost", "no host"),
    ("https://hooks.example.com:99999/", "not a valid URL"),
    ("https://hooks.example.com/" + "a" * 2100, "longer"),
    ("https://hooks.example.com/a b", "spaces"),
    ("", "required"),
    (None, "required"),
])
def test_refused_in_azure(url: object, reason: str) -> None:
    assert reason in refused(url, AZURE)


def test_private_addresses_in_azure_only_when_configured() -> None:
    assert check_url("https://10.1.2.3/hook", AZURE_PRIVATE).host == "10.1.2.3"
    assert "metadata" in refused("https://169.254.169.254/", AZURE_PRIVATE)
    assert "link-local" in refused("https://169.254.1.1/", AZURE_PRIVATE)
    assert "loopback" in refused("https://127.0.0.1/", AZURE_PRIVATE)


def test_locally_http_only_to_localhost() -> None:
    for url in ("http://localhost:8080/hook", "http://127.0.0.1:9/hook?x=1", "http://[::1]:9/"):
        target = check_url(url, LOCAL)
        assert target.scheme == "http"
    assert check_url("http://127.0.0.1:9/hook?x=1", LOCAL).path == "/hook?x=1"
    assert "https" in refused("http://192.168.1.5/hook", LOCAL)
    assert "https" in refused("http://hooks.example.com/", LOCAL)
    assert check_url("https://192.168.1.5/hook", LOCAL).host == "192.168.1.5"
    assert "metadata" in refused("https://169.254.169.254/", LOCAL)


def test_display_hides_the_path() -> None:
    target = check_url("https://hooks.slack.com/services/T000/B000/SECRETPART", AZURE)
    assert target.display == "https://hooks.slack.com"
    assert check_url("http://127.0.0.1:8080/x", LOCAL).display == "http://127.0.0.1:8080"


def test_names_resolving_to_forbidden_addresses_are_refused() -> None:
    target = check_url("https://hooks.example.com/x", AZURE)

    def answers(*addresses: str):  # type: ignore[no-untyped-def]
        return lambda host, port: list(addresses)

    assert resolve_allowed(target, AZURE, answers("93.184.216.34")) == [ipaddress.ip_address("93.184.216.34")]
    with pytest.raises(InvalidEndpoint, match=r"resolves to a forbidden address: 169\.254\.169\.254 is a cloud metadata"):
        resolve_allowed(target, AZURE, answers("93.184.216.34", "169.254.169.254"))
    with pytest.raises(InvalidEndpoint, match="private"):
        resolve_allowed(target, AZURE, answers("10.0.0.5"))
    with pytest.raises(InvalidEndpoint, match="loopback"):
        resolve_allowed(target, AZURE, answers("127.0.0.1"))
    assert resolve_allowed(target, LOCAL, answers("127.0.0.1")) == [ipaddress.ip_address("127.0.0.1")]

    def fails(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(Unresolvable) as caught:
        resolve_allowed(target, AZURE, fails)
    assert caught.value.field == "url"


def test_the_system_resolver_is_used_for_real_names() -> None:
    target = check_url("http://localhost:9/x", LOCAL)
    assert all(a.is_loopback for a in resolve_allowed(target, LOCAL))
    with pytest.raises(InvalidEndpoint, match="loopback"):
        resolve_allowed(check_url("https://localhost.:9/x", LOCAL), AZURE)
