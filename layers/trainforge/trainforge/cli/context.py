"""What every command shares: the API client (built on first use), how to print (a table or JSON), the exit
codes, errors as the user reads them, and reading a job or tuning job's settings from a file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from trainforge.cli.client import TrainforgeClient

EXIT_FAILED, EXIT_USAGE, EXIT_API = 1, 2, 3


class CliError(Exception):
    """A refusal of the command's own (a file that does not parse, a job that ended badly): what and why, each
    problem with its field, and the exit code scripts rely on."""

    def __init__(
        self,
        message: str,
        *,
        exit_code: int = EXIT_USAGE,
        code: str = "invalid_input",
        problems: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.exit_code, self.code, self.problems = message, exit_code, code, problems or []


class Context:
    def __init__(
        self, api_url: str, region: str | None, profile: str | None, output: str, principal: str | None
    ):
        self.api_url, self.region, self.profile, self.output, self.principal = (
            api_url,
            region,
            profile,
            output,
            principal,
        )
        self._client: TrainforgeClient | None = None

    @property
    def client(self) -> TrainforgeClient:
        if self._client is None:
            self._client = TrainforgeClient(self.api_url, region=self.region, profile=self.profile,
                                            principal=self.principal)  # fmt: skip
        return self._client

    @property
    def json(self) -> bool:
        return self.output == "json"

    def emit(self, data: Any, human: Callable[[], None]) -> None:
        if self.json:
            click.echo(json.dumps(data, indent=2, default=str))
        else:
            human()


pass_context = click.make_pass_decorator(Context)


def load_config(path: Path) -> dict[str, Any]:
    """A job's or tuning job's settings from YAML or JSON; a file that does not parse is a :class:`CliError`
    naming its line and column."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        # PyYAML only for a .yaml file
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise CliError(f"{path} is not valid YAML{where}: {problem}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CliError(
                f"{path} is not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
    if not isinstance(data, dict):
        raise CliError(f"{path} must hold an object of settings (name: value), not {type(data).__name__}")
    return data
