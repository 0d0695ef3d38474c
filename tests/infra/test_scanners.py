"""The security scanners on the synthesized dev and prod templates, with nothing unexplained: checkov 3.3.30 (its
skips read from the template, each with its comment) and cfn-guard with AWS Control Tower's proactive rules (a
failing rule passes only where the resource's ``Metadata.reviews`` gives the reason). Both are installed by
`make scanners`, which `make test` runs (stacks/scanner_reviews.py holds the reviews)."""

from __future__ import annotations

import json
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-scanners" / "bin" / "checkov"
GUARD_PACKAGE = ROOT / "node_modules" / "@cdklabs" / "cdk-validator-cfnguard"
GUARD = GUARD_PACKAGE / "bin" / "ubuntu" / platform.machine() / "cfn-guard"
RULES = GUARD_PACKAGE / "rules" / "control-tower" / "cfn-guard"


def template_file(outdir: str) -> Path:
    (found,) = Path(outdir).glob("Trainforge-*.template.json")
    return found


def installed(tool: Path) -> Path:
    if not tool.is_file():
        pytest.fail(f"{tool} is missing: `make scanners` installs checkov and cfn-guard")
    return tool


def checkov(template: Path) -> dict[str, Any]:
    done = subprocess.run([str(installed(CHECKOV)), "-f", str(template), "--framework", "cloudformation", "-o",
                           "json"], capture_output=True, text=True, check=False)  # fmt: skip
    report = json.loads(done.stdout)
    return dict(report[0] if isinstance(report, list) else report)


def guard_failures(template: Path) -> dict[str, set[str]]:
    """Each failing rule and the resources it failed on."""
    done = subprocess.run([str(installed(GUARD)), "validate", "--rules", str(RULES), "--data", str(template),
                           "--output-format", "json", "--show-summary", "none"], capture_output=True, text=True,
                          check=False)  # fmt: skip
    decoder, text, at, failing = json.JSONDecoder(), done.stdout, 0, {}
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        report, at = decoder.raw_decode(text, at)
        for failure in report.get("not_compliant", []):
            rule = failure["Rule"]["name"]
            failing.setdefault(rule, set()).update(
                re.findall(r'"/Resources/([A-Za-z0-9]+)', json.dumps(failure))
            )
    assert failing or '"status": "PASS"' in text, done.stderr[-2000:]
    return failing


@pytest.fixture(params=["dev", "prod"])
def stage(
    request: pytest.FixtureRequest, synthesized: tuple[Any, Any, str], prod: tuple[Any, Any, str]
) -> tuple[str, Path]:
    outdir = synthesized[2] if request.param == "dev" else prod[2]
    return request.param, template_file(outdir)


def test_checkov_finds_nothing_unexplained(stage: tuple[str, Path]) -> None:
    name, template = stage
    report = checkov(template)
    failed = [(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]]
    assert failed == [], f"{name}: fix these, or review them with a reason in stacks/scanner_reviews.py"
    skipped = report["results"]["skipped_checks"]
    assert skipped, "no skip was read: the reviews are not in the template"
    for skip in skipped:
        assert len(skip["check_result"].get("suppress_comment", "")) > 40, (
            name,
            skip["check_id"],
            skip["resource"],
        )
    assert report["summary"]["passed"] > 300


def test_control_towers_rules_find_nothing_unexplained(stage: tuple[str, Path]) -> None:
    name, template = stage
    resources = json.loads(template.read_text())["Resources"]
    unexplained = []
    for rule, failed_on in sorted(guard_failures(template).items()):
        for logical_id in sorted(failed_on):
            reason = resources.get(logical_id, {}).get("Metadata", {}).get("reviews", {}).get(rule, "")
            if len(reason) <= 40:
                unexplained.append(f"{rule} on {logical_id}")
    assert unexplained == [], f"{name}: fix these, or review them with a reason in stacks/scanner_reviews.py"
