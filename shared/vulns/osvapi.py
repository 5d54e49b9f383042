"""The OSV web API as an advisory source: ``POST /v1/querybatch`` and ``GET /v1/vulns/{id}``.

:class:`OsvApiClient` speaks HTTP on ``requests``: every request has a connect and a read timeout
and is retried by :func:`shared.retry.send_with_retries` under a :class:`~shared.retry.RetryPolicy`
(by default :data:`DEFAULT_RETRY`: connection errors, timeouts, 429, 500, 502, 503 and 504, at most
3 tries in all, jittered exponential backoff, ``Retry-After`` honoured up to 30 s; a TLS failure is
not retried); response bodies are read up to ``max_response_bytes``. Failures raise
:class:`~shared.vulns.errors.AdvisorySourceUnavailable` (temporary) or
:class:`~shared.vulns.errors.AdvisorySourceRejected` (permanent: 4xx, bodies that are not OSV).

:class:`OsvApiSource` is the :class:`~shared.vulns.index.AdvisorySource` built on it: one querybatch
(in chunks of :data:`BATCH_SIZE`, following ``next_page_token`` up to :data:`MAX_PAGES` pages) gives
the ids per package and version, then each record is fetched once and cached by id and ``modified``.
The matcher still evaluates every record itself, so results do not depend on which source is used.

Severity by id (:meth:`OsvApiSource.severities`): the ratings of every record the source has read
(for lookups or for severities) are remembered under the record's id and aliases; an id not known
that way is fetched with ``GET /v1/vulns/{id}`` (osv.dev serves GHSA and CVE records), at most
``max_severity_fetches`` per call, in the order asked. Answers, a 404 and a record that does not
parse included, are remembered (up to ``cache_size`` ids), so an id is fetched once per source.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import requests

from shared.retry import RETRY_STATUSES, RetryPolicy, parse_retry_after, send_with_retries
from shared.vulns.errors import AdvisorySourceRejected, AdvisorySourceUnavailable, InvalidAdvisory
from shared.vulns.index import Lookup, rated_ids
from shared.vulns.model import Advisory
from shared.vulns.packages import OsvQuery, PackageKey
from shared.vulns.parse import load_json, parse_advisory
from shared.vulns.problems import Problem
from shared.vulns.severity import UNKNOWN, SeverityScore, best, self_rating

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.osv.dev"
BATCH_SIZE = 1000
"""The most queries the API accepts in one querybatch."""
MAX_PAGES = 20
"""The most pages followed for one query."""
MAX_SEVERITY_FETCHES = 100
"""The most records one :meth:`OsvApiSource.severities` call fetches."""
DEFAULT_RETRY = RetryPolicy(max_attempts=3, statuses=RETRY_STATUSES | {500})
"""The OSV client's retries: three tries in all, and a 500 is retried besides the default statuses,
since both calls are read-only queries, cheap to repeat."""


class OsvApiClient:
    """A client of the OSV API at ``base_url`` (see the module notes for timeouts and retries).

    ``connect_timeout`` and ``read_timeout`` are seconds; ``retry`` defaults to
    :data:`DEFAULT_RETRY`, and ``max_attempts`` (when given) overrides its ``max_attempts``;
    ``max_response_bytes`` caps each answer's body. ``request_count`` counts the HTTP requests sent,
    retries included.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        session: requests.Session | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        max_attempts: int | None = None,
        max_response_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        retry = retry or DEFAULT_RETRY
        if max_attempts is not None:
            retry = replace(retry, max_attempts=max_attempts)
        self.base_url = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._owns_session = session is None
        self._timeout = (connect_timeout, read_timeout)
        self.retry = retry
        self._max_bytes = max_response_bytes
        self.request_count = 0

    def close(self) -> None:
        """Close the HTTP session when this client created it."""
        if self._owns_session:
            self._session.close()

    def querybatch(self, queries: Sequence[OsvQuery]) -> list[list[tuple[str, str]]]:
        """For each query, the ``(id, modified)`` of the records the API says affect it."""
        results: list[list[tuple[str, str]]] = [[] for _ in queries]
        pending: list[tuple[int, str]] = [(i, "") for i in range(len(queries))]
        pages = 0
        while pending:
            pages += 1
            if pages > MAX_PAGES:
                raise AdvisorySourceRejected(f"querybatch still paging after {MAX_PAGES} pages")
            next_pending: list[tuple[int, str]] = []
            for start in range(0, len(pending), BATCH_SIZE):
                chunk = pending[start : start + BATCH_SIZE]
                body = {"queries": [_query_body(queries[i], token) for i, token in chunk]}
                answer = _json(self._call("POST", "/v1/querybatch", json_body=body), "/v1/querybatch")
                items = answer.get("results") if isinstance(answer, dict) else None
                if not isinstance(items, list) or len(items) != len(chunk):
                    raise AdvisorySourceRejected("querybatch answered with a different number of results than queries")
                for (index, _), item in zip(chunk, items, strict=True):
                    vulns = item.get("vulns", []) if isinstance(item, dict) else None
                    if not isinstance(vulns, list):
                        raise AdvisorySourceRejected("querybatch result without a vulns list")
                    for vuln in vulns:
                        if not isinstance(vuln, dict) or not isinstance(vuln.get("id"), str):
                            raise AdvisorySourceRejected("querybatch result with a vuln that has no id")
                        results[index].append((vuln["id"], str(vuln.get("modified", ""))))
                    token = item.get("next_page_token") if isinstance(item, dict) else None
                    if isinstance(token, str) and token:
                        next_pending.append((index, token))
            pending = next_pending
        return results

    def get_vuln(self, vuln_id: str) -> Advisory:
        """The full record ``vuln_id``; raises :class:`InvalidAdvisory` when it does not parse."""
        path = f"/v1/vulns/{quote(vuln_id, safe='')}"
        return parse_advisory(load_json(self._call("GET", path), path))

    def _call(self, method: str, path: str, *, json_body: Any = None) -> bytes:
        """The body of a 200 answer to ``method path``, after retries (see the module notes).

        Raises :class:`AdvisorySourceUnavailable` when no answer came, a TLS handshake failed, or a
        retryable status remained; :class:`AdvisorySourceRejected` for any other status than 200
        (``code="advisory-not-found"`` for 404) and for an oversized body.
        """
        url = self.base_url + path
        label = f"OSV API {method} {path}"
        try:
            answer = send_with_retries(self.retry, lambda: self._send(method, url, json_body), label=label, log=logger)
        except requests.exceptions.SSLError:
            raise AdvisorySourceUnavailable(f"{label}: TLS handshake failed") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise AdvisorySourceUnavailable(f"{label}: {type(exc).__name__} after {self.retry.max_attempts} attempt(s)") from None
        with answer.response as response:
            status = response.status_code
            if self.retry.retries_status(status):
                wait = parse_retry_after(response.headers.get("Retry-After"))
                asked = f"; it asked to wait {wait:g}s" if wait is not None else ""
                raise AdvisorySourceUnavailable(f"{label}: HTTP {status} after {answer.attempts} attempt(s){asked}")
            if status == 404:
                raise AdvisorySourceRejected(f"{label}: not found", code="advisory-not-found")
            if status != 200:
                raise AdvisorySourceRejected(f"{label}: HTTP {status}")
            return self._read(response, path)

    def _send(self, method: str, url: str, json_body: Any) -> requests.Response:
        """One try of a request: the streamed response, whatever its status."""
        self.request_count += 1
        return self._session.request(method, url, json=json_body, timeout=self._timeout, stream=True)

    def _read(self, response: requests.Response, path: str) -> bytes:
        """The body of ``response``, at most ``max_response_bytes``; a broken connection is temporary."""
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > self._max_bytes:
                    raise AdvisorySourceRejected(f"OSV API {path}: answer larger than {self._max_bytes} bytes")
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise AdvisorySourceUnavailable(f"OSV API {path}: {type(exc).__name__} while reading the answer") from None
        return b"".join(chunks)


