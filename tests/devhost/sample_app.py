"""A v2-model function app that exercises the local host: HTTP routes, queue and timer triggers.

Queue names and the timer schedule are ``%Setting%`` expressions so that each test picks its own.
What the functions see is recorded in :data:`CALLS` for the tests to read.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict
from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

_lock = threading.Lock()
CALLS: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)


def record(key: str, **details: Any) -> None:
    with _lock:
        CALLS[key].append(details)


def calls(key: str) -> list[dict[str, Any]]:
    with _lock:
        return list(CALLS[key])


def _json(value: object, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status, mimetype="application/json")


# HTTP


@app.route(route="echo/{name}", methods=["GET", "POST", "PUT"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    status = int(req.params.get("status", "200"))
    response = _json(
        {
            "method": req.method,
            "url": req.url,
            "headers": dict(req.headers),
            "params": dict(req.params),
            "route_params": dict(req.route_params),
            "body": req.get_body().decode("utf-8", errors="replace"),
        },
        status,
    )
    response.headers["X-Echo"] = "yes"
    response.headers.add("Set-Cookie", "a=1; Path=/")
    response.headers.add("Set-Cookie", "b=2; Path=/")
    return response


@app.route(route="items/{id:int}", methods=["GET"])
def item_by_id(req: func.HttpRequest) -> str:
    return f"int:{req.route_params['id']}"


@app.route(route="items/{name:alpha}", methods=["GET"])
def item_by_name(req: func.HttpRequest) -> str:
    return f"alpha:{req.route_params['name']}"


@app.route(route="items/latest", methods=["GET"])
def item_latest(req: func.HttpRequest) -> str:
    return "literal:latest"


@app.route(route="files/{*path}")
def files(req: func.HttpRequest) -> func.HttpResponse:
    return _json(dict(req.route_params))


@app.route(route="optional/{a}/{b?}", methods=["GET"])
def optional(req: func.HttpRequest) -> func.HttpResponse:
    return _json(dict(req.route_params))


@app.route(methods=["GET"])
def default_route(req: func.HttpRequest) -> str:
    return "default route"


@app.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("this function always fails")


@app.route(route="nothing")
def returns_nothing(req: func.HttpRequest) -> None:  # returns no response, on purpose
    return None


@app.route(route="async/{n:int}", methods=["GET"])
async def asynchronous(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(0.01)
    return func.HttpResponse(f"async {int(req.route_params['n']) * 2}", status_code=201)


@app.route(route="binary", methods=["POST"])
def binary(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.get_body()[::-1], mimetype="application/octet-stream", headers={"X-Length": "1"})


@app.route(route="context", methods=["GET"])
def with_context(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    trace, retry = context.trace_context, context.retry_context
    return _json({
        "invocation_id": context.invocation_id,
        "function_name": context.function_name,
        "is_context": isinstance(context, func.Context),
        "trace": [trace.trace_parent, trace.trace_state, trace.attributes],
        "retry": [retry.retry_count, retry.max_retry_count, retry.exception],
    })


@app.route(route="slow", methods=["GET"])
def slow(req: func.HttpRequest) -> str:
    time.sleep(float(req.params.get("seconds", "1")))
    return "slow done"


# queues


@app.queue_trigger(arg_name="msg", queue_name="%DEVHOST_QUEUE_OK%", connection="AzureWebJobsStorage")
def queue_ok(msg: func.QueueMessage) -> None:
    record(
        "queue_ok",
        id=msg.id,
        body=msg.get_body(),
        dequeue_count=msg.dequeue_count,
        insertion_time=msg.insertion_time,
        expiration_time=msg.expiration_time,
        pop_receipt=msg.pop_receipt,
    )


@app.queue_trigger(arg_name="msg", queue_name="%DEVHOST_QUEUE_FAIL%", connection="")
def queue_fail(msg: func.QueueMessage) -> None:
    record("queue_fail", body=msg.get_body(), dequeue_count=msg.dequeue_count, at=time.monotonic())
    raise RuntimeError("this message always fails")


@app.queue_trigger(arg_name="msg", queue_name="%DEVHOST_QUEUE_SLOW%", connection="AzureWebJobsStorage")
def queue_slow(msg: func.QueueMessage) -> None:
    record("queue_slow", id=msg.id, dequeue_count=msg.dequeue_count, started=time.monotonic())
    time.sleep(float(msg.get_body().decode()))
    record("queue_slow_done", id=msg.id)


# timers


@app.timer_trigger(arg_name="timer", schedule="%DEVHOST_TICK_SCHEDULE%")
def tick(timer: func.TimerRequest) -> None:
    record("tick", at=time.time(), past_due=timer.past_due)


@app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=True)
async def on_startup(timer: func.TimerRequest) -> None:
    await asyncio.sleep(0)
    record("on_startup", past_due=timer.past_due)
