"""Logging configuration, applied once by the entry points (function_app.py and the CLI)."""

from __future__ import annotations

import logging

_NOISY = ("azure.core.pipeline.policies.http_logging_policy", "azure.identity", "urllib3")


def configure_logging(level: int = logging.INFO) -> None:
    """Log Lookout at ``level``; quiet the SDKs' per-request logging (it would print URLs and headers)."""
    for name in ("shared", "functions", "devhost"):
        logging.getLogger(name).setLevel(level)
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
