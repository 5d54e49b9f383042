"""Daily housekeeping on a timer: prune the event log and old delete tombstones."""

from __future__ import annotations

import azure.functions as func

from shared.intake.housekeeping import prune
from shared.wiring import services

blueprint = func.Blueprint()


@blueprint.function_name("housekeeping")
@blueprint.timer_trigger(arg_name="timer", schedule="0 17 3 * * *", run_on_startup=False)
def housekeeping(timer: func.TimerRequest) -> None:
    """Prune once a day at 03:17 UTC."""
    svc = services()
    prune(svc.events, svc.images)
