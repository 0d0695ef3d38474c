"""The front door as a newcomer meets it (issue 25): the CLI against local mode, in its own process, over HTTP.

Each test is one thing a new user tried and tripped on: their own script's entry point, a config that does not
parse, every problem in words, ``-o json`` anywhere, what an upload started, a download of the model, the
tuning verbs, a dry run that says what a submission would.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.cli_process import ROOT, trainforge

OWN = ROOT / "examples" / "own-script"


@pytest.fixture(scope="module")
def own_image(local_api: str) -> str:
    """The own-script example built without --entry-point: its only script is the one the image runs."""
    code, out, err = trainforge(local_api, "build", "--source", str(OWN / "code"), "--tag", "own", "--wait")
    assert code == 0, out + err
    assert "SUCCEEDED" in out and "(runs train.py)" in out
    return out.split(": ", 1)[1].split(" ")[0]


@pytest.fixture(scope="module")
def own_dataset(local_api: str) -> str:
    """The own-script data, uploaded with its metadata.csv found in the folder; it starts no job of its own."""
    code, out, err = trainforge(local_api, "upload", str(OWN / "data"), "--prefix", "own")
    assert code == 0, out + err
    assert "no job started (the dataset carries no trainforge.json)" in out
    assert "trainforge submit --dataset own" in out
    return "own"


def test_a_script_whose_entry_point_is_not_train_py_runs_as_its_image_says(
    local_api: str, tmp_path: Path
) -> None:
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / "fit.py").write_text((OWN / "code" / "train.py").read_text())
    (code_dir / "helpers.py").write_text("UNUSED = 1\n")
    code, _, err = trainforge(local_api, "build", "--source", str(code_dir), "--tag", "fit")
    assert code == 2 and "Name it with --entry-point (top-level Python files: fit.py, helpers.py)" in err
    code, out, err = trainforge(local_api, "build", "--source", str(code_dir), "--tag", "fit",
                                "--entry-point", "fit.py", "--wait")  # fmt: skip
    assert code == 0 and "(runs fit.py)" in out, out + err
    upload = trainforge(local_api, "upload", str(OWN / "data"), "--prefix", "fit-data")
    assert upload[0] == 0, upload
    code, out, err = trainforge(local_api, "submit", "--job-name", "fit-1", "--image", "fit", "--dataset", "fit-data",
                                "--wait")  # fmt: skip
    assert code == 0, out + err
    assert "algo-1  slope=" in out and "Completed / Completed" in out  # fit.py ran, as the image's ENV says


def test_a_config_that_does_not_parse_names_its_line_and_column(local_api: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("job_name: a\nhyperparameters:\n  epochs: [1, 2\ninstance_type: ml.m5.large\n")
    code, out, err = trainforge(local_api, "submit", "--config", str(broken))
    assert code == 2 and out == ""
    assert (
        err.startswith(f"error: {broken} is not valid YAML at line 4, column 14") and "Traceback" not in err
    )
    assert len(err.splitlines()) == 1
    code, _, err = trainforge(local_api, "submit", "--config", str(broken), "-o", "json")
    assert code == 2
    error = json.loads(err)["error"]
    assert error["code"] == "invalid_input" and "line 4, column 14" in error["message"]
    as_json = tmp_path / "broken.json"
    as_json.write_text('{"job_name": "a",\n "epochs": }')
    code, _, err = trainforge(local_api, "submit", "--config", str(as_json))
    assert code == 2 and "is not valid JSON at line 2, column 12" in err


def test_every_problem_is_listed_with_its_field_and_its_rule_in_words(local_api: str, tmp_path: Path) -> None:
    config = tmp_path / "job.yaml"
    config.write_text(
        "job_name: not a name!\ndataset_uri: datasets/own\nmax_runtime_seconds: 0\n"
        "image_uri: x/y:z\ncolour: blue\n"
    )
    code, out, err = trainforge(local_api, "submit", "--config", str(config))
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == "error: refused, 4 problems:", err
    problems = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in lines[1:]}
    assert problems == {
        "job_name": "must be 1 to 63 letters, digits or hyphens, starting and ending with a letter or digit",
        "dataset_uri": "must be an s3:// URI such as s3://trainforge-datasets/datasets/churn/ (a bucket of "
        "lowercase letters, digits, '.' or '-', then a key)",
        "max_runtime_seconds": "must be greater than or equal to 1",
        "colour": "is not a field this request takes",
    }
    assert "^" not in err and "{0," not in err  # never a regular expression
    code, _, err = trainforge(local_api, "-o", "json", "submit", "--config", str(config))
    assert code == 2 and len(json.loads(err)["error"]["problems"]) == 4


def test_output_json_is_taken_before_or_after_the_verb(local_api: str) -> None:
    for args in (["-o", "json", "list"], ["list", "-o", "json"], ["list", "--limit", "2", "--output=json"]):
        code, out, err = trainforge(local_api, *args)
        assert code == 0, err
        assert set(json.loads(out)) == {"jobs", "next_cursor"}
    code, out, err = trainforge(local_api, "status", "no-such-job", "-o", "json")
    assert code == 2 and out == ""
    assert json.loads(err) == {"error": {"code": "not_found", "message": "no training job named 'no-such-job'",
                                         "problems": []}}  # fmt: skip


def test_a_quickstart_job_finishes_says_so_and_its_model_and_output_download(
    local_api: str, own_image: str, own_dataset: str, tmp_path: Path
) -> None:
    code, out, err = trainforge(local_api, "submit", "--job-name", "own-1", "--image", "own", "--dataset",
                                own_dataset, "-H", "unused=1", "--wait", "--no-logs")  # fmt: skip
    assert code == 0, out + err
    assert "model: s3://" in out and "(trainforge download " in out
    code, out, _ = trainforge(local_api, "status", "own-1")
    first = out.splitlines()[0]
    assert code == 0 and "Completed / Completed" in first and "submitted" not in out
    code, out, _ = trainforge(local_api, "submit", "--job-name", "own-1", "--image", "own", "--dataset",
                              own_dataset, "-H", "unused=1")  # fmt: skip
    assert code == 0 and "exists already (the same request): Completed" in out and "submitted" not in out
    code, out, err = trainforge(local_api, "download", "own-1", str(tmp_path / "own-1"), "--model")
    assert code == 0, err
    model = json.loads((tmp_path / "own-1" / "model" / "model.json").read_text())
    assert model["slope"] == pytest.approx(1.99, abs=0.01)
    assert not (tmp_path / "own-1" / "output").exists()
    code, _, err = trainforge(local_api, "download", "own-1", str(tmp_path / "again"), "--output")
    assert (
        code == 1 and "has no output to download (Completed): it wrote none" in err
    )  # nothing in SM_OUTPUT_DATA_DIR


def test_the_churn_job_downloads_both_archives_unpacked(local_api: str, tmp_path: Path) -> None:
    assert (
        trainforge(local_api, "build", "--source", "examples/churn/code", "--tag", "churn", "--wait")[0] == 0
    )
    code, out, err = trainforge(local_api, "upload", "examples/churn/dataset", "--prefix", "churn-door")
    assert code == 0, out + err
    started = out.splitlines()[-1]
    assert started.startswith("started job ") and "trainforge watch" in started
    job_name = started.split()[3]
    code, out, err = trainforge(local_api, "watch", job_name, "--interval", "0.3")
    assert code == 0, out + err
    code, out, err = trainforge(local_api, "download", job_name, str(tmp_path))
    assert code == 0, err
    assert (tmp_path / "model" / "model.json").is_file()
    assert json.loads((tmp_path / "output" / "evaluation.json").read_text())["validation_accuracy"] > 0.5
    code, out, _ = trainforge(local_api, "upload", "examples/churn/dataset", "--prefix", "churn-door")
    assert code == 0 and "this dataset already trained as job " in out and job_name in out


def test_an_upload_whose_job_is_rejected_says_why_and_exits_1(
    local_api: str, own_image: str, tmp_path: Path
) -> None:
    dataset = tmp_path / "needs-validation"
    shutil.copytree(OWN / "data", dataset)
    (dataset / "trainforge.json").write_text(
        json.dumps({"image_uri": own_image, "channels": [{"name": "validation"}]})
    )
    code, out, _ = trainforge(local_api, "upload", str(dataset))
    assert code == 1
    assert (
        "was Rejected: " in out
        and "channels.validation: the dataset has no files for it (it has train)" in out
    )
    code, out, _ = trainforge(local_api, "list", "--status", "Rejected")
    row = next(line for line in out.splitlines() if line.split()[1].startswith("ds-needs-validation-"))
    assert "invalid job input: channels.validation: the dataset has n..." in row  # the reason, shortened
    (dataset / "trainforge.json").write_text(json.dumps({"job_name": "mine", "image_uri": own_image}))
    code, _, err = trainforge(local_api, "upload", str(dataset))
    assert code == 2 and "job_name: a dataset's job is named for what it holds" in err  # refused, not ignored


def test_a_dry_run_checks_the_image_as_the_job_would_and_refuses_a_taken_name(
    local_api: str, own_image: str, own_dataset: str
) -> None:
    code, out, err = trainforge(local_api, "submit", "--dry-run", "--job-name", "own-dry", "--image", "own",
                                "--dataset", own_dataset)  # fmt: skip
    assert code == 0, out + err
    assert "would be accepted" in out and f"image {own_image}: found" in out
    trainforge(
        local_api, "submit", "--job-name", "own-taken", "--image", "own", "--dataset", own_dataset, "--wait"
    )
    code, out, _ = trainforge(local_api, "submit", "--dry-run", "--job-name", "own-taken", "--image", "own",
                              "--dataset", own_dataset)  # fmt: skip
    assert code == 1 and "would NOT be accepted" in out and "job_name: " in out and "taken" in out
    missing = own_image.rsplit(":", 1)[0] + ":never-built"
    code, out, _ = trainforge(local_api, "-o", "json", "submit", "--dry-run", "--job-name", "own-dry2",
                              "--image", missing, "--dataset", own_dataset)  # fmt: skip
    checked = json.loads(out)
    assert code == 1 and checked["accepted"] is False and checked["image"]["exists"] is False
    code, _, err = trainforge(
        local_api, "submit", "--job-name", "x", "--image", "never-built", "--dataset", "own"
    )
    assert code == 2 and "no successful build of tag 'never-built'" in err
    code, _, err = trainforge(
        local_api, "submit", "--job-name", "x", "--image", "own", "--dataset", "nothing-here"
    )
    assert code == 2 and "no dataset 'nothing-here'" in err and "upload it first" in err


def test_the_tuning_example_runs_and_the_tuning_verbs_find_it_by_name(local_api: str) -> None:
    assert (
        trainforge(local_api, "build", "--source", "examples/churn/code", "--tag", "churn", "--wait")[0] == 0
    )
    assert trainforge(local_api, "upload", "examples/churn/dataset", "--prefix", "churn")[0] == 0
    code, out, err = trainforge(local_api, "tune", "--config", "examples/tuning/tune.yaml", "--wait",
                                "--interval", "0.5")  # fmt: skip
    assert code == 0, out + err
    assert out.startswith("churn-learning-rate (id ") and "Completed 3" in out
    code, out, _ = trainforge(local_api, "tunings")
    assert code == 0 and "churn-learning-rate" in out and out.splitlines()[0].split()[:2] == ["ID", "NAME"]
    code, by_name, _ = trainforge(local_api, "tuning-status", "churn-learning-rate")
    assert code == 0 and by_name.splitlines()[1].startswith("  best: churn-learning-rate-00")
    code, out, _ = trainforge(local_api, "tuning-cancel", "churn-learning-rate")
    assert code == 0 and "already finished" in out
    code, _, err = trainforge(local_api, "tuning-status", "no-such-tuning")
    assert code == 2 and "no tuning job named 'no-such-tuning'" in err


def test_a_trials_image_is_refused_not_ignored(local_api: str, tmp_path: Path) -> None:
    config = tmp_path / "tune.yaml"
    text = (ROOT / "examples" / "tuning" / "tune.yaml").read_text()
    with_image = text.replace(
        "  instance_type: ml.m5.large", "  instance_type: ml.m5.large\n  image_uri: a/b:latest"
    )
    assert with_image != text
    config.write_text(with_image)
    code, _, err = trainforge(local_api, "tune", "--config", str(config))
    assert code == 2 and "training.image_uri: " in err


def test_the_model_of_a_job_downloads_into_the_jobs_name_by_default(
    local_api: str, own_image: str, own_dataset: str, tmp_path: Path
) -> None:
    code, out, err = trainforge(local_api, "submit", "--job-name", "own-default-dir", "--image", "own", "--dataset",
                                own_dataset, "--wait")  # fmt: skip
    assert code == 0, out + err
    code, out, err = trainforge(local_api, "download", "own-default-dir", "--model", cwd=tmp_path)
    assert code == 0, err
    assert (tmp_path / "own-default-dir" / "model" / "model.json").is_file()


def test_the_wheel_installs_into_a_bare_environment_and_its_cli_reaches_local_mode(
    local_api: str, own_image: str, own_dataset: str, tmp_path: Path
) -> None:
    """What a user installs on a laptop: the wheel `make dist` builds, into a new venv that has nothing else, its
    dependencies from the package index as pip resolves them (none of the development set leaks in)."""
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir",
         str(tmp_path / "dist"), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("trainforge-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=120)
    bin_dir = tmp_path / "venv" / "bin"
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-compile", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    installed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "list", "--format", "json"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    names = {p["name"].lower() for p in json.loads(installed)}
    assert {"trainforge", "click", "pyyaml", "botocore"} <= names
    assert not names & {"pydantic", "sqlalchemy", "boto3", "aws-lambda-powertools", "pytest"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bin_dir / "trainforge"), *args], cwd=tmp_path, capture_output=True, text=True, timeout=120,
            env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "TRAINFORGE_API_URL": local_api},
            check=False,
        )  # fmt: skip

    for verb in (
        "submit",
        "status",
        "list",
        "logs",
        "metrics",
        "download",
        "build",
        "upload",
        "tune",
        "usage",
    ):
        helped = run(verb, "--help")
        assert helped.returncode == 0 and "Usage: trainforge" in helped.stdout, (verb, helped.stderr)
    listed = run("-o", "json", "builds", "--tag", "own")
    assert listed.returncode == 0 and own_image in listed.stdout, listed.stdout + listed.stderr
    dry = run("submit", "--config", str(OWN / "job.yaml"), "--image", "own", "--dataset", own_dataset,
              "--job-name", "wheel-dry", "--dry-run")  # fmt: skip
    assert dry.returncode == 0 and "would be accepted" in dry.stdout, dry.stdout + dry.stderr
