"""A local stand-in for the OSV API (``POST /v1/querybatch``, ``GET /v1/vulns/{id}``).

It answers from a set of records, matching packages with the library's own range evaluation, pages
long answers (``next_page_token``), and can be told to misbehave: scripted statuses before the real
answer, slow answers, oversized or cut-off bodies, broken records. Every request is logged.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shared.vulns.model import Advisory
from shared.vulns.packages import PackageKey
from shared.vulns.parse import to_osv_dict
from shared.vulns.ranges import CompiledAffected


@dataclass
class Script:
    """How the stand-in misbehaves: ``statuses`` are answered (and consumed) before real answers.

    ``delay`` is seconds before each answer; ``oversized`` answers querybatch with a 40 MiB body;
    ``truncated`` announces a longer querybatch body than it sends, then hangs up.
    """

    statuses: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0
    page_size: int = 1000
    oversized: bool = False
    truncated: bool = False
    broken: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)


class OsvStandIn:
    """The server's state: records, script and request log."""

    def __init__(self, records: Iterable[Advisory]) -> None:
        self.records = {r.id: r for r in records}
        self.script = Script()
        self.log: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.url = ""

    def matching_ids(self, ecosystem: str, name: str, version: str) -> list[str]:
        key = PackageKey.of(ecosystem, name)
        ids = []
        for record in sorted(self.records.values(), key=lambda r: r.id):
            for entry in record.affected:
                if entry.package is None or PackageKey.of(entry.package.ecosystem, entry.package.name) != key:
                    continue
                if CompiledAffected(entry, entry.package.ecosystem).evaluate(version).affected:
                    ids.append(record.id)
                    break
        return ids


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _scripted(self) -> bool:
        state = self.server.state
        with state.lock:
            state.log.append((self.command, self.path))
            pending = state.script.statuses.pop(0) if state.script.statuses else None
        if state.script.delay:
            time.sleep(state.script.delay)
        if pending is not None:
            status, headers = pending
            self._send(status, {"code": status, "message": "scripted"}, headers)
            return True
        return False

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self._scripted():
            return
        if self.path != "/v1/querybatch" or not isinstance(body.get("queries"), list):
            self._send(400, {"code": 3, "message": "bad request"})
            return
        state = self.server.state
        if state.script.oversized:
            self._send(200, b"[" + b" " * (40 * 1024 * 1024) + b"]")
            return
        if state.script.truncated:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"results": [')
            self.close_connection = True
            return
        results = []
        for query in body["queries"]:
            package = query.get("package", {})
            ids = state.matching_ids(package.get("ecosystem", ""), package.get("name", ""), query.get("version", ""))
            start = int(query.get("page_token", "0") or 0)
            page = ids[start : start + state.script.page_size]
            result: dict[str, Any] = {"vulns": [{"id": i, "modified": "2024-01-01T00:00:00Z"} for i in page]} if page else {}
            if start + state.script.page_size < len(ids):
                result["next_page_token"] = str(start + state.script.page_size)
            results.append(result)
        self._send(200, {"results": results})

    def do_GET(self) -> None:
        if self._scripted():
            return
        state = self.server.state
        prefix = "/v1/vulns/"
        record_id = self.path[len(prefix) :] if self.path.startswith(prefix) else ""
        if record_id in state.script.broken:
            self._send(200, {"id": record_id, "affected": "not a list"})
        elif record_id in state.records and record_id not in state.script.missing:
            self._send(200, to_osv_dict(state.records[record_id]))
        else:
            self._send(404, {"code": 5, "message": "Bug not found."})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: OsvStandIn) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-answer (the oversized and slow cases) are expected: stay quiet."""


@contextmanager
def running(records: Iterable[Advisory]) -> Iterator[OsvStandIn]:
    """A stand-in on a free loopback port for the duration of the block."""
    state = OsvStandIn(records)
    server = _Server(state)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
