"""``serve``: the foreground host stops cleanly on SIGTERM, letting a running request finish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from devhost import serve
from testkit.processes import free_port, stop_process, wait_for_port
from tests.devhost.conftest import SAMPLE_APP, write_project

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_stops_serve_cleanly_after_running_requests(tmp_path: Path) -> None:
    root = write_project(tmp_path / "project", functions=["item_latest", "slow"])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "AZURE_FUNCTIONS_ENVIRONMENT"}
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost", "--port", str(port), "--app", SAMPLE_APP, "--project-root", str(root)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=30, process=process)
        base = f"http://127.0.0.1:{port}/api"
        assert requests.get(f"{base}/items/latest", timeout=5).text == "literal:latest"
        slow: dict[str, requests.Response] = {}
        worker = threading.Thread(
            target=lambda: slow.setdefault("response", requests.get(f"{base}/slow?seconds=1.5", timeout=10))
        )
        worker.start()
        time.sleep(0.5)  # the slow request is running
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert time.monotonic() - sent < 5
        worker.join(timeout=10)
        assert slow["response"].status_code == 200
        assert slow["response"].text == "slow done"
        output = process.stdout.read().decode() if process.stdout else ""
        assert "Host stopped" in output
        assert "slow?seconds" not in output and "seconds=1.5" not in output
    finally:
        stop_process(process)


def test_serve_returns_1_when_the_app_cannot_start(tmp_path: Path, environ: None) -> None:
    # No host.json in this folder: not a Functions project.
    assert serve(free_port(), app_spec=SAMPLE_APP, project_root=tmp_path) == 1
