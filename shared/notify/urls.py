"""Which webhook URLs notifications may go to, checked when an endpoint is configured and again at every send.

Rules (:func:`check_url`): ``https`` only, except plain ``http`` to ``localhost``/``127.0.0.1``/``::1``
when the app runs locally; never a link-local address (``169.254.0.0/16``, ``fe80::/10``), a cloud
metadata address or name (``169.254.169.254``, ``fd00:ec2::254``, ``168.63.129.16``,
``metadata.google.internal``...), an unspecified, multicast or reserved address; loopback only locally;
private and other non-global addresses only locally, or in Azure when ``LOOKOUT_NOTIFY_ALLOW_PRIVATE``
is set. No credentials in the URL's authority. A refusal is an
:class:`~shared.notify.model.InvalidEndpoint` naming the field ``url``.

The same address rules apply to every address the host name resolves to (:func:`resolve_allowed`), at
configuration time and at send time, where the sender then connects to a checked address itself, so
that a name re-bound to a forbidden address between the check and the connection is never reached.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.notify.model import InvalidEndpoint

MAX_URL = 2048

METADATA_ADDRESSES = frozenset({
    ipaddress.ip_address("169.254.169.254"),  # AWS, Azure IMDS, GCP, most clouds
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
    ipaddress.ip_address("168.63.129.16"),  # Azure's host endpoint (wire server, DNS, health probes)
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
})
METADATA_NAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data",
                            "instance-data.ec2.internal", "metadata.azure.internal"})
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""Resolves (host, port) to address strings; raises OSError when the name does not resolve."""


@dataclass(frozen=True)
class UrlPolicy:
    """Where the app runs: ``local`` (development, not in Azure) and whether private addresses are allowed."""

    local: bool
    allow_private: bool = False


@dataclass(frozen=True)
class Target:
    """A checked URL: scheme, host (lower-case, IPv6 without brackets), port, and the path with its query."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def display(self) -> str:
        """Scheme and authority only: what listings and logs may show (the path may hold a credential)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port != default else "")


class Unresolvable(InvalidEndpoint):
    """The URL's host name does not resolve (now): at send time, a failure the queue may retry."""

    code = "endpoint-unresolvable"


def _refuse(message: str) -> InvalidEndpoint:
    return InvalidEndpoint("url", message)


def check_address(address: Address, policy: UrlPolicy) -> None:
    """Refuse ``address`` unless the rules allow it under ``policy``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        raise _refuse(f"{address} is a cloud metadata address")
    if address.is_link_local:
        raise _refuse(f"{address} is a link-local address")
    if address.is_loopback:
        if not policy.local:
            raise _refuse(f"{address} is a loopback address (allowed only when the app runs locally)")
        return
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        raise _refuse(f"{address} is not a unicast address")
    if not address.is_global and not (policy.local or policy.allow_private):
        raise _refuse(f"{address} is a private address (set LOOKOUT_NOTIFY_ALLOW_PRIVATE=true to allow it)")


def check_url(url: object, policy: UrlPolicy) -> Target:
    """The checked target of ``url`` (no DNS lookup: see :func:`resolve_allowed`); :class:`InvalidEndpoint` otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise _refuse("a webhook URL is required")
    url = url.strip()
    if len(url) > MAX_URL:
        raise _refuse(f"longer than {MAX_URL} characters")
    if not url.isascii() or any(c.isspace() or ord(c) < 32 for c in url):
        raise _refuse("must be ASCII without spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refuse(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise _refuse("must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise _refuse("must not carry credentials before the host")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise _refuse("has no host")
    if host in METADATA_NAMES or host.endswith(".metadata.google.internal"):
        raise _refuse(f"{host} is a cloud metadata host")
    literal: Address | None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
        if host.endswith(".localhost"):
            host = "localhost"
    if scheme == "http" and not (policy.local and host in LOCAL_NAMES):
        hint = "" if policy.local else " (plain http only for localhost when the app runs locally)"
        raise _refuse(f"must be an https:// URL{hint}")
    if host == "localhost" and not policy.local:
        raise _refuse("localhost is allowed only when the app runs locally")
    if literal is not None:
        check_address(literal, policy)
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return Target(scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), path=path)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (TCP), through the system resolver."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def resolve_allowed(target: Target, policy: UrlPolicy, resolver: Resolver = system_resolver) -> list[Address]:
    """The addresses of ``target``'s host, every one of them allowed; :class:`InvalidEndpoint` when one is not
    (a name that resolves to a forbidden address among good ones is refused whole) or none resolves."""
    try:
        return [_checked(ipaddress.ip_address(target.host), policy)]
    except ValueError:
        pass
    try:
        found = resolver(target.host, target.port)
    except (OSError, UnicodeError) as exc:
        raise Unresolvable("url", f"{target.host} does not resolve ({type(exc).__name__})") from None
    if not found:
        raise Unresolvable("url", f"{target.host} does not resolve")
    addresses = []
    for text in found:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            raise _refuse(f"{target.host} resolves to {text!r}, not an address") from None
        addresses.append(_checked(address, policy, target.host))
    return addresses


def _checked(address: Address, policy: UrlPolicy, name: str = "") -> Address:
    try:
        check_address(address, policy)
    except InvalidEndpoint as exc:
        if not name:
            raise
        raise _refuse(f"{name} resolves to a forbidden address: {exc.message.split(': ', 1)[1]}") from None
    return address
