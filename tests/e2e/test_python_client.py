"""The Python client (`trainforge.Client`, issue 28's first part) against local mode over HTTP, as a notebook uses
it: submit a job and wait for it printing its log as it comes, read its status, metrics and a listing page by
page, cancel a running job, and get each kind of error as its own exception with the API's problems."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest

import trainforge
from trainforge.client import BudgetExceeded, InvalidRequest, Job, NotFound, Unavailable

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import argparse, time
parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=5)
parser.add_argument("--every", type=float, default=0.05)
args, _ = parser.parse_known_args()
for step in range(1, args.steps + 1):
    print(f"step={step} loss={1 / step:.4f}", flush=True)
    time.sleep(args.every)
"""


@pytest.fixture(scope="module")
def tf(local_api: str) -> Any:
    return trainforge.Client(local_api)


@pytest.fixture(scope="module")
def image(tf: Any) -> str:
    build = tf.request(
        "POST", "/builds", {"base_image": "python:3.12-slim", "tag": "client", "files": {"train.py": SCRIPT}}
    )
    for _ in range(150):
        build = tf.request("GET", f"/builds/{build['id']}")
        if build["status"] == "SUCCEEDED":
            return str(build["image_uri"])
        time.sleep(0.2)
    raise AssertionError(build)


def job(name: str, image: str, **hyperparameters: str) -> dict[str, Any]:
    return {"job_name": name, "dataset_uri": "s3://trainforge-datasets/datasets/client/", "image_uri": image,
            "instance_type": "ml.m5.large", "max_runtime_seconds": 600, "hyperparameters": hyperparameters,
            "metric_definitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}]}  # fmt: skip


def test_submit_and_wait_prints_the_log_as_fit_logs_true_does(tf: Any, image: str) -> None:
    submitted = tf.jobs.submit(job("client-1", image))
    assert isinstance(submitted, Job) and submitted.status in ("Pending", "InProgress")
    printed = io.StringIO()
    done = submitted.wait(logs=True, poll=0.2, timeout=120, out=printed)
    assert done.status == "Completed" and done.finished
    lines = printed.getvalue().splitlines()
    assert [line.split(" ", 2)[2] for line in lines if "step=" in line] == [
        f"step={n} loss={1 / n:.4f}" for n in range(1, 6)
    ]
    assert all(line.split(" ")[1] == "algo-1" for line in lines)
    assert done.info.report is not None and done.info.report.final_metrics["loss"] == pytest.approx(0.2)
    curves = done.metrics()  # a DataFrame: pandas is installed here (the `notebook` extra)
    assert list(curves.columns) == ["loss"] and curves.index.name == "step"
    assert list(curves["loss"]) == pytest.approx([1.0, 0.5, 0.3333, 0.25, 0.2])
    assert list(curves.index) == [1, 2, 3, 4, 5]
    assert tf.jobs.get("client-1").id == done.id == tf.jobs.get(done.id).id
    # the other resources answer their models too
    assert next(iter(tf.builds.list(tag="client"))).status == "SUCCEEDED"
    tf.request(
        "PUT",
        "/teams/clients",
        {"members": ["arn:aws:iam::123456789012:role/clients"], "monthly_budget_usd": 5},
    )
    usage = tf.teams.usage("clients")
    assert (usage.team, usage.monthly_budget_usd, usage.spent_usd) == ("clients", 5, 0)
    assert [t.name for t in tf.teams.list()] == ["clients"]
    with pytest.raises(NotFound):
        tf.tuning_jobs.get(999)
    again = tf.jobs.submit(job("client-1", image))  # the same name again: the first job, not a second
    assert again.id == done.id


def test_a_listing_reads_its_pages_only_as_the_iteration_reaches_them(tf: Any, image: str) -> None:
    for n in range(3):
        tf.jobs.submit(job(f"client-list-{n}", image))
    listing = tf.jobs.list(page_size=2)
    first = next(iter(listing))
    assert listing.pages_read == 1 and first.name.startswith("client-")
    names = [j.name for j in tf.jobs.list(page_size=2)]
    assert {"client-list-0", "client-list-1", "client-list-2", "client-1"} <= set(names)
    assert names == sorted(names, key=names.index)  # newest first, as the API pages them


def test_cancel_stops_a_running_job(tf: Any, image: str) -> None:
    running = tf.jobs.submit(job("client-long", image, steps="100000", every="0.5"))
    for _ in range(100):
        if running.refresh().status == "InProgress":
            break
        time.sleep(0.2)
    assert running.cancel() is True
    assert running.wait(timeout=60, poll=0.2).status == "Stopped"
    assert running.cancel() is False  # already finished


def test_wait_with_logs_times_out_while_the_job_prints_nothing(tf: Any, image: str) -> None:
    quiet = tf.jobs.submit(
        job("client-quiet", image, steps="1", every="60")
    )  # one line, then a minute of silence
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="client-quiet is still"):
        quiet.wait(logs=True, timeout=3, poll=0.2, out=io.StringIO())
    assert time.monotonic() - started < 30  # not when the job ends, a minute on
    assert quiet.cancel() is True


