"""Per-item code of the 零跑动 catalogue (docs/services.md 办理类型): one module per 办理类型 that needs more than the
generic flow — its form fields, checks, records and result — registered with ``handlers.register_handler``.

``autodiscover`` (from ServicesConfig.ready) imports every module here except the shared ones in ``SKIP``, and the
``service_items`` module of every installed app (会议室预约 lives in ``meetings/service_items.py``: meetings already
depends on workflows, so the reverse import would close a package cycle). A new kind is a new file. Tables are in
``records.py`` and ``affairs_models.py`` (imported by services/models.py).
"""

from __future__ import annotations

import importlib
import pkgutil

# Shared modules (tables, pages, helpers, demo data): not 办理类型 themselves.
SKIP = {"records", "affairs_models", "common", "demo_affairs", "grants", "fleet", "views", "affairs_views",
        "fleet_views", "urls", "jobs"}


def autodiscover() -> None:
    from django.utils.module_loading import autodiscover_modules

    for module in pkgutil.iter_modules(__path__):
        if module.name not in SKIP and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    autodiscover_modules("service_items")
