"""One door for every change of status: only the statements in ``trainforge/repository/status/`` write the status
of a training job, a tuning job or a build, or a step of a job's status history. Every other module's SQL is read
(its string literals, f-strings included) and held to that."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "trainforge" / "trainforge"
DOOR = PACKAGE / "repository" / "status"
STATUS_TABLES = ("training_jobs", "tuning_jobs", "container_builds")
HISTORY_TABLE = "training_job_status_history"

_INSERT = re.compile(r"\bINSERT\s+INTO\s+(\w+)(?:\s+AS\s+\w+)?\s*\(([^)]*)\)", re.IGNORECASE)
_UPDATE = re.compile(
    r"\bUPDATE\s+(\w+)(?:\s+(?:AS\s+)?(?!SET\b)\w+)?\s+SET\s+(.*?)(?=\bFROM\b|\bWHERE\b|\bRETURNING\b|$)",
    re.IGNORECASE | re.DOTALL,
)
_ASSIGNS_STATUS = re.compile(r"(?:^|,)\s*(?:\w+\.)?(status|status_rank)\s*=", re.IGNORECASE)


def sql_texts(path: Path) -> list[str]:
    """Every string a module holds (an f-string's literal parts joined, its fields as ``{}``)."""
    texts = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            texts.append(
                "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)  # type: ignore[misc]
            )
    return texts


def writes_status(sql: str) -> bool:
    """Whether a statement writes a job's, tuning job's or build's status, or a step of a job's history."""
    for table, columns in _INSERT.findall(sql):
        names = {c.strip().lower() for c in columns.split(",")}
        if table == HISTORY_TABLE or (table in STATUS_TABLES and names & {"status", "status_rank"}):
            return True
    for table, assignments in _UPDATE.findall(sql):
        if table in (*STATUS_TABLES, HISTORY_TABLE) and _ASSIGNS_STATUS.search(" ".join(assignments.split())):
            return True
    return False


def modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts and DOOR not in p.parents]


def test_no_module_but_the_door_writes_a_status() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}: {' '.join(sql.split())[:120]}"
        for path in modules()
        for sql in sql_texts(path)
        if writes_status(sql)
    ]
    assert offenders == []


def test_the_door_holds_the_status_statements() -> None:
    found = {path.stem for path in DOOR.glob("*.py") if any(writes_status(sql) for sql in sql_texts(path))}
    assert found == {"jobs", "queue", "tuning", "builds"}


@pytest.mark.parametrize(
    ("sql", "writes"),
    [
        ("UPDATE training_jobs j SET status = 'Failed', ended_at = now() WHERE j.id = :id", True),
        ("UPDATE training_jobs SET updated_at = now(), status_rank = 3 WHERE id = :id", True),
        ("UPDATE tuning_jobs t SET\n    status = :status WHERE t.name = :name", True),
        ("INSERT INTO training_jobs AS j (job_name, status, status_rank) VALUES (:a, :b, :c)", True),
        ("INSERT INTO container_builds (build_id, status) VALUES (:a, :b)", True),
        ("INSERT INTO training_job_status_history AS h (job_id, status, at) SELECT 1, 'x', now()", True),
        (
            "WITH u AS (UPDATE training_jobs j SET capacity_held = 0, status = 'Pending' FROM t) SELECT 1",
            True,
        ),
        ("UPDATE training_jobs SET log_tail = :lines WHERE id = :id AND status = 'Failed'", False),
        ("SELECT status, status_rank FROM training_jobs WHERE status = 'Pending'", False),
        ("UPDATE teams t SET instances_in_flight = 0 WHERE t.name = :n", False),
        ("INSERT INTO training_jobs (job_name, team) VALUES (:a, :b)", False),
        ("UPDATE training_jobs j SET team_status = 1 WHERE j.id = 1", False),
    ],
)
def test_the_reader_tells_a_status_write_from_a_read(sql: str, writes: bool) -> None:
    assert writes_status(sql) is writes