def test_each_kind_of_error_is_its_own_exception_with_the_apis_problems(tf: Any) -> None:
    with pytest.raises(NotFound, match="no training job"):
        tf.jobs.get(999_999)
    with pytest.raises(NotFound):
        tf.jobs.get("no-such-job")
    with pytest.raises(InvalidRequest) as refused:
        tf.jobs.submit({"job_name": "Not A Valid Name!", "dataset_uri": "not-s3", "max_runtime_seconds": -1})
    fields = {p["field"] for p in refused.value.problems}
    assert {"job_name", "dataset_uri", "max_runtime_seconds"} <= fields, refused.value.problems
    assert not isinstance(refused.value, BudgetExceeded)
    with pytest.raises(Unavailable, match="cannot reach"):
        trainforge.Client("http://127.0.0.1:9", retries=0).jobs.get(1)


def test_a_503_is_tried_again_after_its_retry_after(local_api: str) -> None:
    from trainforge.cli.client import ApiError

    slept: list[float] = []
    tf = trainforge.Client(local_api, sleep=slept.append, retries=2)
    real, busy = tf.http.request, {"left": 2}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if busy["left"]:
            busy["left"] -= 1
            raise ApiError(503, "database_unavailable", "the database did not answer in time", retry_after=3)
        return real(*args, **kwargs)

    tf.http.request = flaky  # type: ignore[method-assign]
    assert tf.request("GET", "/health")["status"] == "ok"  # answered on the third try
    assert slept == [3, 3]
    busy["left"] = 5
    with pytest.raises(Unavailable) as gave_up:
        tf.request("GET", "/health")  # still busy after its retries
    assert gave_up.value.status == 503 and gave_up.value.retry_after == 3


def test_train_goes_from_a_folder_of_code_to_a_finished_job(tf: Any, tmp_path: Path) -> None:
    example = ROOT / "examples" / "own-script"
    builds_before = len(tf.request("GET", "/builds", query={"limit": 200})["builds"])
    printed = io.StringIO()
    trained = trainforge.train(source_dir=example / "code", data=example / "data", dataset_name="own-script",
                               metric_definitions=[{"Name": "slope", "Regex": "slope=([0-9.]+)"}], client=tf,
                               out=printed)  # fmt: skip
    assert trained.status == "Completed", printed.getvalue()
    assert trained.info.report is not None and trained.info.report.final_metrics["slope"] == pytest.approx(
        1.99
    )
    assert "slope=1.9900" in printed.getvalue()
    assert trained.upload is not None and sorted(trained.upload["uploaded"]) == [
        "metadata.csv",
        "train/points.csv",
    ]
    again = trainforge.train(source_dir=example / "code", data=example / "data", dataset_name="own-script",
                             client=tf, wait=False)  # fmt: skip
    assert again.upload is not None and again.upload["skipped"] == [
        "train/points.csv"
    ]  # by checksum: not sent
    assert "train/points.csv" not in again.upload["uploaded"]
    builds = tf.request("GET", "/builds", query={"limit": 200})["builds"]
    assert len(builds) == builds_before + 1  # the same code's image is reused, not built again
    assert again.info.image_uri == trained.info.image_uri


def test_the_example_notebook_runs_against_local_mode(
    local_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv(
        "TRAINFORGE_API_URL", local_api
    )  # the kernel inherits it: trainforge.Client() finds it
    notebook = nbformat.read(ROOT / "examples" / "notebook.ipynb", as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "examples")}}).execute()  # fmt: skip
    outputs = ["".join(o.get("text", "") for o in cell.get("outputs", [])) for cell in notebook.cells
               if cell.cell_type == "code"]  # fmt: skip
    assert outputs[0].strip() == local_api
    assert "Completed" in outputs[1] and "slope=1.9900" in outputs[1]
    assert "'slope': 1.99" in outputs[2]
    assert len(outputs[3].strip().splitlines()) == 5


def test_the_readmes_five_lines_train_a_script(local_api: str, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Train from Python", 1)[1]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert len([line for line in block.splitlines() if line.strip()]) == 5
    monkeypatch.setenv("TRAINFORGE_API_URL", local_api)
    monkeypatch.chdir(ROOT)
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "slope=1.9900" in printed
    assert printed.strip().splitlines()[-1] == "Completed {'slope': 1.99}"
