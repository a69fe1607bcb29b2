"""A reference figure of the host, printed beside every benchmark's results so figures from different machines
(or from one shared VM in a slow spell) can be compared: the same fixed pure-Python work, timed."""

from __future__ import annotations

import os
import platform
import sys
import time

REFERENCE_WORK = "sum(range(10**6))"


def reference_ms(repeats: int = 7) -> float:
    """Milliseconds for `sum(range(10**6))`, best of `repeats` (about 10 ms on a typical current CPU)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        sum(range(10**6))
        best = min(best, time.perf_counter() - started)
    return best * 1000


def describe() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"host: {REFERENCE_WORK} takes {reference_ms():.1f} ms (best of 7); {os.cpu_count()} CPUs, load average "
        f"{load:.2f}; Python {platform.python_version()} on {sys.platform}"
    )
