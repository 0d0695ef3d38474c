"""The restore drill: a ledger made through the API and SageMaker's events is exported, the schema dropped, the
archive imported into the empty database, and the API answers every read the same; new rows number on from the
old ones, the outbox's triggers do not fire again, and an import refuses a ledger that is not empty or an archive
of another schema."""

from __future__ import annotations

import copy
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import load_event
from tests.lambda_support import api_request, invoke, sqs_batch
from trainforge.ledger import LedgerError, export_ledger, import_ledger, main

VISION = "arn:aws:sts::123456789012:assumed-role/vision-engineers/alice"
NLP = "arn:aws:sts::123456789012:assumed-role/nlp-engineers/bob"


def job(team: str, name: str) -> dict[str, Any]:
    return {"job_name": name, "dataset_uri": f"s3://trainforge-datasets/datasets/{team}/d/",
            "instance_type": "ml.m5.xlarge", "max_runtime_seconds": 3600}  # fmt: skip


def completed(name: str, modified: int) -> dict[str, Any]:
    event = copy.deepcopy(load_event("sagemaker_training_completed.json"))
    event["detail"].update({"TrainingJobName": name, "LastModifiedTime": modified,
                            "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"})  # fmt: skip
    return event


def reads(api: Any, job_ids: list[int]) -> dict[str, Any]:
    """Every read the API offers on this ledger, as an administrator and as a member."""
    paths = ["/jobs", "/teams", "/teams/vision/usage", "/teams/nlp/usage", "/builds", "/tuning-jobs", "/pools",
             *(f"/jobs/{job_id}" for job_id in job_ids)]  # fmt: skip
    found = {path: api("GET", path) for path in paths}
    found["/jobs as vision"] = api("GET", "/jobs", principal=VISION)
    return found


def outbox_rows(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = int(connection.execute(text("SELECT count(*) FROM event_outbox")).scalar_one())
    engine.dispose()
    return count


def test_dump_drop_restore_and_the_api_answers_the_same(
    handlers: Any, scratch_database_url: str, tmp_path: Path
) -> None:
    module = handlers("api")

    def api(
        method: str,
        path: str,
        body: Any = None,
        principal: str = "arn:aws:iam::123456789012:user/ml-engineer",
    ) -> Any:
        response = invoke(module, api_request(method, path, body, principal=principal))
        assert response["statusCode"] < 300, (method, path, response["body"])
        return json.loads(response["body"])

    for team, role in (("vision", "vision-engineers"), ("nlp", "nlp-engineers")):
        api("PUT", f"/teams/{team}", {"members": [f"arn:aws:iam::123456789012:role/{role}"],
                                      "monthly_budget_usd": 100})  # fmt: skip
    ids = [api("POST", "/jobs", job("vision", "vision-1"), VISION)["id"],
           api("POST", "/jobs", job("vision", "vision-2"), VISION)["id"],
           api("POST", "/jobs", job("nlp", "nlp-1"), NLP)["id"]]  # fmt: skip
    api("POST", "/builds", {"base_image": "python:3.12-slim", "tag": "drill"})
    state = handlers("training_state")
    assert invoke(state, sqs_batch(completed("vision-1", 1795867400000))) == {"batchItemFailures": []}
    before = reads(api, ids)
    assert before[f"/jobs/{ids[0]}"]["status"] == "Completed" and before[f"/jobs/{ids[0]}"]["report"]
    assert len(before["/jobs as vision"]["jobs"]) == 2
    outbox = outbox_rows(scratch_database_url)

    engine = create_engine(scratch_database_url)
    archive = export_ledger(engine, tmp_path / "ledger.tar.gz")
    assert archive.rows["training_jobs"] == 3 and archive.rows["teams"] == 2
    with engine.begin() as connection:  # the drill's disaster: the whole schema gone
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    module.RUNTIME.close()
    restored = import_ledger(engine, tmp_path / "ledger.tar.gz")
    assert restored.rows == archive.rows

    assert reads(api, ids) == before
    assert (
        outbox_rows(scratch_database_url) == outbox
    )  # the outbox's triggers did not fire for the imported rows
    newest = api("POST", "/jobs", job("nlp", "nlp-2"), NLP)["id"]
    assert newest == max(ids) + 1  # the sequences number on from the imported rows

    with pytest.raises(LedgerError, match="not empty"):
        import_ledger(engine, tmp_path / "ledger.tar.gz")
    engine.dispose()


def test_an_archive_of_another_schema_revision_is_refused_with_what_to_do(
    scratch_database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(scratch_database_url)
    path = tmp_path / "ledger.tar.gz"
    export_ledger(engine, path)
    older = tmp_path / "older.tar.gz"
    with tarfile.open(path) as source, tarfile.open(older, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member)
            assert data is not None
            content = data.read()
            if member.name == "manifest.json":
                manifest = json.loads(content)
                manifest["revision"] = "0011_prices_say_where_they_came_from"
                content = json.dumps(manifest).encode()
                member.size = len(content)
            import io

            target.addfile(member, io.BytesIO(content))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    with pytest.raises(LedgerError, match="import it with the Trainforge that exported it"):
        import_ledger(engine, older)
    engine.dispose()
    # the command says so too, and exits 2
    assert main(["import", str(older), "--database-url", scratch_database_url]) == 2
    assert main(["import", str(path), "--database-url", scratch_database_url]) == 0


def test_make_backup_and_make_restore_go_through_local_modes_database(
    scratch_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local_mode.housekeeping import backup, restore
    from trainforge.connection import ConnectionParameters, NativeDatabase
    from trainforge.teams.management import save_team

    database = NativeDatabase(lambda: ConnectionParameters.from_url(scratch_database_url))
    save_team(database, "vision", {"members": ["arn:aws:iam::123456789012:role/vision-engineers"]})
    database.commit()
    database.close()
    said: list[str] = []
    monkeypatch.chdir(tmp_path)  # backups/ is made where make runs
    assert backup(tmp_path / ".local", None, said.append) == 0
    (archive,) = (tmp_path / "backups").glob("ledger-*.tar.gz")
    assert (
        said[-1].startswith("ledger backed up: 1 rows")
        and f"make restore FILE=backups/{archive.name}" in said[-1]
    )
    assert restore(tmp_path / ".local", archive, said.append) == 2  # the ledger here is not empty
    assert "not empty" in said[-1] and "`make reset` empties it" in said[-1]
    engine = create_engine(scratch_database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    assert restore(tmp_path / ".local", archive, said.append) == 0, said
    assert restore(tmp_path / ".local", tmp_path / "nothing.tar.gz", said.append) == 2
    assert said[-1] == f"restore refused: no archive {tmp_path / 'nothing.tar.gz'}"
