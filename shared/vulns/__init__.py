"""Vulnerability matching: OSV advisories in, findings per installed package out.

The package is a library with no storage or HTTP-trigger code; its layout follows the concerns:

- :mod:`.model` and :mod:`.parse` are the OSV record and its bounded JSON/YAML parsing;
- :mod:`.feeds` reads records in bulk (a directory tree, an ``all.zip``); :mod:`.debian_tracker` reads
  the Debian security tracker's JSON as records;
- :mod:`.index` is the :class:`AdvisorySource` seam and the offline mirror (:class:`MemoryIndex`,
  incremental imports); :mod:`.tablerows` its Table storage form; :mod:`.osvapi` the OSV web API;
- :mod:`.versions` orders versions per ecosystem; :mod:`.ranges` evaluates OSV ranges;
- :mod:`.packages` maps an installed package (a PURL plus source package and os-release) to its OSV
  ecosystem and name; :mod:`.matching` turns all that into findings and counts; :mod:`.severity`
  scores them;
- :mod:`.errors` and :mod:`.problems`: what is raised, and what is recorded and goes on.
"""

from __future__ import annotations

from shared.vulns.debian_tracker import TrackerCounts, TrackerFeed
from shared.vulns.errors import (
    AdvisoryError,
    AdvisorySourceRejected,
    AdvisorySourceUnavailable,
    InvalidAdvisory,
    InvalidVersion,
    UnsupportedPackage,
)
from shared.vulns.feeds import AdvisoryFeed, DirectoryFeed, ZipFeed
from shared.vulns.index import AdvisoryIndex, AdvisoryMirror, AdvisorySource, ImportResult, Lookup, MemoryIndex
from shared.vulns.matching import Finding, Matcher, MatchReport, SeverityCounts, package_keys, primary_id
from shared.vulns.model import Advisory, Affected, Event, OsvPackage, Range, Reference, Severity
from shared.vulns.osvapi import OsvApiClient, OsvApiSource
from shared.vulns.packages import OsvQuery, PackageKey, PackageRef, osv_query
from shared.vulns.parse import parse_advisory
from shared.vulns.problems import Problem
from shared.vulns.severity import SeverityScore

__all__ = [
    "Advisory",
    "AdvisoryError",
    "AdvisoryFeed",
    "AdvisoryIndex",
    "AdvisoryMirror",
    "AdvisorySource",
    "AdvisorySourceRejected",
    "AdvisorySourceUnavailable",
    "Affected",
    "DirectoryFeed",
    "Event",
    "Finding",
    "ImportResult",
    "InvalidAdvisory",
    "InvalidVersion",
    "Lookup",
    "MatchReport",
    "Matcher",
    "MemoryIndex",
    "OsvApiClient",
    "OsvApiSource",
    "OsvPackage",
    "OsvQuery",
    "PackageKey",
    "PackageRef",
    "Problem",
    "Range",
    "Reference",
    "Severity",
    "SeverityCounts",
    "SeverityScore",
    "TrackerCounts",
    "TrackerFeed",
    "UnsupportedPackage",
    "ZipFeed",
    "osv_query",
    "package_keys",
    "parse_advisory",
    "primary_id",
]
