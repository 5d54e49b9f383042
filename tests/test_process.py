"""The process-wide settings the app's processes apply before their first piece of work."""

from __future__ import annotations

import gc

from shared.process import COLLECTOR_THRESHOLDS
from shared.wiring import Services, services


def test_the_app_s_services_set_the_collector_thresholds_first(svc: Services) -> None:
    default = (700, 10, 10)
    assert COLLECTOR_THRESHOLDS[0] > default[0]
    gc.set_threshold(*default)
    services.cache_clear()
    try:
        assert services().settings == svc.settings
        assert gc.get_threshold() == COLLECTOR_THRESHOLDS
    finally:
        services.cache_clear()
