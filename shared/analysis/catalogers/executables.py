"""Scanners of executables: which files are ELF, PE or Mach-O executables, told from their first bytes.

Catalogers of compiled programs (Go build information, ``cargo auditable`` data) are offered every
regular file that starts with one of :data:`MAGICS` (:attr:`Parser.magic`), whatever its mode bits:
a program copied without its execute bit is still found. The walker looks at those first bytes in
the tar stream's buffer, so other files cost no read. :class:`ExecutableScanner` checks the first
chunk again, so a scanner fed any file declines the rest of a non-executable.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from shared.analysis.model import FileResult

MAGICS = (
    b"\x7fELF",
    b"MZ",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
)
"""ELF; PE (the DOS header); Mach-O 32- and 64-bit, big- and little-endian."""


def is_executable_format(head: bytes) -> bool:
    """Whether a file whose first bytes are ``head`` (four suffice) starts like an ELF, PE or Mach-O executable."""
    return head.startswith(MAGICS)


class ExecutableScanner(ABC):
    """A :class:`~shared.analysis.catalogers.base.Scanner` that reads executables only.

    The first chunk decides: a file that does not start like an executable is declined (``feed``
    answers ``False`` and ``finish`` ``None``). Every chunk of an executable, the first included, goes
    to :meth:`_feed`, and :meth:`finish` answers what :meth:`_finish` does.
    """

    def __init__(self) -> None:
        self._executable: bool | None = None  # None until the first chunk

    def feed(self, chunk: bytes) -> bool:
        """Take the next chunk; ``False`` once the scanner needs no more of the file."""
        if self._executable is None:
            self._executable = is_executable_format(chunk)
        return self._executable and self._feed(chunk)

    def finish(self) -> FileResult | None:
        """The result of an executable; ``None`` for any other file (or none at all)."""
        if not self._executable:
            return None
        return self._finish()

    @abstractmethod
    def _feed(self, chunk: bytes) -> bool:
        """Take the next chunk of an executable; ``False`` once no more is needed."""

    @abstractmethod
    def _finish(self) -> FileResult | None:
        """The result of the executable; raises :class:`~shared.analysis.catalogers.base.ParseError` for a broken one."""
