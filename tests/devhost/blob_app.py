"""A function app with a trigger the local host does not support: it must refuse to start."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="ping")
def ping(req: func.HttpRequest) -> str:
    return "pong"


@app.blob_trigger(arg_name="blob", path="uploads/{name}", connection="AzureWebJobsStorage")
def on_upload(blob: func.InputStream) -> None:
    blob.read()
