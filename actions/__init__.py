"""What the assistant does: one module per capability, each declaring its `routes`."""

from __future__ import annotations

import importlib
import pkgutil

from actions.registry import Routes

__all__ = ["Routes", "default_routes"]


def default_routes() -> Routes:
    """Every capability module's routes (any module in this package with a module-level `routes: Routes`)."""
    merged = Routes()
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda module: module.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        routes = getattr(module, "routes", None)
        if isinstance(routes, Routes):
            merged.include(routes)
    return merged
