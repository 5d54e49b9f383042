"""Daily housekeeping on a timer: prune the event log, old delete tombstones and old notification deliveries."""

from __future__ import annotations

from datetime import timedelta

import azure.functions as func

from shared.intake.housekeeping import prune
from shared.wiring import services

blueprint = func.Blueprint()


@blueprint.function_name("housekeeping")
@blueprint.timer_trigger(arg_name="timer", schedule="0 17 3 * * *", run_on_startup=False)
def housekeeping(timer: func.TimerRequest) -> None:
    """Prune once a day at 03:17 UTC."""
    svc = services()
    prune(svc.events, svc.images, deliveries=svc.notification_deliveries,
          delivery_retention=timedelta(days=svc.settings.notification_retention_days))
