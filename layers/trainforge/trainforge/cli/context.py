"""What every command shares: the API client (built on first use), how to print (a table or JSON), the exit
codes, and reading a job or tuning job's settings from a file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from trainforge.cli.client import TrainforgeClient

EXIT_FAILED, EXIT_USAGE, EXIT_API = 1, 2, 3


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


def load_config(path: Path) -> dict[str, Any]:
    text = path.read_text()
    if path.suffix.lower() in (".yaml", ".yml"):
        # PyYAML only for a .yaml file
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise click.UsageError(f"{path} must hold an object of job settings")
    return data
