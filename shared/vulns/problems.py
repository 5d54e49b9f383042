"""Problems: what went wrong with one record, one file or one package, recorded instead of raised."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing that could not be read or decided, and where.

    ``code`` is short and stable (``invalid-advisory``, ``invalid-version``, ``duplicate-advisory``...);
    ``origin`` names the file, zip member or URL path the data came from; ``record_id`` the OSV id when
    known; ``package`` the package URL of the package concerned, when a package was being matched.
    """

    code: str
    message: str
    origin: str = ""
    record_id: str = ""
    package: str = ""

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.origin, self.record_id, self.package) if part)
        return f"{self.code}: {self.message}" + (f" ({where})" if where else "")
