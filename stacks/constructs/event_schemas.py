"""Trainforge's own events, registered: an EventBridge schema registry holding each event's JSON Schema as
docs/events/ documents it (generated from trainforge.models.api.events), so consumers find them in the console
and generate code bindings from them."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_eventschemas as eventschemas
from constructs import Construct

EVENTS = Path(__file__).resolve().parents[2] / "docs" / "events"


class TrainforgeEventSchemas(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, registry_name: str) -> None:
        super().__init__(scope, construct_id)
        self.registry = eventschemas.CfnRegistry(
            self,
            "Registry",
            registry_name=registry_name,
            description="Trainforge's own events (source trainforge)",
        )
        self.schemas = []
        for path in sorted(EVENTS.glob("*.json")):
            name = path.name.removesuffix(".json")  # trainforge-job-state-change.v1
            schema = eventschemas.CfnSchema(
                self, name.replace(".", "-"), registry_name=registry_name, type="JSONSchemaDraft4",
                schema_name=f"trainforge@{name}", content=path.read_text(), description=f"docs/events/{path.name}",
            )  # fmt: skip
            schema.add_dependency(self.registry)
            self.schemas.append(schema)
