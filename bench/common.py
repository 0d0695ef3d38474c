"""What every benchmark shares: the repository root, medians and the result row (a ratio against a baseline
measured in the same run)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
Row = dict[str, Any]


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def row(
    name: str, measured: float, baseline: float, unit: str, op: str, target: float, note: str = ""
) -> Row:
    ratio = measured / baseline if baseline else float("inf")
    met = ratio <= target if op == "<=" else ratio >= target
    return {"benchmark": name, "measured": round(measured, 3), "unit": unit, "baseline": round(baseline, 3),
            "ratio": round(ratio, 3), "target": f"{op} {target}", "met": met, "note": note}  # fmt: skip
