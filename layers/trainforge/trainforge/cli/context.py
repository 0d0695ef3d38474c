"""What every command shares: the API client (built on first use) and how to print (a table or JSON)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from trainforge.cli.client import TrainforgeClient


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
