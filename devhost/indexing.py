"""Reading an app's functions the way the worker indexes them: from ``app.get_functions()`` only.

Each function's bindings are taken in their function.json form (what the worker sends the host),
so a route, a queue name or a schedule is never listed twice. Anything the local host cannot run
faithfully is refused here, at start-up, with a message naming the function: trigger types other
than ``httpTrigger``, ``queueTrigger`` and ``timerTrigger``, and every input or output binding
besides an HTTP function's ``$return``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from devhost.config import HostConfig
from devhost.routing import RouteTemplate
from devhost.schedule import CronSchedule, resolve_setting_expressions
from shared.errors import ConfigurationError

SUPPORTED_TRIGGERS = ("httpTrigger", "queueTrigger", "timerTrigger")
ALL_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})

_FUNCTIONS_BY_APP: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()
_QUEUE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$")


class UnsupportedFeature(ConfigurationError):
    """The app uses something the local host does not emulate; it refuses to start rather than ignore it."""

    code = "devhost-unsupported"


@dataclass(frozen=True)
class FunctionInfo:
    """What every indexed function has: its name, trigger binding and Python callable.

    ``arg_name`` is the parameter that receives the trigger value; ``wants_context`` is true when
    the callable also takes a ``context`` parameter (a :class:`azure.functions.Context`).
    """

    name: str
    arg_name: str
    user_function: Callable[..., Any]
    wants_context: bool
    trigger: Mapping[str, Any]

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.user_function)


@dataclass(frozen=True)
class HttpFunction(FunctionInfo):
    """An HTTP trigger: its route (without the prefix), methods (None: all) and declared auth level."""

    route: RouteTemplate
    methods: frozenset[str] | None
    auth_level: str


@dataclass(frozen=True)
class QueueFunction(FunctionInfo):
    """A queue trigger: the queue name (``%Setting%`` resolved) and the connection setting's name."""

    queue_name: str
    connection: str


@dataclass(frozen=True)
class TimerFunction(FunctionInfo):
    """A timer trigger: its schedule (``%Setting%`` resolved) and ``runOnStartup``."""

    schedule: CronSchedule
    run_on_startup: bool


IndexedFunction = HttpFunction | QueueFunction | TimerFunction


def load_app(app_spec: str) -> Any:
    """Import ``"module:attribute"`` and return the FunctionApp it names."""
    module_name, _, attribute = app_spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"app {app_spec!r} must be given as 'module:attribute', e.g. 'function_app:app'")
    module = importlib.import_module(module_name)
    try:
        app = getattr(module, attribute)
    except AttributeError as exc:
        raise ConfigurationError(f"module {module_name!r} has no attribute {attribute!r}") from exc
    if not callable(getattr(app, "get_functions", None)):
        raise ConfigurationError(f"{app_spec} is not an azure.functions FunctionApp (it has no get_functions())")
    return app


def index_functions(app: Any, host_config: HostConfig, environ: Mapping[str, str]) -> list[IndexedFunction]:
    """Every enabled function of ``app``, validated; raises :class:`ConfigurationError` on the first problem.

    A function is disabled by the app setting ``AzureWebJobs.<name>.Disabled`` set to true or 1, or
    by being left out of host.json's ``functions`` list, as in the host.
    """
    indexed: list[IndexedFunction] = []
    for function in _functions_of(app):
        name = str(function.get_function_name())
        if host_config.functions is not None and name not in host_config.functions:
            continue
        if environ.get(f"AzureWebJobs.{name}.Disabled", "").strip().lower() in ("true", "1"):
            continue
        bindings = [json.loads(raw) for raw in function.get_raw_bindings()]
        indexed.append(_index_one(name, bindings, function.get_user_function(), environ))
    return indexed


def _functions_of(app: Any) -> list[Any]:
    """``app.get_functions()``, once per app: the library refuses a second call (it sees duplicate names)."""
    try:
        return _FUNCTIONS_BY_APP[app]
    except KeyError:
        functions = list(app.get_functions())
        _FUNCTIONS_BY_APP[app] = functions
        return functions


def _index_one(
    name: str, bindings: list[dict[str, Any]], user_function: Callable[..., Any], env: Mapping[str, str]
) -> IndexedFunction:
    triggers = [b for b in bindings if str(b.get("type", "")).endswith("Trigger")]
    if len(triggers) != 1:
        raise ConfigurationError(f"function {name!r} must have exactly one trigger, not {len(triggers)}")
    trigger = triggers[0]
    kind = str(trigger["type"])
    if kind not in SUPPORTED_TRIGGERS:
        raise UnsupportedFeature(
            f"function {name!r}: the trigger type {kind!r} is not supported by the local host "
            f"(it runs {', '.join(SUPPORTED_TRIGGERS)}); run this app under the Functions host instead"
        )
    for binding in bindings:
        if binding is trigger:
            continue
        if kind == "httpTrigger" and binding.get("type") == "http" and binding.get("name") == "$return":
            continue
        raise UnsupportedFeature(
            f"function {name!r}: the {str(binding.get('direction', '')).lower()} binding "
            f"{binding.get('type')!r} ({binding.get('name')!r}) is not supported by the local host: "
            "input and output bindings are not emulated, use the storage SDK in the function instead"
        )
    arg_name = str(trigger.get("name", ""))
    wants_context = _check_signature(name, user_function, arg_name)
    common: dict[str, Any] = {
        "name": name,
        "arg_name": arg_name,
        "user_function": user_function,
        "wants_context": wants_context,
        "trigger": trigger,
    }
    if kind == "httpTrigger":
        methods = trigger.get("methods")
        declared = frozenset(str(m).upper() for m in methods) if methods else None
        return HttpFunction(
            **common,
            route=RouteTemplate.parse(str(trigger.get("route") or name)),
            methods=declared,
            auth_level=str(trigger.get("authLevel", "FUNCTION")).lower(),
        )
    if kind == "queueTrigger":
        queue_name = resolve_setting_expressions(str(trigger.get("queueName", "")), env, what=f"function {name!r}: queue name")
        if not _QUEUE_NAME.match(queue_name):
            raise ConfigurationError(
                f"function {name!r}: {queue_name!r} is not a valid queue name "
                "(3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit)"
            )
        return QueueFunction(**common, queue_name=queue_name, connection=str(trigger.get("connection") or ""))
    schedule = resolve_setting_expressions(str(trigger.get("schedule", "")), env, what=f"function {name!r}: schedule")
    return TimerFunction(
        **common,
        schedule=CronSchedule.parse(schedule),
        run_on_startup=bool(trigger.get("runOnStartup", False)),
    )


def _check_signature(name: str, user_function: Callable[..., Any], arg_name: str) -> bool:
    """Like the worker: every parameter must be bound; returns whether ``context`` is wanted."""
    try:
        parameters = inspect.signature(user_function).parameters
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"function {name!r}: cannot read its signature: {exc}") from exc
    if arg_name not in parameters:
        raise ConfigurationError(f"function {name!r}: the trigger binding {arg_name!r} is not a parameter of the function")
    unbound = [
        p.name
        for p in parameters.values()
        if p.name not in (arg_name, "context")
        and p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    if unbound:
        raise ConfigurationError(f"function {name!r}: parameters {unbound} have no binding")
    return "context" in parameters
