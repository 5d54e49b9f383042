"""Advisory mirror refresh on a timer: import every configured feed, then re-match stored SBOMs.

It also runs when the app starts, so a new installation has advisories within minutes, not six hours
later; a mirror imported recently is left alone then (:func:`~shared.vulns.service.refresh_due`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import azure.functions as func

from shared.vulns.service import refresh_due
from shared.wiring import services

log = logging.getLogger(__name__)
blueprint = func.Blueprint()


@blueprint.function_name("advisories_refresh")
@blueprint.timer_trigger(arg_name="timer", schedule="0 7 */6 * * *", run_on_startup=True)
def advisories_refresh(timer: func.TimerRequest) -> None:
    """At start and every six hours: import each feed of ``LOOKOUT_ADVISORY_FEEDS`` (a failing feed does
    not stop the others)."""
    svc = services()
    if svc.settings.advisory_source != "mirror" or not svc.settings.advisory_feeds:
        return
    imported_at = svc.advisories.status().get("imported_at")
    if not refresh_due(imported_at, datetime.now(timezone.utc)):
        log.info("advisory mirror imported at %s: not due yet", imported_at)
        return
    svc.vulnerabilities.import_feeds(svc.advisories, svc.settings.advisory_feeds)