class OsvApiSource:
    """An :class:`~shared.vulns.index.AdvisorySource` answering from the OSV API, with a record cache
    and a severity-by-id cache (``cache_size`` entries each; see the module notes)."""

    def __init__(
        self, client: OsvApiClient, *, cache_size: int = 20_000, max_severity_fetches: int = MAX_SEVERITY_FETCHES
    ) -> None:
        self._client = client
        self._cache: OrderedDict[str, tuple[str, Advisory]] = OrderedDict()
        self._cache_size = cache_size
        self._ratings: OrderedDict[str, SeverityScore] = OrderedDict()
        self._max_fetches = max_severity_fetches

    @property
    def snapshot(self) -> str:
        """``osv-api``: the API serves live data, with no snapshot identity."""
        return "osv-api"

    def lookup(self, queries: Sequence[OsvQuery]) -> Lookup:
        listed = self._client.querybatch(queries) if queries else []
        problems: list[Problem] = []
        found: dict[PackageKey, dict[str, Advisory]] = {}
        for query, entries in zip(queries, listed, strict=True):
            bucket = found.setdefault(query.key, {})
            for vuln_id, modified in entries:
                advisory = self._record(vuln_id, modified, problems)
                if advisory is not None:
                    bucket[advisory.id] = advisory
        return Lookup(records={key: tuple(records.values()) for key, records in found.items()}, problems=tuple(problems))

    def coverage(self) -> None:
        """``None``: the OSV API answers for every ecosystem it publishes."""
        return None

    def severities(self, ids: Collection[str]) -> Mapping[str, SeverityScore]:
        """The preferred rating known for each of ``ids`` (see the module notes for what is fetched).

        Raises :class:`AdvisorySourceUnavailable` when the API cannot answer now, and
        :class:`AdvisorySourceRejected` when it rejects a request other than with a 404.
        """
        fetches = 0
        for vuln_id in ids:
            if fetches >= self._max_fetches:
                break
            if vuln_id in self._ratings:
                continue
            fetches += 1
            self._fetch_rating(vuln_id)
        found: dict[str, SeverityScore] = {}
        for vuln_id in ids:
            rating = self._ratings.get(vuln_id)
            if rating is not None and rating.known:
                found[vuln_id] = rating
        return found

    def _fetch_rating(self, vuln_id: str) -> None:
        """Fetch record ``vuln_id`` and remember its rating; a missing or broken one rates nothing."""
        try:
            advisory = self._client.get_vuln(vuln_id)
        except InvalidAdvisory as exc:
            logger.warning("OSV API record %s does not parse, its severity is unknown: %s", vuln_id, exc.message)
            advisory = None
        except AdvisorySourceRejected as exc:
            if exc.code != "advisory-not-found":
                raise
            advisory = None
        if advisory is not None:
            self._learn(advisory)
        self._remember(vuln_id, self._ratings.get(vuln_id, UNKNOWN))

    def _learn(self, advisory: Advisory) -> None:
        """Remember the rating ``advisory`` gives itself under its id and aliases: it replaces what
        the same record said before, and competes (:func:`~shared.vulns.severity.best`) with what
        another record said. Its own id is remembered even without a rating (it was read)."""
        rating = self_rating(advisory)
        for name in rated_ids(advisory):
            current = self._ratings.get(name)
            if current is not None and current.known and current.source != advisory.id:
                if rating.known:
                    self._remember(name, best((rating, current)))
            elif rating.known or name == advisory.id:
                self._remember(name, rating)
            elif current is not None:
                del self._ratings[name]

    def _remember(self, vuln_id: str, rating: SeverityScore) -> None:
        self._ratings[vuln_id] = rating
        self._ratings.move_to_end(vuln_id)
        while len(self._ratings) > self._cache_size:
            self._ratings.popitem(last=False)

    def _record(self, vuln_id: str, modified: str, problems: list[Problem]) -> Advisory | None:
        cached = self._cache.get(vuln_id)
        if cached is not None and (not modified or cached[0] == modified):
            self._cache.move_to_end(vuln_id)
            return cached[1]
        try:
            advisory = self._client.get_vuln(vuln_id)
        except InvalidAdvisory as exc:
            problems.append(Problem(exc.code, exc.message, origin="osv-api", record_id=vuln_id))
            return None
        except AdvisorySourceRejected as exc:
            if exc.code != "advisory-not-found":
                raise
            problems.append(Problem(exc.code, "listed by querybatch but not found", origin="osv-api", record_id=vuln_id))
            return None
        self._cache[vuln_id] = (modified, advisory)
        self._cache.move_to_end(vuln_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        self._learn(advisory)
        return advisory


def _query_body(query: OsvQuery, page_token: str) -> dict[str, Any]:
    body: dict[str, Any] = {"package": {"ecosystem": query.ecosystem, "name": query.key.name}, "version": query.version}
    if page_token:
        body["page_token"] = page_token
    return body


def _json(data: bytes, path: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise AdvisorySourceRejected(f"OSV API {path}: the answer is not JSON") from None
