"""An independent fuzzer against the API over HTTP in local mode: schemathesis, driven only by /openapi.json,
every operation and every phase (examples, coverage, fuzzing, stateful). It owes nothing to Trainforge's own
models, so it tries what they would never generate.

Checks: no server error, only documented status codes, the documented content type, responses that match their
schema. Derandomised and bounded for CI (a fixed seed, SCHEMATHESIS_EXAMPLES per operation); explore further
locally with, for instance, ``SCHEMATHESIS_EXAMPLES=500 SCHEMATHESIS_SEED=7 pytest tests/e2e -k schemathesis``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"  # kept current by test_api
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def schemathesis_command() -> list[str]:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("schemathesis is not installed: it is pinned in requirements-dev.txt (make install)")
    return [found]


def test_an_independent_fuzzer_finds_no_server_error_and_nothing_undocumented(
    local_api: str, tmp_path: Path
) -> None:
    examples = os.environ.get("SCHEMATHESIS_EXAMPLES", "12")
    seed = os.environ.get("SCHEMATHESIS_SEED", "20261129")
    result = subprocess.run(
        [
            *schemathesis_command(), "run", f"{local_api}/openapi.json", "--checks", CHECKS,
            "--max-examples", examples, "--seed", seed, "--workers", "1", "--no-color",
            "--request-timeout", "30", "--generation-database", "none",
            "--report", "junit", "--report-dir", str(tmp_path),
        ],
        capture_output=True, text=True, timeout=480, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    summary = re.search(r"Selected: (\d+)/(\d+).*?(\d+) generated", output, re.S)
    print(output[-3000:])  # the numbers for the record, shown with -s or on failure
    assert result.returncode == 0, output[-20000:]
    assert summary is not None, output[-3000:]
    selected, total, generated = (int(g) for g in summary.groups())
    operations = sum(
        method in {"get", "put", "post", "delete", "patch"}
        for path in json.loads(DOCUMENT.read_text())["paths"].values()
        for method in path
    )
    assert selected == total == operations  # every operation in the document was exercised
    assert generated >= 11 * int(examples) // 2
