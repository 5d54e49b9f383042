"""A local host for the Functions app, for development and end-to-end tests where ``func start`` is unavailable.

It does what ``func start`` does for this app's triggers, in one Python process: loads
``local.settings.json`` into the environment (never overriding what is set) and sets
``AZURE_FUNCTIONS_ENVIRONMENT=Development`` and ``FUNCTIONS_WORKER_RUNTIME=python`` when unset;
reads ``host.json``; imports the app (``function_app:app``) and derives every route, queue and
schedule from ``app.get_functions()``. The app itself is unchanged: it runs as is under the
Functions host and in Azure.

Emulated:

- HTTP triggers under ``/<routePrefix>/<route>``: ASP.NET-style route templates (``{id}``,
  ``{id:int}``, ``{name:alpha}`` and the other inline constraints, ``{name?}``, ``{name=default}``,
  ``{*rest}``), declared methods (404 otherwise, as the host answers), real ``func.HttpRequest`` and
  ``func.HttpResponse``, sync and ``async def`` functions, 500 on an exception, 413 over 100 MB,
  HTTP/1.1 keep-alive on a threading server.
- Queue triggers with host.json ``extensions.queues`` semantics: base64 or plain message encoding,
  batch size and new-batch threshold, backoff up to ``maxPollingInterval``, a renewed lease while
  the function runs, ``visibilityTimeout`` after a failure, ``<queue>-poison`` after
  ``maxDequeueCount`` failures and for undecodable messages, survival of storage outages.
- Timer triggers on six-field NCRONTAB schedules (UTC), ``runOnStartup``, ``past_due``.
- ``%Setting%`` in queue names and schedules; ``AzureWebJobs.<name>.Disabled`` and host.json
  ``functions`` to disable functions; one log line per HTTP request (without the query string) and
  per execution.

Not emulated (see README.md in this folder for the full list): function keys and auth levels, other
trigger types (Blob, Event Grid, Service Bus, ...: the host refuses to start), input and output
bindings (refused at start-up), identity-based storage connections, the timer schedule monitor and
singleton locks, ``functionTimeout``, retry policies, scale-out, Application Insights, CORS, admin
endpoints, HTTP streaming.
"""

from devhost.host import LocalHost, serve
from devhost.indexing import UnsupportedFeature

__all__ = ["LocalHost", "UnsupportedFeature", "serve"]
