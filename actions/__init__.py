"""What the assistant does: one module per capability, each declaring its `routes` (answers in chat) and/or its
`jobs` (what it says by itself, on a schedule)."""

from __future__ import annotations

import importlib
import pkgutil

from actions.registry import Routes
from actions.scheduled import Jobs

__all__ = ["Jobs", "Routes", "default_jobs", "default_routes"]


def default_routes() -> Routes:
    """Every capability module's routes (any module in this package with a module-level `routes: Routes`)."""
    merged = Routes()
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda module: module.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        routes = getattr(module, "routes", None)
        if isinstance(routes, Routes):
            merged.include(routes)
    return merged


def default_jobs() -> Jobs:
    """Every capability module's scheduled kinds (any module in this package with a module-level `jobs: Jobs`)."""
    merged = Jobs()
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda module: module.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        jobs = getattr(module, "jobs", None)
        if isinstance(jobs, Jobs):
            merged.include(jobs)
    return merged
