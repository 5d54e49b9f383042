"""Queue triggers: polling a storage queue with the host's semantics (host.json ``extensions.queues``).

For each queue-triggered function one poller receives up to ``batchSize`` messages at a time,
invisible for a lease (10 minutes, as the host takes them; ``DEVHOST_MESSAGE_LEASE_SECONDS``
shortens it locally) that is renewed at half its length while the function runs, and fetches again
when no more than ``newBatchThreshold`` are in flight. An empty queue is polled again after a delay
that starts at 100 ms and doubles up to ``maxPollingInterval``; messages found mean an immediate
re-poll. Functions run concurrently on ``batchSize + newBatchThreshold`` worker threads.

Outcome of a message, as in the host: success deletes it; a failure makes it visible again after
``visibilityTimeout``, unless it was the ``maxDequeueCount``-th attempt, when its original text goes
to ``<queue>-poison`` (created when missing) and it is deleted. A message already dequeued more
than ``maxDequeueCount`` times, or whose text is not valid base64 under ``messageEncoding:
base64``, goes to the poison queue without running the function. The queue itself is created
when missing. Storage failures are logged (without query strings) and polling goes on with
backoff: an outage never stops the host.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import math
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.functions.queue import QueueMessage as FunctionQueueMessage  # the worker's; func.QueueMessage has no dequeue count
from azure.storage.queue import LinearRetry, QueueClient, QueueMessage

from devhost.config import HOST_MESSAGE_LEASE_SECONDS, QueueOptions
from devhost.indexing import QueueFunction
from devhost.invocation import Invoker
from devhost.waiting import wait_until_idle

logger = logging.getLogger(__name__)

# The storage SDK logs every request at INFO; the poller would drown the app's own lines.
_sdk_logger = logging.getLogger(f"{__name__}.sdk")
_sdk_logger.setLevel(logging.WARNING)

HOST_LEASE_SECONDS = HOST_MESSAGE_LEASE_SECONDS
MIN_POLLING_INTERVAL = 0.1
_OUTAGE_REPORT_EVERY = 60.0


def make_queue_client(connection_string: str, queue_name: str) -> QueueClient:
    """A queue client that fails fast (one quick retry), so the poller's own backoff decides the pace."""
    return QueueClient.from_connection_string(
        connection_string,
        queue_name,
        retry_policy=LinearRetry(backoff=1, retry_total=1, random_jitter_range=0),
        connection_timeout=5,
        read_timeout=30,
        logger=_sdk_logger,
    )


def decode_body(text: str, encoding: str) -> bytes:
    """The message body as the host hands it over; ValueError when base64 text does not decode."""
    if encoding == "none":
        return text.encode("utf-8")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not valid base64: {exc}") from exc


def describe_error(exc: BaseException) -> str:
    """One line about a storage failure, with any URL query string (it may hold a SAS) removed."""
    first_line = (str(exc).strip().splitlines() or [""])[0]
    redacted = re.sub(r"\?[^\s'\")]*", "?<redacted>", first_line)
    return f"{type(exc).__name__}: {redacted[:300]}"


def ensure_queue(client: QueueClient) -> None:
    """Create the client's queue unless it exists."""
    with contextlib.suppress(ResourceExistsError):
        client.create_queue()


@dataclass
class _Lease:
    message_id: str
    pop_receipt: str
    due: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: bool = False


class _LeaseKeeper:
    """Renews the invisibility of every message in flight, each at half the lease length."""

    def __init__(self, client: QueueClient, lease_seconds: int, queue_name: str) -> None:
        self._client = client
        self._lease_seconds = lease_seconds
        self._queue_name = queue_name
        self._leases: dict[str, _Lease] = {}
        self._state = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"devhost-lease-{queue_name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(self, message_id: str, pop_receipt: str) -> _Lease:
        lease = _Lease(message_id, pop_receipt, due=time.monotonic() + self._lease_seconds / 2)
        with self._state:
            self._leases[message_id] = lease
            self._state.notify_all()
        return lease

    def release(self, lease: _Lease) -> str:
        """Stop renewing ``lease`` (waiting for a renewal under way) and return its latest pop receipt."""
        with self._state:
            self._leases.pop(lease.message_id, None)
        with lease.lock:
            lease.done = True
            return lease.pop_receipt

    def close(self) -> None:
        with self._state:
            self._closed = True
            self._state.notify_all()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._state:
                if self._closed:
                    return
                now = time.monotonic()
                due = [lease for lease in self._leases.values() if lease.due <= now]
                if not due:
                    wake = min((lease.due for lease in self._leases.values()), default=now + 60)
                    self._state.wait(max(wake - now, 0.01))
                    continue
            for lease in due:
                self._renew(lease)

    def _renew(self, lease: _Lease) -> None:
        with lease.lock:
            if lease.done:
                return
            try:
                receipt = self._client.update_message(
                    lease.message_id, lease.pop_receipt, visibility_timeout=self._lease_seconds
                )
            except AzureError as exc:
                logger.warning(
                    "Could not renew the lease of message %s on queue '%s' (%s); retrying",
                    lease.message_id,
                    self._queue_name,
                    describe_error(exc),
                )
                lease.due = time.monotonic() + min(1.0, self._lease_seconds / 4)
                return
            lease.pop_receipt = str(receipt.pop_receipt)
            lease.due = time.monotonic() + self._lease_seconds / 2


