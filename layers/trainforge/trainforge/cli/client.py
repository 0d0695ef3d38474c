"""Talking to a Trainforge API: JSON over HTTPS, signed with SigV4 from the user's AWS credentials (API Gateway's
IAM authorization); unsigned to local mode when no credentials are configured."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class ApiError(Exception):
    """The API answered with an error, or could not be reached; ``status`` is 0 for the latter. ``problems``:
    every problem the API listed, each with its field and its rule."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        problems: list[dict[str, str]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.problems = problems or []
        self.retry_after = retry_after  # seconds, when a 503 said when to try again


class TrainforgeClient:
    def __init__(
        self,
        api_url: str,
        *,
        region: str | None = None,
        profile: str | None = None,
        principal: str | None = None,
    ) -> None:
        if not api_url:
            raise ApiError(
                0,
                "no_api_url",
                "no API URL: pass --api-url or set TRAINFORGE_API_URL (the stack's ApiUrl output), or start local "
                "mode (make local) in this folder or one above it",
            )
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ApiError(0, "bad_api_url", f"{api_url!r} is not an http(s) URL")
        self.api_url = api_url.rstrip("/")
        self.local = (parts.hostname or "") in LOCAL_HOSTS
        self.region = region
        self.profile = profile
        self._credentials: Any = None
        self.last_status = 0  # the status of the last answer (202: recorded now, 200: the same request again)
        if principal and not self.local:
            raise ApiError(
                0,
                "bad_option",
                "--principal works only against local mode: deployed, sign as the principal (--profile)",
            )
        # Local mode honours this header as the caller's identity; a deployed API ignores it.
        self.principal_headers = {"X-Trainforge-Principal": principal} if principal else {}

    def _sign(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        # SigV4 only against a deployed API (local mode needs no signing)
        import botocore.session
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        # One session and its credentials for the client's life: a role's or SSO's credentials refresh themselves,
        # and a follow loop or the console's polling does not resolve the chain (or assume the role) per request.
        if self._credentials is None:
            session = botocore.session.Session(profile=self.profile)
            self._credentials = (session, session.get_credentials())
        session, credentials = self._credentials
        if credentials is None:
            if self.local:
                return headers
            raise ApiError(
                0,
                "no_credentials",
                "no AWS credentials: run `aws configure`, set AWS_PROFILE, or export AWS_ACCESS_KEY_ID",
            )
        # The API's own host names its region; the profile's region is only a fallback (custom domains).
        region = self.region or _region_from(url) or session.get_config_variable("region") or "us-east-1"
        request = AWSRequest(method=method, url=url, data=body, headers=headers)
        SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
        return dict(request.headers.items())

    def request(self, method: str, path: str, body: Any = None, *, query: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None) -> Any:  # fmt: skip
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = f"{self.api_url}{path}" + (f"?{urlencode(params)}" if params else "")
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json", "Accept": "application/json", **self.principal_headers,
                       **(headers or {})}  # fmt: skip
        signed = self._sign(method, url, all_headers, data)
        request = urllib.request.Request(url, data=data, method=method, headers=signed)  # noqa: S310 - http(s) checked above
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                self.last_status = response.status
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise _api_error(error) from None
        except urllib.error.URLError as error:
            raise ApiError(
                0, "unreachable", f"cannot reach {self.api_url}: {error.reason}; check --api-url"
            ) from None

    def forward(self, method: str, path: str, body: bytes | None) -> tuple[int, str, bytes]:
        """A request passed through as it is (``path`` with its query), signed as :meth:`request` signs: the
        answer's status, content type and bytes, errors included (`trainforge console`'s proxy)."""
        url = f"{self.api_url}{path}"
        headers = {"Accept": "application/json", **self.principal_headers}
        if body:
            headers["Content-Type"] = "application/json"
        signed = self._sign(method, url, headers, body or None)
        request = urllib.request.Request(url, data=body or None, method=method, headers=signed)  # noqa: S310 - http(s) checked in __init__
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return (
                    response.status,
                    response.headers.get("Content-Type", "application/json"),
                    response.read(),
                )
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", "application/json"), error.read()
        except urllib.error.URLError as error:
            raise ApiError(0, "unreachable", f"cannot reach {self.api_url}: {error.reason}") from None

    def download(self, url: str, target: Any, chunk: int = 1 << 20) -> int:
        """A presigned S3 GET into the open binary file ``target``; the bytes written."""
        request = urllib.request.Request(url, method="GET")  # noqa: S310 - a presigned https (or local) URL
        written = 0
        try:
            with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
                while data := response.read(chunk):
                    target.write(data)
                    written += len(data)
        except urllib.error.HTTPError as error:
            raise ApiError(
                error.code, "download_refused", f"S3 refused the download: {error.reason}"
            ) from None
        except urllib.error.URLError as error:
            raise ApiError(0, "unreachable", f"cannot reach S3: {error.reason}") from None
        return written

    def put(self, url: str, data: bytes, headers: Mapping[str, str]) -> None:
        """A presigned S3 PUT (already authorized by its URL)."""
        # urllib's default content type is a form: say what the bytes are.
        all_headers = {"Content-Type": "application/octet-stream", **headers}
        request = urllib.request.Request(url, data=data, method="PUT", headers=all_headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=300):  # noqa: S310
                return
        except urllib.error.HTTPError as error:
            raise ApiError(
                error.code, "upload_refused", f"S3 refused the upload: {error.read()[:300]!r}"
            ) from None
        except urllib.error.URLError as error:
            raise ApiError(0, "unreachable", f"cannot reach S3: {error.reason}") from None


def _region_from(url: str) -> str | None:
    host = urlsplit(url).hostname or ""
    parts = host.split(".")
    return parts[2] if len(parts) > 3 and parts[1] == "execute-api" else None


def _api_error(error: urllib.error.HTTPError) -> ApiError:
    raw = error.read()
    try:
        detail = json.loads(raw).get("error", {})
    except (ValueError, AttributeError):
        detail = {}
    if error.code == 403 and not detail:
        return ApiError(403, "forbidden", "403 Forbidden: your credentials may not call this API (execute-api:Invoke) "
                        "or the request was not signed for its region")  # fmt: skip
    problems = detail.get("problems")
    retry_after = (error.headers.get("Retry-After") or "").strip()
    return ApiError(
        error.code,
        str(detail.get("code") or error.reason),
        str(detail.get("message") or raw[:300].decode(errors="replace") or error.reason),
        detail.get("field"),
        [p for p in problems if isinstance(p, dict)] if isinstance(problems, list) else None,
        float(retry_after) if retry_after.isdigit() else None,
    )
