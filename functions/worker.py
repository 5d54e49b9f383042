"""The analysis worker: a queue trigger on the jobs queue.

Returns to complete the message; a temporary failure propagates so the host retries it (and moves it
to ``<queue>-poison`` after ``maxDequeueCount``).
"""

from __future__ import annotations

import azure.functions as func

from shared.intake.jobs import JOBS_QUEUE
from shared.wiring import services
from shared.worker.process import Message

blueprint = func.Blueprint()


@blueprint.function_name("analyze")
@blueprint.queue_trigger(arg_name="msg", queue_name=JOBS_QUEUE, connection="AzureWebJobsStorage")
def analyze(msg: func.QueueMessage) -> None:
    """Process one analysis job."""
    text = msg.get_body().decode("utf-8", errors="replace")
    services().worker.process(Message(id=msg.id or "", text=text, dequeue_count=msg.dequeue_count or 1))
