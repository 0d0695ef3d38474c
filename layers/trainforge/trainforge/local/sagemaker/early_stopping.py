"""SageMaker's automatic early stopping of tuning trials (``TrainingJobEarlyStoppingType: Auto``), as its
documentation states the rule: after each epoch (here: each value of the objective a trial reports), a trial whose
objective is worse than the median of the running averages, up to the same epoch, of the trials that ended before
it, is stopped."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def worse_than_median(current: Sequence[float], ended: Sequence[Sequence[float]], *, maximize: bool) -> bool:
    """``current``: the running trial's objective values so far; ``ended``: those of the trials that ended."""
    epoch = len(current)
    if epoch == 0:
        return False
    averages = [statistics.fmean(series[:epoch]) for series in ended if len(series) >= epoch]
    if not averages:
        return False
    median = statistics.median(averages)
    return current[-1] < median if maximize else current[-1] > median
