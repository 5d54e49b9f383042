"""The vulnerability matcher's branch of Lookout's error hierarchy.

Most trouble with advisory data is not raised at all: a malformed record or an unparseable version
becomes a :class:`~shared.vulns.problems.Problem` and the work goes on. These errors are raised where
one call cannot go on (a record cannot be parsed, a version has no ordering) and by the advisory
sources, whose ``temporary`` flag tells the worker whether a retry may help.
"""

from __future__ import annotations

from shared.errors import LookoutError


class AdvisoryError(LookoutError):
    """A failure while reading, storing or matching vulnerability advisories."""

    code = "advisory-error"


class InvalidAdvisory(AdvisoryError):
    """An OSV record breaks the schema (or the size limits); it is skipped and reported."""

    code = "invalid-advisory"


class InvalidVersion(AdvisoryError):
    """A version string has no meaning in the ecosystem's version scheme."""

    code = "invalid-version"


class UnsupportedPackage(AdvisoryError):
    """A package cannot be looked up in OSV: its PURL type, distribution or name is not supported."""

    code = "unsupported-package"


class AdvisorySourceUnavailable(AdvisoryError):
    """An advisory source could not be reached or failed (network, 429, 5xx); retrying may help."""

    code = "advisory-source-unavailable"
    temporary = True


class AdvisorySourceRejected(AdvisoryError):
    """An advisory source refused a request or answered nonsense; retrying the same call cannot help."""

    code = "advisory-source-rejected"
