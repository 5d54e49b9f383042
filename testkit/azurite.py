"""Azurite, the Azure Storage emulator, started from the project's npm install on free ports."""

from __future__ import annotations

import signal
import subprocess
import tempfile
from pathlib import Path

from shared.settings import azurite_connection_string
from testkit.processes import free_port, stop_process, wait_for_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]
AZURITE_BIN = PROJECT_ROOT / "node_modules" / ".bin" / "azurite"
SAVE_GRACE_S = 2.0


class Azurite:
    """One Azurite process (blob, queue, table) with data in a temporary directory.

    ``stop()`` and ``start()`` may be called repeatedly: the ports and the data survive a restart,
    which is how tests simulate a storage outage. ``in_memory``: the data is kept in memory only (lost
    on a restart), so Azurite never pauses to save it to disk — what a benchmark wants.
    """

    def __init__(self, *, in_memory: bool = False) -> None:
        if not AZURITE_BIN.exists():
            raise RuntimeError(f"{AZURITE_BIN} is missing: run `make setup` (npm ci) first")
        self._dir = tempfile.TemporaryDirectory(prefix="lookout-azurite-")
        self.blob_port, self.queue_port, self.table_port = free_port(), free_port(), free_port()
        self.in_memory = in_memory
        self.process: subprocess.Popen[bytes] | None = None
        self._log = open(Path(self._dir.name) / "azurite.log", "ab")  # noqa: SIM115 - lives as long as the object

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(blob=self.blob_port, queue=self.queue_port, table=self.table_port)

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        self.process = subprocess.Popen(
            [
                str(AZURITE_BIN),
                "--silent",
                "--skipApiVersionCheck",
                "--loose",
                *(["--inMemoryPersistence"] if self.in_memory else ["--location", str(Path(self._dir.name) / "data")]),
                "--blobHost", "127.0.0.1", "--blobPort", str(self.blob_port),
                "--queueHost", "127.0.0.1", "--queuePort", str(self.queue_port),
                "--tableHost", "127.0.0.1", "--tablePort", str(self.table_port),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        for port in (self.blob_port, self.queue_port, self.table_port):
            wait_for_port("127.0.0.1", port, timeout=60, process=self.process)

    def stop(self) -> None:
        """Stop Azurite as Ctrl-C does (SIGINT: it saves its data), then kill it.

        Azurite does not exit while clients keep connections open, so after a grace period for the
        save it is killed; the data written before the stop survives a restart.
        """
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)
                try:
                    self.process.wait(timeout=SAVE_GRACE_S)
                except subprocess.TimeoutExpired:
                    self.process.kill()
            stop_process(self.process)
            self.process = None

    def close(self) -> None:
        self.stop()
        self._log.close()
        self._dir.cleanup()
