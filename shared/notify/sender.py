"""Sending one notification over HTTP to an address checked beforehand.

The sender connects to the address :func:`~shared.notify.urls.resolve_allowed` vetted (not to whatever
the name resolves to a moment later), with the URL's host name for the ``Host`` header, TLS SNI and
certificate verification. One attempt per call: retries go through the queue. Redirects are not
followed; at most :data:`MAX_ANSWER` characters of the answer are kept. It is written on
:mod:`http.client`, which logs nothing: the URL's path and query (where Slack and Teams put their
credential) never reach a log line.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import requests.utils

from shared.notify.urls import Address, Target

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
MAX_ANSWER = 200
"""Characters of an endpoint's answer kept in the delivery record."""
_READ_LIMIT = 4096


@dataclass(frozen=True)
class Answer:
    """What one attempt got: the HTTP ``status`` (None when no answer came), the start of the body or what went
    wrong, and whether another attempt may succeed."""

    status: int | None
    text: str
    temporary: bool

    @property
    def delivered(self) -> bool:
        """A 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


class Sender(Protocol):
    """Posts a body to a checked target at one of its checked addresses."""

    def post(self, target: Target, addresses: Sequence[Address], body: bytes, headers: Mapping[str, str]) -> Answer:
        """One attempt; never raises for network trouble (it is an :class:`Answer`)."""
        ...


def _clean(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)[:MAX_ANSWER]


def classify(status: int) -> bool:
    """Whether an answer with ``status`` is worth another attempt: 408, 429 and 5xx."""
    return status in (408, 429) or status >= 500


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to ``address`` with ``host`` for SNI and the certificate check."""

    def __init__(self, address: str, host: str, port: int, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


class HttpSender:
    """:class:`Sender` on :mod:`http.client`, pinned to the checked address."""

    def __init__(self, connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._context = ssl.create_default_context(cafile=requests.utils.DEFAULT_CA_BUNDLE_PATH)

    def _connection(self, target: Target, address: Address) -> http.client.HTTPConnection:
        if target.scheme == "https":
            return _PinnedHTTPSConnection(str(address), target.host, target.port, self._connect_timeout, self._context)
        return http.client.HTTPConnection(str(address), target.port, timeout=self._connect_timeout)

    def post(self, target: Target, addresses: Sequence[Address], body: bytes, headers: Mapping[str, str]) -> Answer:
        host_header = f"[{target.host}]" if ":" in target.host else target.host
        if target.port != (443 if target.scheme == "https" else 80):
            host_header += f":{target.port}"
        all_headers = {**headers, "Host": host_header, "Content-Type": "application/json",
                       "Content-Length": str(len(body)), "User-Agent": "Lookout-Notifications/1"}
        last = Answer(None, "no address to connect to", True)
        for address in addresses:
            connection = self._connection(target, address)
            try:
                connection.connect()
                if connection.sock is not None:
                    connection.sock.settimeout(self._read_timeout)
                connection.request("POST", target.path, body=body, headers=all_headers)
                response = connection.getresponse()
                text = response.read(_READ_LIMIT).decode("utf-8", "replace")
                status = response.status
                if 300 <= status < 400:
                    return Answer(status, "redirects are not followed", False)
                return Answer(status, _clean(text), False if 200 <= status < 300 else classify(status))
            except ssl.SSLError as exc:
                return Answer(None, _clean(f"TLS failed: {type(exc).__name__}"), False)
            except (OSError, http.client.HTTPException) as exc:  # refused, timed out, a broken answer
                last = Answer(None, _clean(f"no answer: {type(exc).__name__}"), True)
            finally:
                connection.close()
        return last
