from __future__ import annotations

import io
import urllib.error
from email.message import Message

import pytest

from trainforge.cli.client import ApiError, TrainforgeClient, _api_error


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


API = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"


def test_requests_to_a_deployed_api_are_signed_for_execute_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    headers = TrainforgeClient(API)._sign("GET", f"{API}/jobs", {"Accept": "application/json"}, None)
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]
    assert "X-Amz-Date" in headers


def test_no_credentials_is_a_clear_error_for_a_deployed_api(no_credentials: None) -> None:
    with pytest.raises(ApiError) as caught:
        TrainforgeClient(API)._sign("GET", f"{API}/jobs", {}, None)
    assert caught.value.code == "no_credentials" and "aws configure" in caught.value.message


def test_local_mode_needs_no_credentials(no_credentials: None) -> None:
    assert TrainforgeClient("http://127.0.0.1:8080")._sign(
        "GET", "http://127.0.0.1:8080/jobs", {"A": "b"}, None
    ) == {"A": "b"}


@pytest.mark.parametrize("url", ["", "ftp://host/api", "not a url"])
def test_a_wrong_api_url_is_refused_before_any_request(url: str) -> None:
    with pytest.raises(ApiError) as caught:
        TrainforgeClient(url)
    assert caught.value.code in ("no_api_url", "bad_api_url")


def test_a_bare_403_explains_itself() -> None:
    error = urllib.error.HTTPError(
        f"{API}/jobs", 403, "Forbidden", Message(), io.BytesIO(b'{"message":"Forbidden"}')
    )
    mapped = _api_error(error)
    assert mapped.status == 403 and "execute-api:Invoke" in mapped.message
