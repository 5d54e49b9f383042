"""Indexing an app: everything comes from app.get_functions(); what can't be emulated stops the start."""

from __future__ import annotations

from pathlib import Path

import azure.functions as func
import pytest

from devhost import LocalHost, UnsupportedFeature
from devhost.config import HostConfig
from devhost.indexing import HttpFunction, QueueFunction, TimerFunction, index_functions
from shared.errors import ConfigurationError
from tests.devhost.conftest import write_project


def test_unsupported_trigger_stops_the_start(tmp_path: Path, environ: None) -> None:
    root = write_project(tmp_path, functions=None)
    host = LocalHost("tests.devhost.blob_app:app", port=0, project_root=root)
    with pytest.raises(UnsupportedFeature, match=r"on_upload.*blobTrigger"):
        host.start()


def test_output_binding_is_refused() -> None:
    app = func.FunctionApp()

    @app.route(route="enqueue")
    @app.queue_output(arg_name="out", queue_name="jobs", connection="AzureWebJobsStorage")
    def enqueue(req: func.HttpRequest, out: func.Out[str]) -> str:
        out.set("job")
        return "ok"

    with pytest.raises(UnsupportedFeature, match=r"'enqueue'.*'queue'"):
        index_functions(app, HostConfig(), {})


def test_parameter_without_binding_is_refused() -> None:
    app = func.FunctionApp()

    @app.route(route="x")
    def needs_more(req: func.HttpRequest, extra: str) -> str:
        return extra

    with pytest.raises(ConfigurationError, match="extra"):
        index_functions(app, HostConfig(), {})


def test_functions_are_read_from_the_app() -> None:
    app = func.FunctionApp()

    @app.function_name("renamed")
    @app.route(route="things/{id:int}", methods=["GET", "post"], auth_level=func.AuthLevel.ADMIN)
    def things(req: func.HttpRequest) -> str:
        return "x"

    @app.queue_trigger(arg_name="msg", queue_name="%QUEUE%", connection="")
    def worker(msg: func.QueueMessage) -> None:
        pass

    @app.timer_trigger(arg_name="timer", schedule="0 0 * * * *", run_on_startup=True)
    def hourly(timer: func.TimerRequest, context: func.Context) -> None:
        pass

    http, queue, timer = index_functions(app, HostConfig(), {"QUEUE": "jobs-dev"})
    assert isinstance(http, HttpFunction)
    assert (http.name, http.route.text, http.methods, http.auth_level) == (
        "renamed",
        "things/{id:int}",
        frozenset({"GET", "POST"}),
        "admin",
    )
    assert isinstance(queue, QueueFunction) and (queue.queue_name, queue.connection) == ("jobs-dev", "")
    assert isinstance(timer, TimerFunction) and timer.run_on_startup and timer.wants_context
    # Indexing the same app again works (the library allows get_functions() only once).
    assert len(index_functions(app, HostConfig(), {"QUEUE": "jobs-dev"})) == 3


def test_disabled_and_filtered_functions_are_skipped() -> None:
    app = func.FunctionApp()

    @app.route(route="a")
    def a(req: func.HttpRequest) -> str:
        return "a"

    @app.route(route="b")
    def b(req: func.HttpRequest) -> str:
        return "b"

    @app.route(route="c")
    def c(req: func.HttpRequest) -> str:
        return "c"

    names = [f.name for f in index_functions(app, HostConfig(), {"AzureWebJobs.b.Disabled": "true"})]
    assert names == ["a", "c"]
    names = [f.name for f in index_functions(app, HostConfig(functions=("c",)), {})]
    assert names == ["c"]


def test_invalid_queue_name_is_refused() -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name="Bad_Name", connection="")
    def worker(msg: func.QueueMessage) -> None:
        pass

    with pytest.raises(ConfigurationError, match="not a valid queue name"):
        index_functions(app, HostConfig(), {})


def test_project_app_indexes(tmp_path: Path, environ: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's own function_app loads under the local host (no unsupported trigger or binding)."""
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    host = LocalHost("function_app:app", port=0)
    host.load()
    assert host.functions
    assert all(isinstance(f, (HttpFunction, QueueFunction, TimerFunction)) for f in host.functions)
