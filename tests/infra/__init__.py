"""Offline checks of infra/: the ARM templates, the deployment scripts and the deployment package."""
