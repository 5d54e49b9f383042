"""End to end: the app imports its advisory feeds as soon as it starts, and not again on a quick restart.

The feed is an OSV ``all.zip`` served over loopback HTTP, as osv.dev serves it over HTTPS.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from shared.secrets import generate_key
from testkit.azurite import Azurite
from testkit.localhost import PROJECT_ROOT, ServedApp
from testkit.processes import wait_until

pytestmark = pytest.mark.e2e


def osv_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(3):
            record = {"schema_version": "1.6.0", "id": f"PYSEC-2026-{number}", "modified": "2026-01-01T00:00:00Z",
                      "affected": [{"package": {"ecosystem": "PyPI", "name": f"pkg{number}"},
                                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]}
            archive.writestr(f"PYSEC-2026-{number}.json", json.dumps(record))
    return buffer.getvalue()


class FeedServer:
    """``/PyPI/all.zip`` on loopback, counting its downloads."""

    def __init__(self) -> None:
        body = osv_zip()
        self.downloads = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/PyPI/all.zip":
                    self.send_error(404)
                    return
                server.downloads += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/PyPI/all.zip"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture
def feed() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.close()


def mirror_status(app: ServedApp) -> dict[str, Any]:
    response = requests.get(f"{app.url}/api/advisories", timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def status_command(settings: dict[str, str]) -> str:
    """``lookout advisories status`` with the app's storage settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOKOUT_", "AzureWebJobs"))} | settings
    done = subprocess.run([sys.executable, "-m", "shared.cli.main", "advisories", "status"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def test_feeds_are_imported_at_start_and_not_again_on_a_quick_restart(feed: FeedServer) -> None:
    storage = Azurite()
    storage.start()
    settings = {"AzureWebJobsStorage": storage.connection_string, "LOOKOUT_ENCRYPTION_KEY": generate_key(),
                "LOOKOUT_TABLE_PREFIX": "refresh", "LOOKOUT_ADVISORY_FEEDS": feed.url}
    try:
        assert "no advisories imported yet" in status_command(settings)
        first = ServedApp(settings)
        first.start()
        try:
            wait_until(lambda: mirror_status(first).get("snapshot"), timeout=60, what="the first import")
            status = mirror_status(first)
            assert (status["added"], status["problems"], status["ecosystems"]) == (3, 0, {"PyPI": 3})
            assert feed.downloads == 1
            assert "  PyPI: 3 records" in status_command(settings).splitlines()
        finally:
            assert first.stop() == 0
            first.close()
        again = ServedApp(settings)
        again.start()
        try:
            wait_until(lambda: "not due yet" in again.log_tail(200), timeout=60, what="the start-up check")
            assert feed.downloads == 1
        finally:
            assert again.stop() == 0
            again.close()
    finally:
        storage.close()
