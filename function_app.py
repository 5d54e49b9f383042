"""The Azure Functions entry point: logging set-up and blueprint registration, nothing else."""

import logging

import azure.functions as func

from functions.advisory_refresh import blueprint as advisory_refresh_blueprint
from functions.api import blueprint as api_blueprint
from functions.dashboard import blueprint as dashboard_blueprint
from functions.housekeeping import blueprint as maintenance_blueprint
from functions.notify import blueprint as notify_blueprint
from functions.reconcile import blueprint as reconcile_blueprint
from functions.webhook import blueprint as webhook_blueprint
from functions.worker import blueprint as worker_blueprint
from shared.logs import configure_logging

configure_logging()
logging.getLogger(__name__).debug("registering Lookout's functions")

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(webhook_blueprint)
app.register_functions(worker_blueprint)
app.register_functions(api_blueprint)
app.register_functions(dashboard_blueprint)
app.register_functions(maintenance_blueprint)
app.register_functions(advisory_refresh_blueprint)
app.register_functions(reconcile_blueprint)
app.register_functions(notify_blueprint)
