"""Seeded random streams of S3 drops and SageMaker state changes, with duplicates and shuffles: the database
ends identical to the in-order run every time."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.conftest import truncate_all
from tests.lambda_support import invoke, sqs_batch
from tests.reliability.conftest import drop_dataset, lifecycle, snapshot


def stream(seed: int, datasets: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    drops, changes = [], []
    for index in range(datasets):
        drop, job = drop_dataset(f"set-{seed}-{index}")
        drops.append(drop)
        changes += lifecycle(job, rng.choice(["Completed", "Failed", "Stopped"]), index)
    return drops, changes


def deliver(handlers: dict[str, Any], drops: list[dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    for chunk in range(0, len(drops), 10):
        assert invoke(handlers["submissions"], sqs_batch(*drops[chunk : chunk + 10])) == {
            "batchItemFailures": []
        }
    for chunk in range(0, len(changes), 10):
        assert invoke(handlers["training_state"], sqs_batch(*changes[chunk : chunk + 10])) == {
            "batchItemFailures": []
        }


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_any_order_with_duplicates_ends_like_the_in_order_run(
    handlers: Any, engine: Engine, seed: int
) -> None:
    loaded = {name: handlers(name) for name in ("submissions", "training_state")}
    drops, changes = stream(seed, datasets=6)
    deliver(loaded, drops, changes)
    expected = snapshot(engine)
    truncate_all(engine)

    rng = random.Random(seed * 7919)
    # Causality holds (a job's events follow its submission); within that, anything goes, and twice.
    noisy_drops = drops + [rng.choice(drops) for _ in range(len(drops))]
    rng.shuffle(noisy_drops)
    noisy_changes = changes + [rng.choice(changes) for _ in range(len(changes))]
    rng.shuffle(noisy_changes)
    deliver(loaded, noisy_drops, noisy_changes)
    assert snapshot(engine) == expected
    assert len(expected) == 6 and all(job["origin"] == "trainforge" for job in expected.values())
    assert all(job["report"] is not None for job in expected.values())
