"""The benchmark's registry in a process of its own, so that serving blobs does not share a GIL with what is measured.

:class:`~testkit.registry.RegistryServer` runs Debian's ``docker-registry`` as a child
process, but its token service and storage stand-in (which streams every blob) are threads of the
process that starts it. In the process being measured they compete with the analysis for the
interpreter lock: a busy analysis thread delays the server thread on every send, and the delay
varied a cold analysis by a third from run to run. A registry in production is another machine.

:class:`RegistryProcess` starts a child (``multiprocessing``, spawned) that runs the server, pushes
the benchmark image and answers a few requests over a pipe: the blob download counts, and a reset
of them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from multiprocessing.connection import Connection
from types import FrameType, TracebackType
from typing import Any

from bench.images import BenchImage, push
from shared.registry import Credentials, RegistryClient
from testkit.registry import RegistryServer

_START_TIMEOUT = 600.0
_REPLY_TIMEOUT = 60.0


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through RegistryServer's exit: the registry stops, its data goes


def _serve(connection: Connection, image: BenchImage, repository: str, tag: str) -> None:
    """The child: a registry with ``image`` pushed as ``repository:tag``, then requests until ``close``."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    with RegistryServer() as registry:
        with registry.client(registry.admin) as admin:
            push(admin, repository, tag, image)
        admin_user, readonly = registry.admin, registry.readonly
        connection.send((registry.host, (admin_user.username, admin_user.password),
                         (readonly.username, readonly.password)))
        while True:
            request = connection.recv()
            if request == "downloads":
                connection.send(registry.blob_downloads.snapshot())
            elif request == "reset":
                registry.blob_downloads.reset()
                connection.send(None)
            else:
                break


class RegistryProcess:
    """A loopback registry in a child process holding the benchmark image; a context manager.

    ``host``, ``admin`` and ``readonly`` are as on :class:`RegistryServer`; :meth:`downloads` and
    :meth:`reset_downloads` read and clear its blob download counts.
    """

    def __init__(self, image: BenchImage, repository: str, tag: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(child_end, image, repository, tag), daemon=True)
        self._process.start()
        child_end.close()
        try:
            if not self._connection.poll(_START_TIMEOUT):
                raise RuntimeError("the registry process did not start")
            self.host, admin, readonly = self._connection.recv()
        except EOFError:
            self.close()
            raise RuntimeError("the registry process stopped while starting (its error is printed above)") from None
        except BaseException:
            self.close()
            raise
        self.admin = Credentials(*admin)
        self.readonly = Credentials(*readonly)

    def _ask(self, request: str) -> Any:
        """The child's answer; a child that does not answer in time is stopped (a late answer would be misread)."""
        self._connection.send(request)
        if not self._connection.poll(_REPLY_TIMEOUT):
            self.close()
            raise RuntimeError(f"the registry process did not answer {request!r}")
        return self._connection.recv()

    def downloads(self) -> dict[str, int]:
        """Blob downloads served since the last reset, per digest."""
        counts: dict[str, int] = self._ask("downloads")
        return counts

    def reset_downloads(self) -> None:
        self._ask("reset")

    def client(self, credentials: Credentials | None = None) -> RegistryClient:
        """A client of the registry (plain HTTP on loopback)."""
        return RegistryClient(self.host, credentials, insecure=True)

    def close(self) -> None:
        """Stop the child (it stops the registry and removes its data; on SIGTERM too). Idempotent."""
        if self._process.is_alive():
            with contextlib.suppress(OSError, ValueError):  # the child is gone, or the pipe closed already
                self._connection.send("close")
            self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=30)
        self._connection.close()

    def __enter__(self) -> RegistryProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()
