"""``lookout serve`` as a child process: the app end to end, as a developer runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from testkit.processes import free_port, wait_for_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ServedApp:
    """The function app under ``lookout serve`` on a free port, with the given app settings.

    The child's output goes to a log file whose tail is shown when something fails.
    """

    def __init__(self, settings: Mapping[str, str]) -> None:
        self.port = free_port()
        # No advisory feed unless a test names one: the default feeds are on the internet.
        self.settings = {"LOOKOUT_ADVISORY_FEEDS": "", **settings}
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="lookout-serve-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOKOUT_", "AzureWebJobs"))}
        env.update(self.settings)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "shared.cli.main", "serve", "--port", str(self.port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port("127.0.0.1", self.port, timeout=60, process=self.process)

    def stop(self) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code

    def kill(self) -> int:
        """SIGKILL, as a crash or an out-of-memory kill: nothing runs on the way out; returns the exit code
        (``-9``). :meth:`start` serves again on the same port."""
        if self.process is None:
            raise RuntimeError("the app is not running")
        self.process.kill()
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(Path(self._log.name).read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        self.stop()
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)
