"""Calling a user function the way the Python worker does, and logging each execution like the host.

Synchronous functions run on the calling thread (an HTTP connection thread, a queue worker, a
timer thread); ``async def`` functions run on one shared event loop in a background thread, as the
worker runs them on its loop. A function that takes a ``context`` parameter gets an
:class:`azure.functions.Context`. Every execution logs one "Executing" and one "Executed" line with
the function name, invocation id, outcome and duration; never arguments or return values.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import uuid
from collections.abc import Coroutine
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

from devhost.indexing import FunctionInfo
from devhost.waiting import wait_until_idle

logger = logging.getLogger(__name__)

_thread_local = threading.local()


class EventLoopThread:
    """One asyncio event loop on a daemon thread, for ``async def`` functions."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="devhost-event-loop", daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coroutine`` on the loop and block the calling thread until it finishes."""
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the event loop thread is not running")
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._loop = None
        self._thread = None
        self._ready.clear()


@dataclass(frozen=True)
class TraceContext:
    """``context.trace_context``: the attributes of the SDK's trace context, without its (private) base class.

    ``trace_parent`` is a W3C ``traceparent`` value (``00-<32 hex trace id>-<16 hex parent id>-<flags>``);
    ``trace_state`` a W3C ``tracestate`` value; ``attributes`` the host's extra trace attributes.
    """

    trace_parent: str
    trace_state: str = ""
    attributes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def new_trace(cls) -> TraceContext:
        """The context of a trace that starts with this invocation: random ids, not sampled, no state."""
        return cls(trace_parent=f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00")


@dataclass(frozen=True)
class RetryContext:
    """``context.retry_context``: the attributes of the SDK's retry context, without its (private) base class.

    ``retry_count`` counts the retries before this attempt (0 on the first), ``max_retry_count`` is
    the retry policy's limit and ``exception`` what the previous attempt raised. Retry policies are
    not emulated, so every invocation is a first attempt: 0, 0 and None.
    """

    retry_count: int = 0
    max_retry_count: int = 0
    exception: object | None = None


class InvocationContext(func.Context):
    """The ``context`` argument: invocation id, function name and directory, trace and retry context.

    A :class:`azure.functions.Context`; its trace and retry contexts are :class:`TraceContext` and
    :class:`RetryContext`, which have the attributes of the SDK's types but not their base classes.
    """

    def __init__(self, invocation_id: str, function_name: str, function_directory: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace = TraceContext.new_trace()
        self._retry = RetryContext()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:  # a threading.local, as the worker passes (typed as its class)
        return _thread_local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> TraceContext:  # type: ignore[override]  # the SDK declares its private abstract class
        return self._trace

    @property
    def retry_context(self) -> RetryContext:  # type: ignore[override]  # the SDK declares its private abstract class
        return self._retry


@dataclass(frozen=True)
class Outcome:
    """How one execution went: its id, the return value or the exception, and its duration in ms."""

    invocation_id: str
    value: Any
    error: Exception | None
    duration_ms: float

    @property
    def succeeded(self) -> bool:
        return self.error is None


class Invoker:
    """Runs functions, counts executions in flight so shutdown can wait for them."""

    def __init__(self, loop: EventLoopThread, function_directory: str) -> None:
        self._loop = loop
        self._function_directory = function_directory
        self._in_flight = 0
        self._idle = threading.Condition()

    def invoke(self, function: FunctionInfo, trigger_value: Any, *, reason: str) -> Outcome:
        """Call ``function`` with ``trigger_value``; never raises what the function raises (see :class:`Outcome`)."""
        invocation_id = str(uuid.uuid4())
        arguments: dict[str, Any] = {function.arg_name: trigger_value}
        if function.wants_context:
            arguments["context"] = InvocationContext(invocation_id, function.name, self._function_directory)
        with self._idle:
            self._in_flight += 1
        logger.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", function.name, reason, invocation_id)
        started = time.perf_counter()
        _thread_local.invocation_id = invocation_id
        value: Any = None
        error: Exception | None = None
        try:
            value = function.user_function(**arguments)
            if inspect.isawaitable(value):
                value = self._loop.run(_awaited(value))
        except Exception as exc:  # the host's boundary: a failing function is an outcome, not a host crash
            error = exc
        finally:
            _thread_local.invocation_id = None
            duration = (time.perf_counter() - started) * 1000
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
        if error is None:
            logger.info(
                "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms)", function.name, invocation_id, duration
            )
        else:
            logger.error(
                "Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms)",
                function.name,
                invocation_id,
                duration,
                exc_info=error,
            )
        return Outcome(invocation_id=invocation_id, value=value, error=error, duration_ms=duration)

    def wait_idle(self, timeout: float) -> bool:
        """Block until no execution is in flight or ``timeout`` seconds pass; True when idle."""
        return wait_until_idle(self._idle, lambda: self._in_flight > 0, timeout)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
