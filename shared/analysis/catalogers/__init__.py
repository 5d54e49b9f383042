"""The catalogers, one module per ecosystem, each with a name, a version and a constructor ``cataloger()``.

:func:`default_catalogers` is the set an analysis runs unless told otherwise; the distribution
cataloger (:data:`~shared.analysis.catalogers.distro.NAME`) is always part of it, because OS
packages take their ``distro`` qualifier from it.
"""

from __future__ import annotations

from shared.analysis.catalogers import apk, distro, dotnet, dpkg, golang, java, npm, php, python, rpm, ruby, rust
from shared.analysis.catalogers.base import Cataloger, GlobCataloger, ParseContext, ParseError, Parser

__all__ = ["Cataloger", "GlobCataloger", "ParseContext", "ParseError", "Parser", "default_catalogers"]


def default_catalogers() -> tuple[Cataloger, ...]:
    """Every cataloger, distribution first."""
    return (
        distro.cataloger(),
        dpkg.cataloger(),
        apk.cataloger(),
        rpm.cataloger(),
        python.cataloger(),
        npm.cataloger(),
        golang.cataloger(),
        rust.cataloger(),
        java.cataloger(),
        ruby.cataloger(),
        php.cataloger(),
        dotnet.cataloger(),
    )
