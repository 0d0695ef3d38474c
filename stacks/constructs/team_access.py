"""What a team's principals may write in the datasets bucket, generated from the team definitions the stack is
given (``-c teams_file=teams.json``): its own dataset and job-spec prefixes, nothing else.

Why a bucket policy and not one access point per team: teams are few and their members are IAM roles, so the
rules fit in one reviewed document (S3's limit is 20 KB, about 60 teams of a few roles each) that `cdk diff`
shows whole; access points would add a name per team for every client to learn and a policy per point, which
pays only past that size. The policy is generated, never edited at runtime: giving the API
``s3:PutBucketPolicy`` would let a compromised function open the bucket.

Per member principal as S3 sees it (``aws:PrincipalArn``: a role for its sessions, or a user):

- **Allow** ``s3:PutObject`` under ``datasets/<team>/`` and ``jobs/<team>/`` of each of its teams, so a member
  needs no S3 statement of its own (it still needs ``execute-api:Invoke`` to call the API);
- **Deny** ``s3:PutObject`` and ``s3:DeleteObject`` anywhere else in the bucket, whatever its own policies say.

A session pattern (``assumed-role/shared/alice-*``) can only be enforced by S3 for the whole role: the API,
which sees each session's ARN, keeps sessions of a shared role apart; S3 lets every session of that role write
under the prefixes of every team that names the role.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from trainforge.models.team_definitions import TeamDefinition, s3_principal

WRITE_ACTIONS = ["s3:PutObject"]
DENIED_OUTSIDE = ["s3:PutObject", "s3:DeleteObject"]


def prefixes_by_principal(
    teams: Sequence[TeamDefinition], dataset_prefix: str, jobs_prefix: str
) -> dict[str, list[str]]:
    """Each member principal (as S3 sees it) and the key prefixes it may write: its teams' datasets and specs."""
    found: dict[str, set[str]] = defaultdict(set)
    for team in teams:
        for member in team.members:
            found[s3_principal(member)] |= {f"{dataset_prefix}{team.name}/", f"{jobs_prefix}{team.name}/"}
    return {principal: sorted(prefixes) for principal, prefixes in sorted(found.items())}


class TrainforgeTeamAccess(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        teams: Sequence[TeamDefinition],
        datasets: s3.IBucket,
        key: kms.IKey,
        dataset_prefix: str,
        jobs_prefix: str,
    ) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        self.prefixes = prefixes_by_principal(teams, dataset_prefix, jobs_prefix)
        # Principals with the same prefixes share one statement pair: the policy grows with teams, not members.
        groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for principal, writable in self.prefixes.items():
            groups[tuple(writable)].append(principal)
        for index, (shared, principals) in enumerate(sorted(groups.items())):
            allowed = [datasets.arn_for_objects(f"{prefix}*") for prefix in shared]
            who = {
                "ArnLike": {"aws:PrincipalArn": principals},
                "StringEquals": {"aws:PrincipalAccount": account},
            }
            datasets.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"TeamWritesOwnPrefixes{index}",
                    effect=iam.Effect.ALLOW,
                    principals=[iam.AnyPrincipal()],
                    actions=WRITE_ACTIONS,
                    resources=allowed,
                    conditions=who,
                )
            )
            datasets.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"TeamWritesNothingElse{index}",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=DENIED_OUTSIDE,
                    not_resources=allowed,
                    conditions={"ArnLike": {"aws:PrincipalArn": principals}},
                )
            )
        if self.prefixes:
            # Objects are encrypted with the data key: the members' writes use it, through S3 only.
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="TeamMembersEncryptThroughS3",
                    principals=[iam.AnyPrincipal()],
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=["*"],  # in a key policy, "*" is this key
                    conditions={
                        "ArnLike": {"aws:PrincipalArn": sorted(self.prefixes)},
                        "StringEquals": {
                            "aws:PrincipalAccount": account,
                            "kms:ViaService": f"s3.{Stack.of(self).region}.amazonaws.com",
                        },
                    },
                )
            )
