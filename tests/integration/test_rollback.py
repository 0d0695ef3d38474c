"""A deploy that rolls back after migrating: the previous release's code runs on the newer schema.

"The previous release" is taken from git history: the tree just before the newest migration landed, the code a
rollback of that migration would return to. Its handlers (its own trainforge, lambdas and tests/lambda_support)
run in a process of their own, against a database this tree migrated to head: a team, a submission, SageMaker's
Completed event with its report, the status, the list and the usage all answer as they did. This tree then reads
what the old code wrote. And this tree's migration leaves alone a database a newer release migrated further,
where Alembic would fail CloudFormation's rollback with "Can't locate revision"."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.lambda_support import api_request, invoke
from trainforge.schema import upgrade_to_head

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ROOT / "layers" / "trainforge" / "trainforge" / "migrations" / "versions"


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr} (the rollback test needs the history)"
    return done.stdout.strip()


def newest_migration() -> Path:
    return max(p for p in VERSIONS.glob("[0-9]*.py"))


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if git("rev-parse", "--is-shallow-repository") == "true":  # a shallow clone: the history from its origin
        git("fetch", "--quiet", "--unshallow")
    migration = newest_migration().relative_to(ROOT).as_posix()
    added = git("log", "--diff-filter=A", "--format=%H", "--", migration).splitlines()[-1]
    tree = tmp_path_factory.mktemp("previous-release")
    archive = subprocess.run(["git", "archive", f"{added}^", "layers", "lambdas", "local_mode", "tests"],
                             cwd=ROOT, capture_output=True, check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    assert not (tree / migration).exists(), "the previous release already had the newest migration"
    shutil.copy(Path(__file__).parent / "rollback" / "old_release_driver.py", tree / "old_release_driver.py")
    return tree


def test_the_previous_release_runs_on_the_newer_schema(
    previous_release: Path, scratch_database_url: str, handler_env: dict[str, str], handlers: Any
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": f"{previous_release}{os.pathsep}{previous_release / 'layers' / 'trainforge'}",
    }
    done = subprocess.run([sys.executable, "old_release_driver.py"], cwd=previous_release, env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    for name, answer in answers.items():
        assert answer["status"] < 300, (name, answer)
    assert answers["state change"]["body"] == {"batchItemFailures": []}
    status = answers["status"]["body"]
    assert status["status"] == "Completed" and status["report"]["billable_seconds"] == 400
    assert [j["job_name"] for j in answers["list"]["body"]["jobs"]] == ["rollback-1"]
    assert answers["usage"]["body"]["spent_usd"] > 0

    # rolled forward again: this release reads what the previous one wrote
    response = invoke(handlers("api"), api_request("GET", f"/jobs/{status['id']}"))
    assert response["statusCode"] == 200
    assert {k: v for k, v in json.loads(response["body"]).items() if k in status} == status


def test_a_database_a_newer_release_migrated_is_left_as_it_is(scratch_database_url: str) -> None:
    engine = create_engine(scratch_database_url)
    with engine.begin() as connection:  # as a later release's migration would leave it
        connection.execute(text("ALTER TABLE training_jobs ADD COLUMN later_release_note text"))
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_a_later_release'"))
    assert upgrade_to_head(engine) == "0099_a_later_release"  # no "Can't locate revision": nothing to do
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            == "0099_a_later_release"
        )
    engine.dispose()
