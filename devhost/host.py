"""The local host: loads settings and the app like ``func start``, then serves its functions.

:class:`LocalHost` is the object (``start()``/``stop()``, usable as a context manager);
:func:`serve` runs one in the foreground until SIGINT or SIGTERM, for the ``lookout serve`` command.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType

from devhost.config import (
    HOST_JSON,
    LOCAL_SETTINGS_JSON,
    HostConfig,
    apply_local_settings,
    message_lease_seconds,
    storage_connection_string,
)
from devhost.http import MAX_REQUEST_BODY_BYTES, HttpFrontEnd
from devhost.indexing import HttpFunction, IndexedFunction, QueueFunction, TimerFunction, index_functions, load_app
from devhost.invocation import EventLoopThread, Invoker
from devhost.queues import MIN_POLLING_INTERVAL, QueueListener
from devhost.routing import Route, RouteTable
from devhost.timers import TimerListener
from shared.errors import ConfigurationError
from shared.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

DEFAULT_GRACE_PERIOD = 10.0


class LocalHost:
    """Runs a v2-model Functions app's HTTP, queue and timer triggers in this process.

    ``app_spec`` is ``"module:attribute"`` of the ``func.FunctionApp``, imported with
    ``project_root`` on ``sys.path`` (the root holds host.json and, optionally, local.settings.json).
    ``port=0`` picks a free port; :attr:`url` tells which. Options for tests and tuning:
    ``lease_seconds`` (how long a received queue message stays invisible, renewed at half of it;
    ``None``: the ``DEVHOST_MESSAGE_LEASE_SECONDS`` setting, read by :meth:`load`, else 10 minutes),
    ``min_polling_interval`` (the first backoff step of an idle queue poller), ``grace_period``
    (how long :meth:`stop` lets running functions finish) and ``max_request_body_bytes``.
    """

    def __init__(
        self,
        app_spec: str = "function_app:app",
        *,
        port: int = 7071,
        host: str = "127.0.0.1",
        project_root: Path | None = None,
        lease_seconds: int | None = None,
        min_polling_interval: float = MIN_POLLING_INTERVAL,
        grace_period: float = DEFAULT_GRACE_PERIOD,
        max_request_body_bytes: int = MAX_REQUEST_BODY_BYTES,
    ) -> None:
        self.app_spec = app_spec
        self.host = host
        self.project_root = (project_root or PROJECT_ROOT).resolve()
        self.lease_seconds = lease_seconds
        self.min_polling_interval = min_polling_interval
        self.grace_period = grace_period
        self.max_request_body_bytes = max_request_body_bytes
        self.functions: list[IndexedFunction] = []
        self.host_config = HostConfig()
        self._requested_port = port
        self._routes: RouteTable[HttpFunction] = RouteTable()
        self._connections: dict[str, str] = {}
        self._loaded = False
        self._loop = EventLoopThread()
        self._invoker = Invoker(self._loop, str(self.project_root))
        self._http: HttpFrontEnd | None = None
        self._queues: list[QueueListener] = []
        self._timers: list[TimerListener] = []
        self._started = False

    @property
    def port(self) -> int:
        """The bound port once started (useful with ``port=0``), else the requested one."""
        return self._http.port if self._http is not None else self._requested_port

    @property
    def url(self) -> str:
        """Base URL of the HTTP front end, e.g. ``http://127.0.0.1:7071``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def load(self) -> None:
        """Apply local.settings.json, read host.json, import and index the app; start nothing.

        Raises :class:`ConfigurationError` for a setting, route, schedule, trigger or binding the
        host would reject or this host does not support. Called by :meth:`start` when needed.
        """
        if self._loaded:
            return
        apply_local_settings(self.project_root / LOCAL_SETTINGS_JSON)
        self.host_config = HostConfig.load(self.project_root / HOST_JSON)
        if self.lease_seconds is None:
            self.lease_seconds = message_lease_seconds(os.environ)
        root = str(self.project_root)
        if root not in sys.path:
            sys.path.insert(0, root)  # the worker imports the app from the project root
        app = load_app(self.app_spec)
        functions = index_functions(app, self.host_config, os.environ)
        routes: RouteTable[HttpFunction] = RouteTable()
        connections: dict[str, str] = {}
        for function in functions:
            if isinstance(function, HttpFunction):
                template = function.route.prefixed(self.host_config.route_prefix)
                routes.add(Route(template, function.methods, function), owner=f"function {function.name!r}")
            elif isinstance(function, QueueFunction):
                try:
                    connections[function.name] = storage_connection_string(function.connection)
                except ConfigurationError as exc:
                    raise ConfigurationError(f"function {function.name!r}: {exc.message}") from exc
        self.functions, self._routes, self._connections = functions, routes, connections
        self._loaded = True

    def start(self) -> None:
        """Load if needed, then serve HTTP and start queue pollers and timers on background threads."""
        if self._started:
            return
        self.load()
        lease_seconds = self.lease_seconds if self.lease_seconds is not None else message_lease_seconds(os.environ)
        self._loop.start()
        try:
            self._http = HttpFrontEnd(self.host, self._requested_port, self._routes, self._invoker,
                                      max_body_bytes=self.max_request_body_bytes)
            for function in self.functions:
                if isinstance(function, QueueFunction):
                    self._queues.append(
                        QueueListener(
                            function,
                            self._invoker,
                            self._connections[function.name],
                            self.host_config.queues,
                            lease_seconds=lease_seconds,
                            min_polling_interval=self.min_polling_interval,
                        )
                    )
                elif isinstance(function, TimerFunction):
                    self._timers.append(TimerListener(function, self._invoker))
        except BaseException:
            self._close_all()
            raise
        self._http.start()
        for listener in self._queues:
            listener.start()
        for timer in self._timers:
            timer.start()
        self._started = True
        self._log_functions()

    def stop(self, grace_period: float | None = None) -> None:
        """Stop cleanly: no new HTTP requests, messages or timer firings; running functions get the grace period.

        Functions still running after it are abandoned (their queue messages reappear when their
        lease ends). Safe to call more than once.
        """
        if not self._started:
            self._close_all()
            return
        grace = self.grace_period if grace_period is None else grace_period
        deadline = time.monotonic() + grace
        if self._http is not None:
            self._http.stop_accepting()
        for timer in self._timers:
            timer.stop()
        for listener in self._queues:
            listener.stop_polling(timeout=max(deadline - time.monotonic(), 0.1))
        finished = self._http.drain(_left(deadline)) if self._http is not None else True
        for listener in self._queues:
            finished = listener.drain(_left(deadline)) and finished
        for timer in self._timers:
            finished = timer.join(_left(deadline)) and finished
        finished = self._invoker.wait_idle(_left(deadline)) and finished
        if not finished:
            logger.warning("Functions still running after the %.0fs grace period are abandoned", grace)
        self._close_all()
        self._started = False
        logger.info("Host stopped")

    def __enter__(self) -> LocalHost:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _close_all(self) -> None:
        for listener in self._queues:
            listener.close()
        self._queues = []
        self._timers = []
        if self._http is not None:
            self._http.close()
        self._loop.stop()

    def _log_functions(self) -> None:
        lines = []
        for function in self.functions:
            if isinstance(function, HttpFunction):
                methods = ",".join(sorted(function.methods)) if function.methods else "all methods"
                path = "/".join(filter(None, [self.host_config.route_prefix, function.route.text.strip("/")]))
                lines.append(f"  {function.name}: [{methods}] {self.url}/{path}")
            elif isinstance(function, QueueFunction):
                lines.append(f"  {function.name}: queueTrigger (queue '{function.queue_name}')")
            else:
                lines.append(f"  {function.name}: timerTrigger (schedule '{function.schedule.expression}', UTC)")
        logger.info(
            "Local host listening on %s (auth levels are not enforced locally). Functions:\n%s",
            self.url,
            "\n".join(lines) or "  (none)",
        )


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


def serve(
    port: int,
    host: str = "127.0.0.1",
    app_spec: str = "function_app:app",
    *,
    project_root: Path | None = None,
) -> int:
    """Run the app in the foreground until SIGINT or SIGTERM, then stop cleanly; the process exit code.

    0 after a clean stop; 1 when the host cannot start (a configuration error or a busy port),
    with the reason logged. Must be called from the main thread (it installs signal handlers).
    Configures basic console logging when the app has configured none.
    """
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    local = LocalHost(app_spec, port=port, host=host, project_root=project_root)
    try:
        try:
            local.load()
            _ensure_logging()
            local.start()
        except (ConfigurationError, OSError) as exc:
            _ensure_logging()
            logger.error("The local host cannot start: %s", exc)
            return 1
        while not stop_requested.wait(0.5):
            pass
        logger.info("Shutting down")
        local.stop()
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _ensure_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s %(name)s: %(message)s")
