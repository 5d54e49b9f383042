"""The reconciliation sweep on a timer: queue the jobs of registry events Event Grid never delivered."""

from __future__ import annotations

import azure.functions as func

from shared.wiring import services

blueprint = func.Blueprint()

SCHEDULE = "0 41 * * * *"
"""Every hour at minute 41 (NCRONTAB, UTC): an event Event Grid dropped is caught within the hour, or
within a few hours when a run stops at one of its bounds and the next ones continue it."""


@blueprint.function_name("reconcile")
@blueprint.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False)
def reconcile(timer: func.TimerRequest) -> None:
    """One bounded sweep (:mod:`shared.intake.reconcile`); failing registries are logged there, not raised."""
    services().reconciler.sweep()