class _WorkerPool:
    """A fixed number of daemon threads taking jobs from a queue (daemon: a hung function can't block exit)."""

    def __init__(self, size: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{index}", daemon=True) for index in range(size)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:  # a bug in the listener must not cost the pool a thread; the job is not retried
                logger.exception("unexpected error while handling a queue message")


class QueueListener:
    """Runs one queue-triggered function against its queue. ``start``, then ``stop_polling``, ``drain``, ``close``."""

    def __init__(
        self,
        function: QueueFunction,
        invoker: Invoker,
        connection_string: str,
        options: QueueOptions,
        *,
        lease_seconds: int = HOST_LEASE_SECONDS,
        min_polling_interval: float = MIN_POLLING_INTERVAL,
        client_factory: Callable[[str, str], QueueClient] = make_queue_client,
    ) -> None:
        if lease_seconds < 1:
            raise ValueError("the lease must be at least one second")
        self.function = function
        self.queue_name = function.queue_name
        self.poison_queue_name = f"{function.queue_name}-poison"
        self._invoker = invoker
        self._options = options
        self._lease_seconds = lease_seconds
        self._min_polling_interval = min(min_polling_interval, options.max_polling_interval)
        self._client = client_factory(connection_string, self.queue_name)
        self._poison_client = client_factory(connection_string, self.poison_queue_name)
        self._poison_ready = False
        self._queue_ready = False
        self._keeper = _LeaseKeeper(self._client, lease_seconds, self.queue_name)
        self._pool = _WorkerPool(options.batch_size + options.new_batch_threshold, f"devhost-queue-{self.queue_name}")
        self._stopping = threading.Event()
        self._state = threading.Condition()
        self._in_flight = 0
        self._outage_since: float | None = None
        self._outage_reported: float | None = None
        self._poller = threading.Thread(target=self._poll_until_stopped, name=f"devhost-poll-{self.queue_name}", daemon=True)

    def start(self) -> None:
        """Create the queue when storage answers (so messages sent right after ``start`` land), then poll.

        Storage that is down at start does not stop the host: the poller creates the queue once it answers.
        """
        try:
            ensure_queue(self._client)
            self._queue_ready = True
        except AzureError as exc:
            self._outage(exc)
        self._keeper.start()
        self._pool.start()
        self._poller.start()

    def stop_polling(self, timeout: float = 10.0) -> None:
        """Fetch no more messages; those already fetched go on."""
        with self._state:
            self._stopping.set()
            self._state.notify_all()
        if self._poller.is_alive():
            self._poller.join(timeout=timeout)

    def drain(self, timeout: float) -> bool:
        """Wait until every fetched message is finished, at most ``timeout`` seconds; True when all are."""
        return wait_until_idle(self._state, lambda: self._in_flight > 0, timeout)

    def close(self) -> None:
        """Stop renewing leases and release the threads; unfinished messages reappear when their lease ends."""
        self._keeper.close()
        self._pool.close()
        self._client.close()
        self._poison_client.close()

    # polling

    def _poll_until_stopped(self) -> None:
        try:
            self._poll()
        except Exception:  # storage errors are handled in _poll; this is a bug, reported loudly
            logger.exception("Queue listener for '%s' stopped by an unexpected error", self.queue_name)

    def _poll(self) -> None:
        delay = self._min_polling_interval
        while not self._stopping.is_set():
            with self._state:
                while self._in_flight > self._options.new_batch_threshold and not self._stopping.is_set():
                    self._state.wait()
            if self._stopping.is_set():
                return
            try:
                if not self._queue_ready:
                    ensure_queue(self._client)
                    self._queue_ready = True
                pages = self._client.receive_messages(
                    messages_per_page=self._options.batch_size, visibility_timeout=self._lease_seconds
                ).by_page()
                messages = list(next(pages, []))
            except ResourceNotFoundError:
                self._queue_ready = False
                messages = []
            except AzureError as exc:
                self._outage(exc)
                self._stopping.wait(delay)
                delay = min(delay * 2, self._options.max_polling_interval)
                continue
            self._recovered()
            if messages:
                delay = self._min_polling_interval
                for message in messages:
                    self._dispatch(message)
                continue
            self._stopping.wait(delay)
            delay = min(delay * 2, self._options.max_polling_interval)

    def _outage(self, exc: AzureError) -> None:
        now = time.monotonic()
        if self._outage_since is None:
            self._outage_since = now
        if self._outage_reported is None or now - self._outage_reported >= _OUTAGE_REPORT_EVERY:
            self._outage_reported = now
            logger.warning(
                "Polling queue '%s' failed (%s); retrying with backoff up to %.1fs",
                self.queue_name,
                describe_error(exc),
                self._options.max_polling_interval,
            )

    def _recovered(self) -> None:
        if self._outage_since is not None:
            logger.info(
                "Queue '%s' is reachable again after %.1fs", self.queue_name, time.monotonic() - self._outage_since
            )
            self._outage_since = None
            self._outage_reported = None

    def _dispatch(self, message: QueueMessage) -> None:
        lease = self._keeper.add(str(message.id), str(message.pop_receipt))
        with self._state:
            self._in_flight += 1
        self._pool.submit(lambda: self._process(message, lease))

    # one message

    def _process(self, message: QueueMessage, lease: _Lease) -> None:
        try:
            self._handle(message, lease)
        finally:
            self._keeper.release(lease)
            with self._state:
                self._in_flight -= 1
                self._state.notify_all()

    def _handle(self, message: QueueMessage, lease: _Lease) -> None:
        text = message.content if isinstance(message.content, str) else ""
        dequeue_count = int(message.dequeue_count or 0)
        if dequeue_count > self._options.max_dequeue_count:
            self._log_max_dequeue()
            self._poison(message, lease, text)
            return
        try:
            body = decode_body(text, self._options.message_encoding)
        except ValueError:
            logger.warning(
                "Message decoding has failed! Check MessageEncoding settings. MessageId=%s.", message.id
            )
            self._poison(message, lease, text)
            return
        with lease.lock:
            pop_receipt = lease.pop_receipt
        trigger_value = FunctionQueueMessage(  # type: ignore[no-untyped-call]
            id=message.id,
            body=body,
            dequeue_count=dequeue_count,
            insertion_time=message.inserted_on,
            expiration_time=message.expires_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=pop_receipt,
        )
        outcome = self._invoker.invoke(
            self.function, trigger_value, reason=f"New queue message detected on '{self.queue_name}'."
        )
        if outcome.succeeded:
            self._delete(message, self._keeper.release(lease))
        elif dequeue_count >= self._options.max_dequeue_count:
            self._log_max_dequeue()
            self._poison(message, lease, text)
        else:
            self._release(message, self._keeper.release(lease))

    def _delete(self, message: QueueMessage, pop_receipt: str) -> None:
        try:
            self._client.delete_message(str(message.id), pop_receipt)
        except AzureError as exc:
            logger.warning(
                "Could not delete message %s from queue '%s' (%s); it will run again when its lease ends",
                message.id,
                self.queue_name,
                describe_error(exc),
            )

    def _release(self, message: QueueMessage, pop_receipt: str) -> None:
        try:
            self._client.update_message(
                str(message.id), pop_receipt, visibility_timeout=math.ceil(self._options.visibility_timeout)
            )
        except AzureError as exc:
            logger.warning(
                "Could not release message %s on queue '%s' (%s); it will reappear when its lease ends",
                message.id,
                self.queue_name,
                describe_error(exc),
            )

    def _log_poison_failure(self, message: QueueMessage, exc: AzureError) -> None:
        logger.warning(
            "Could not move message %s to queue '%s' (%s); it will be tried again when its lease ends",
            message.id,
            self.poison_queue_name,
            describe_error(exc),
        )

    def _log_max_dequeue(self) -> None:
        logger.warning(
            "Message has reached MaxDequeueCount of %d. Moving message to queue '%s'.",
            self._options.max_dequeue_count,
            self.poison_queue_name,
        )

    def _poison(self, message: QueueMessage, lease: _Lease, text: str) -> None:
        """Copy the original text to the poison queue, then delete the message."""
        pop_receipt = self._keeper.release(lease)
        for attempt in (1, 2):
            try:
                if not self._poison_ready:
                    ensure_queue(self._poison_client)
                    self._poison_ready = True
                self._poison_client.send_message(text)
                break
            except ResourceNotFoundError as exc:  # the poison queue was deleted since we created it
                self._poison_ready = False
                if attempt == 2:
                    self._log_poison_failure(message, exc)
                    return
            except AzureError as exc:
                self._log_poison_failure(message, exc)
                return
        self._delete(message, pop_receipt)
