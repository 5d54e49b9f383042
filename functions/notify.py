"""The notifications sender: a queue trigger on the notifications queue.

Returns to complete the message; a delivery that failed temporarily raises, so that the host retries it
(and moves it to ``lookout-notifications-poison`` after ``maxDequeueCount``, the delivery recorded as
failed).
"""

from __future__ import annotations

import azure.functions as func

from functions.queueio import queue_message
from shared.notify.messages import NOTIFICATIONS_QUEUE
from shared.wiring import services

blueprint = func.Blueprint()


@blueprint.function_name("notify")
@blueprint.queue_trigger(arg_name="msg", queue_name=NOTIFICATIONS_QUEUE, connection="AzureWebJobsStorage")
def notify(msg: func.QueueMessage) -> None:
    """Fan out one notice, or send one delivery."""
    services().notifications.process(queue_message(msg))
