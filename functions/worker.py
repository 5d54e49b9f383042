"""The analysis worker: a queue trigger on the jobs queue.

Returns to complete the message; a temporary failure propagates so the host retries it (and moves it
to ``<queue>-poison`` after ``maxDequeueCount``).
"""

from __future__ import annotations

import azure.functions as func

from functions.queueio import queue_message
from shared.intake.jobs import JOBS_QUEUE
from shared.wiring import services

blueprint = func.Blueprint()


@blueprint.function_name("analyze")
@blueprint.queue_trigger(arg_name="msg", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def analyze(msg: func.QueueMessage) -> None:
    """Process one analysis job."""
    services().worker.process(queue_message(msg))
