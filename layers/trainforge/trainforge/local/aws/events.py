"""Local stand-ins publish the events AWS services would, onto the (emulated) EventBridge bus, so the same
rules route them to the same handlers."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from trainforge.aws import client
from trainforge.settings import Settings


def aws_event(
    settings: Settings, *, source: str, detail_type: str, resource: str, detail: dict[str, Any]
) -> dict[str, Any]:
    """An event in EventBridge's envelope, as an AWS service would deliver it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": settings.account_id,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": settings.region,
        "resources": [resource],
        "detail": detail,
    }


def eventbridge_sink(settings: Settings) -> Callable[[dict[str, Any]], None]:
    def publish(event: dict[str, Any]) -> None:
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"], default=str),
            "Resources": event.get("resources", []),
            "EventBusName": settings.event_bus_name,
        }
        response = client("events", settings.region).put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused a local event: {response['Entries'][0]}")

    return publish
