"""The one error hierarchy of Lookout.

Every failure the library raises on purpose is a :class:`LookoutError`. Its ``temporary`` flag is
the contract with the queue worker: a temporary failure is re-raised so the Functions host retries
the message (and moves it to the poison queue after ``maxDequeueCount``); a permanent one is recorded
on the image row and the message completes.
"""

from __future__ import annotations


class LookoutError(Exception):
    """A failure Lookout knows how to describe.

    ``code`` is a short, stable, machine-readable name (``"manifest-unknown"``); the message is for
    people and never contains a secret.
    """

    code: str = "error"
    temporary: bool = False

    def __init__(self, message: str, *, code: str | None = None, temporary: bool | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if temporary is not None:
            self.temporary = temporary

    @property
    def message(self) -> str:
        """The human-readable text of the error."""
        return str(self.args[0]) if self.args else self.code


class ConfigurationError(LookoutError):
    """A setting is missing or malformed; the app cannot start or serve the request."""

    code = "configuration"


class InvalidInput(LookoutError):
    """Input from a caller (an API body, an event, a job) breaks its contract; retrying cannot help."""

    code = "invalid-input"


class NotFound(LookoutError):
    """The thing asked for does not exist."""

    code = "not-found"


class Conflict(LookoutError):
    """The request conflicts with the current state (for example a registry already integrated)."""

    code = "conflict"


class StorageUnavailable(LookoutError):
    """Azure Storage could not be reached or failed; the same call may succeed later."""

    code = "storage-unavailable"
    temporary = True


class InvalidContinuation(InvalidInput):
    """A continuation token that Lookout did not hand out for this listing (altered, foreign or stale)."""

    code = "invalid-continuation"
