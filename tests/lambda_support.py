"""Invoking the handlers as Lambda does: environment first, then the module's import (its cold start), then
calls with AWS-shaped events and a Lambda context."""

from __future__ import annotations

import base64
import importlib
import json
import os
import sys
import uuid
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

from local_mode.router import LambdaContext
from trainforge.local.aws.emulator import environment

__all__ = ["api_request", "environment", "invoke", "load_handler", "sqs_batch"]


def load_handler(name: str) -> ModuleType:
    """Import ``lambdas.<name>.handler`` afresh, so its module scope reads the current environment."""
    module_name = f"lambdas.{name}.handler"
    sys.modules.pop(module_name, None)
    return importlib.import_module(module_name)


# (method, path, status) of every API Gateway request the tests make: checked against the OpenAPI document when
# the session ends (tests/conftest.py), so an answer the document does not promise fails the run.
OBSERVED_API_STATUSES: set[tuple[str, str, int]] = set()


def invoke(module: ModuleType, event: dict[str, Any]) -> Any:
    method, path = event.get("httpMethod"), event.get("path")
    response = module.handler(
        event, LambdaContext(function_name="trainforge-test", aws_request_id=str(uuid.uuid4()))
    )
    if isinstance(method, str) and isinstance(path, str) and isinstance(response, dict):
        OBSERVED_API_STATUSES.add((method.upper(), path, int(response["statusCode"])))
    return response


def sqs_batch(*events: dict[str, Any], raw_bodies: tuple[str, ...] = ()) -> dict[str, Any]:
    """An SQS batch as Lambda delivers it, each body an EventBridge event (or a raw body, for poison tests)."""
    bodies = [json.dumps(e) for e in events] + list(raw_bodies)
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "AQEB" + base64.b64encode(os.urandom(24)).decode(),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795867200000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795867200001",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:trainforge-events",
                "awsRegion": "us-east-1",
            }
            for body in bodies
        ]
    }


def api_request(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    principal: str | None = "arn:aws:iam::123456789012:user/ml-engineer",
    raw_body: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, with the SigV4 caller in requestContext.identity."""
    all_headers = {"Content-Type": "application/json", "Host": "abc123.execute-api.us-east-1.amazonaws.com"}
    all_headers.update(headers or {})
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    identity: dict[str, Any] = {
        "sourceIp": "203.0.113.7",
        "userAgent": "trainforge-tests",
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "user": None,
        "userArn": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
    }
    if principal:
        identity.update(
            {
                "accessKey": "ASIAEXAMPLE",
                "accountId": "123456789012",
                "caller": "AIDAEXAMPLE",
                "user": "AIDAEXAMPLE",
                "userArn": principal,
            }
        )
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "accountId": "123456789012",
            "apiId": "abc123",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": 1795867200000,
            "identity": identity,
        },
        "body": text,
        "isBase64Encoded": False,
    }


def query_string(params: dict[str, str]) -> str:
    return urlencode(params)
