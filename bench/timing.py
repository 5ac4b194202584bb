"""Shared helpers for the benchmarks: interleaved timing rounds, medians and a plain table.

The machine is shared, so absolute rates drift from minute to minute. Every benchmark therefore
times its cases in alternation, round after round, and reports the median over rounds of each
case's rate divided by the reference's rate in the *same* round.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def interleave(cases: dict[str, Callable[[], int]], rounds: int) -> dict[str, list[float]]:
    """Run every case once per round, in turn; each call returns its work (steps) done.

    Returns the rate (work per second of wall time) of every call, ``{name: [rounds]}``.
    """
    rates: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            start = time.perf_counter()
            work = case()
            rates[name].append(work / (time.perf_counter() - start))
    return rates


def ratios(rates: dict[str, list[float]], reference: str) -> dict[str, float]:
    """Median over rounds of ``rate[case] / rate[reference]`` in the same round."""
    ref = rates[reference]
    return {name: statistics.median(r / q for r, q in zip(values, ref))
            for name, values in rates.items()}


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (pastes straight into bench/README.md)."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.rjust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine() -> str:
    """CPU model and core count, for the record."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model}, {os.cpu_count()} cores, load average {load:.1f}"
