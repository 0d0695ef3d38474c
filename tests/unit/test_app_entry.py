"""`python app.py`: context from `-c key=value`, as the CDK CLI takes it, and a synthesis that fails on a cdk-nag
finding no reviewed suppression covers (cdk-nag records findings in its report; synthesis alone passes)."""

from __future__ import annotations

from pathlib import Path

from app import context_from_arguments, unsuppressed_nag_findings

HEADER = '"Rule ID","Resource ID","Compliance","Exception Reason","Rule Level","Rule Info"\n'


def test_context_comes_from_dash_c_pairs() -> None:
    assert context_from_arguments(["-c", "profile=lean", "--context", "stage=prod", "-c", "alarm_channel=slack:T1/C2",
                                   "ignored"]) == {"profile": "lean", "stage": "prod", "alarm_channel": "slack:T1/C2"}  # fmt: skip
    assert context_from_arguments([]) == {}


def test_only_non_compliant_findings_fail_the_synthesis(tmp_path: Path) -> None:
    (tmp_path / "AwsSolutions--Trainforge-dev-NagReport.csv").write_text(
        HEADER
        + '"AwsSolutions-S1","Trainforge-dev/Bucket/Resource","Non-Compliant","N/A","Error","no access logs"\n'
        + '"AwsSolutions-IAM5","Trainforge-dev/Role/Resource","Suppressed","a reason","Error","wildcards"\n'
        + '"AwsSolutions-VPC7","Trainforge-dev/Vpc/Resource","Compliant","N/A","Error","flow logs"\n'
    )
    assert unsuppressed_nag_findings(str(tmp_path)) == [
        "AwsSolutions-S1 on Trainforge-dev/Bucket/Resource: no access logs"
    ]
