"""The median stopping rule of SageMaker's automatic early stopping, as local tuning applies it."""

from __future__ import annotations

from trainforge.local.sagemaker.early_stopping import worse_than_median


def test_a_trial_below_the_median_of_the_running_averages_at_its_epoch_is_stopped() -> None:
    ended = [[0.2, 0.4, 0.6], [0.1, 0.2, 0.3], [0.5, 0.6, 0.7]]
    # running averages after two epochs: 0.3, 0.15, 0.55 → median 0.3
    assert worse_than_median([0.1, 0.29], ended, maximize=True)
    assert not worse_than_median([0.1, 0.31], ended, maximize=True)
    assert worse_than_median([0.1, 0.31], ended, maximize=False)


def test_only_trials_that_reached_the_epoch_count_and_none_means_no_stop() -> None:
    assert not worse_than_median([0.0], [], maximize=True)
    assert not worse_than_median([], [[1.0]], maximize=True)
    assert not worse_than_median([0.0, 0.0, 0.0], [[1.0], [1.0, 1.0]], maximize=True)  # none reached epoch 3
    assert worse_than_median([0.0, 0.0], [[1.0], [1.0, 1.0]], maximize=True)
