"""Item kinds of the 零跑动 catalogue that live in their own modules (docs/services.md 办理类型).

Each module registers a ``handlers.ServiceHandler``; ``autodiscover`` (from ServicesConfig.ready) imports every
module here, so a new kind is a new file. Their tables are in ``records.py`` (imported by services/models.py).
"""

from __future__ import annotations

import importlib
import pkgutil

SKIP = {"records", "views", "urls", "jobs"}


def autodiscover() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name not in SKIP and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
