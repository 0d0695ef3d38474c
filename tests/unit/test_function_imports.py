"""An import inside a function is allowed only where cold start (or start-up) needs it, each with a short comment
saying why: the import-linter contracts do not see these, so this test holds them to an allow-list. A comment on
the import's line, or on the line above a run of imports, counts."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (ROOT / "layers" / "trainforge" / "trainforge", ROOT / "lambdas", ROOT / "local_mode")

# Where a module is imported inside a function, and what: every entry a deferral that saves a cold start (or a
# local tool's start) what only some calls need.
ALLOWED: dict[str, set[str]] = {
    "lambdas/api/openapi.py": {"lambdas.api.handler", "trainforge.api.app"},
    "lambdas/training_state/handler.py": {
        "trainforge.aws", "trainforge.capacity.admission", "trainforge.submissions.worker",
        "trainforge.tracking.logs", "trainforge.tracking.spend", "trainforge.tuning.jobs",
    },
    "layers/trainforge/trainforge/account/health.py": {"trainforge.db"},
    "layers/trainforge/trainforge/api/app.py": {
        "aws_lambda_powertools.event_handler", "aws_lambda_powertools.event_handler.openapi.swagger_ui",
    },
    "layers/trainforge/trainforge/api/routes/builds.py": {"trainforge.builds.records"},
    "layers/trainforge/trainforge/api/routes/datasets.py": {
        "trainforge.datasets.inputs", "trainforge.datasets.preparation", "trainforge.datasets.uploads",
    },
    "layers/trainforge/trainforge/api/routes/job_activity.py": {
        "trainforge.aws", "trainforge.tracking.artifacts", "trainforge.tracking.logs", "trainforge.tracking.metrics",
    },
    "layers/trainforge/trainforge/api/routes/jobs.py": {
        "trainforge.aws", "trainforge.job_settings.training_config", "trainforge.jobs.dry_run",
        "trainforge.jobs.records", "trainforge.jobs.warm_pools", "trainforge.s3_locations",
        "trainforge.submissions.worker",
    },
    "layers/trainforge/trainforge/api/routes/tuning.py": {
        "trainforge.s3_locations", "trainforge.submissions.worker", "trainforge.tuning.config",
        "trainforge.tuning.jobs",
    },
    "layers/trainforge/trainforge/cli/charts.py": {"matplotlib"},
    "layers/trainforge/trainforge/cli/client.py": {"botocore.auth", "botocore.awsrequest", "botocore.session"},
    "layers/trainforge/trainforge/cli/context.py": {"yaml"},
    "layers/trainforge/trainforge/cli/jobs.py": {"trainforge.cli.charts"},
    "layers/trainforge/trainforge/cli/usage_chart.py": {"matplotlib"},
    "layers/trainforge/trainforge/connection.py": {
        "pg8000.converters", "pg8000.core", "pg8000.exceptions", "pg8000.native", "trainforge.aws",
    },
    "layers/trainforge/trainforge/datasets/uploads.py": {"boto3.s3.transfer"},
    "layers/trainforge/trainforge/tracking/metrics.py": {"trainforge.tracking.logs"},
    "layers/trainforge/trainforge/local/aws/emulator.py": {
        "moto.moto_server.werkzeug_app", "trainforge.aws", "trainforge.local.aws.state", "werkzeug.serving",
    },
    "layers/trainforge/trainforge/local/aws/state.py": {"moto", "moto.backends", "moto.core.base_backend"},
    "layers/trainforge/trainforge/local/postgres.py": {"pgserver"},
    "layers/trainforge/trainforge/migrations/env.py": {"trainforge.db", "trainforge.settings"},
    "layers/trainforge/trainforge/runtime.py": {
        "snapshot_restore_py", "trainforge.aws", "trainforge.connection", "trainforge.db",
        "trainforge.local.aws.codebuild", "trainforge.local.sagemaker.runner",
        "trainforge.notifications.relay", "trainforge.services.sagemaker_training_service",
    },
    "layers/trainforge/trainforge/schema.py": {
        "alembic", "alembic.config", "alembic.runtime.migration", "alembic.script", "trainforge.db",
    },
    "layers/trainforge/trainforge/services/sagemaker_training_service.py": {"trainforge.db", "trainforge.tuning.jobs"},
    "local_mode/housekeeping.py": {"trainforge.ledger"},
    "layers/trainforge/trainforge/__init__.py": {"trainforge"},
    "layers/trainforge/trainforge/client/jobs.py": {"botocore.exceptions", "botocore.session", "pandas"},
}  # fmt: skip


def function_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import inside a function of ``path``."""
    found = []
    for function in ast.walk(ast.parse(path.read_text())):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and node.module:
                    found.append((node.lineno, node.module))
                elif isinstance(node, ast.Import):
                    found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def explained(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or above the run of imports (and blank lines) it belongs to."""
    index = lineno - 1
    if "#" in lines[index]:
        return True
    index -= 1
    while (
        index >= 0 and lines[index].strip().startswith(("from ", "import ", ")", "")) and lines[index].strip()
    ):
        if "#" in lines[index]:
            return True
        index -= 1
    return index >= 0 and lines[index].strip().startswith("#")


def every_function_import() -> dict[str, list[tuple[int, str]]]:
    found: dict[str, list[tuple[int, str]]] = {}
    for source in SOURCES:
        for path in sorted(source.rglob("*.py")):
            imports = function_imports(path)
            if imports:
                found[str(path.relative_to(ROOT))] = imports
    return found


def test_every_import_inside_a_function_is_allowed() -> None:
    extra = {
        f"{path}:{line} {module}"
        for path, imports in every_function_import().items()
        for line, module in imports
        if module not in ALLOWED.get(path, set())
    }
    assert extra == set(), "move these to the module's top, or allow them here, saying why in a comment"


def test_every_allowed_import_is_still_there() -> None:
    found = {(path, module) for path, imports in every_function_import().items() for _, module in imports}
    stale = {(path, module) for path, modules in ALLOWED.items() for module in modules} - found
    assert stale == set()


def test_every_import_inside_a_function_says_why() -> None:
    silent = []
    for path, imports in every_function_import().items():
        lines = (ROOT / path).read_text().splitlines()
        silent += [f"{path}:{line} {module}" for line, module in imports if not explained(lines, line)]
    assert silent == []
