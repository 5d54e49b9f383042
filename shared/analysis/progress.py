"""Progress reporting: what an analysis tells a display (the command line's) as it goes."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress events; every method must return quickly and never raise."""

    def platform_started(self, platform: str, layers: int) -> None:
        """Analysis of one platform image with ``layers`` layers begins."""
        ...

    def layer_started(self, digest: str, size: int, *, cached: bool) -> None:
        """Layer ``digest`` (blob digest, ``size`` compressed bytes) begins; ``cached``: no download needed."""
        ...

    def layer_advanced(self, digest: str, done: int) -> None:
        """``done`` compressed bytes of the layer have been downloaded so far."""
        ...

    def layer_finished(self, digest: str) -> None:
        """The layer is done (read or served from the cache)."""
        ...


class NoProgress:
    """A :class:`Progress` that ignores everything."""

    def platform_started(self, platform: str, layers: int) -> None:
        pass

    def layer_started(self, digest: str, size: int, *, cached: bool) -> None:
        pass

    def layer_advanced(self, digest: str, done: int) -> None:
        pass

    def layer_finished(self, digest: str) -> None:
        pass
