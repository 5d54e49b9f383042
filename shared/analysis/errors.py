"""The analysis branch of Lookout's error hierarchy.

Every error here is permanent: the same layer bytes fail the same way on every retry. Registry
failures met while downloading a layer are the registry's own errors (some temporary) and pass
through unchanged.
"""

from __future__ import annotations

from shared.errors import InvalidInput, LookoutError


class AnalysisError(LookoutError):
    """An image could not be analyzed."""

    code = "analysis-failed"


class LimitExceeded(AnalysisError):
    """The image breaks one of the analysis limits (image size, entries per layer, layer size...).

    The analysis stops at once, before memory or time run away; the message names the limit.
    """

    code = "limit-exceeded"


class CorruptLayer(AnalysisError):
    """A layer blob is not a readable tar archive (after gzip or zstd decompression, if any)."""

    code = "corrupt-layer"


class PlatformNotFound(InvalidInput):
    """The platform asked for is not one of the image's."""

    code = "platform-not-found"


class InvalidCacheEntry(AnalysisError):
    """A cached per-layer result does not have the serialized shape this version reads."""

    code = "invalid-cache-entry"
