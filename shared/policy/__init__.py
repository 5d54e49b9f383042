"""Policies: rules every analyzed image is held to, their configuration, evaluation and results.

:mod:`~shared.policy.model` holds the results, :mod:`~shared.policy.config` the configuration format and
the defaults, :mod:`~shared.policy.highprofile` the import of a high-profile vulnerability list,
:mod:`~shared.policy.evaluate` the six policies (pure functions of what is recorded of an image) and
:mod:`~shared.policy.service` the service that evaluates, stores and serves them.
"""
