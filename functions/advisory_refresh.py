"""Advisory mirror refresh on a timer: import every configured feed, then re-match stored SBOMs."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.errors import LookoutError
from shared.vulns.feeds import open_feed
from shared.wiring import services

log = logging.getLogger(__name__)
blueprint = func.Blueprint()


@blueprint.function_name("advisories_refresh")
@blueprint.timer_trigger(arg_name="timer", schedule="0 7 */6 * * *", run_on_startup=False)
def advisories_refresh(timer: func.TimerRequest) -> None:
    """Every six hours: import each URL of ``LOOKOUT_ADVISORY_FEEDS`` (a failing feed does not stop the others)."""
    svc = services()
    if svc.settings.advisory_source != "mirror":
        return
    for url in svc.settings.advisory_feeds:
        try:
            with open_feed(url) as opened:
                result, rematched = svc.vulnerabilities.import_and_rematch(svc.advisories, opened.feed.read(),
                                                                           opened.complete_ecosystems)
            log.info("advisory feed imported: %d changed; %d images changed", result.changed,
                     len(rematched.images_changed))
        except LookoutError as exc:
            log.error("advisory feed failed (%s): %s", exc.code, exc.message)
