"""The synthesized template: routing, queues, least privilege, encryption, authorization, cdk-nag."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Annotations, Match

from trainforge.models.events import DETAIL_TYPES
from trainforge.models.team_definitions import load_teams_file
from trainforge.settings import Settings

ALLOWED_ON_ANY_RESOURCE = {
    "ec2:DescribeNetworkInterfaces", "xray:PutTraceSegments",
    "xray:PutTelemetryRecords", "ecr:GetAuthorizationToken", "cloudwatch:PutMetricData",
    "servicequotas:ListServiceQuotas", "cloudwatch:ListMetrics", "cloudwatch:GetMetricData", "pricing:GetProducts",
    # the execution role, for jobs in the VPC (SageMaker describes the network it attaches them to)
    "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
    # CDK's own helpers (log retention, bucket notifications), not Trainforge's functions
    "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "s3:PutBucketNotification",
}  # fmt: skip


def resources(template: Any, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = template.find_resources(kind)
    return found


def statements(template: Any) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for name, resource in resources(template, kind).items():
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                found.append((name, statement))
    for name, resource in resources(template, "AWS::IAM::Role").items():
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                found.append((name, statement))
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_cdk_nag_reports_nothing_unsuppressed(stack: Any) -> None:
    annotations = Annotations.from_stack(stack)
    errors = annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    warnings = annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert [e.entry.data for e in errors] == []
    assert [w.entry.data for w in warnings] == []


def test_every_suppression_gives_a_reason(template: Any) -> None:
    for resource in template.to_json()["Resources"].values():
        for suppression in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            assert len(suppression["reason"]) >= 40, suppression


def test_no_statement_allows_every_action(template: Any) -> None:
    for name, statement in statements(template):
        actions = as_list(statement.get("Action", []))
        assert "*" not in actions, name
        assert not any(a.endswith(":*") for a in actions), (name, actions)


def test_only_resourceless_actions_are_granted_on_star(template: Any) -> None:
    for name, statement in statements(template):
        if "*" in as_list(statement.get("Resource", [])):
            assert set(as_list(statement["Action"])) <= ALLOWED_ON_ANY_RESOURCE, (name, statement["Action"])


def test_pass_role_is_limited_to_the_execution_role_and_sagemaker(template: Any) -> None:
    passes = [s for _, s in statements(template) if "iam:PassRole" in as_list(s["Action"])]
    assert len(passes) == 1
    assert passes[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert "SageMakerAccessExecutionRole" in json.dumps(passes[0]["Resource"])


def test_the_worker_writes_only_channel_manifests_and_lists_only_datasets(template: Any) -> None:
    by_sid = {s.get("Sid"): s for _, s in statements(template)}
    write = by_sid["WriteChannelManifests"]
    assert as_list(write["Action"]) == ["s3:PutObject"]
    assert "/output/*/input/*.manifest" in json.dumps(write["Resource"])
    listing = by_sid["ListDatasets"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["datasets/*"]}}


def test_the_api_reads_only_sagemakers_training_log_group(template: Any) -> None:
    grants = [s for _, s in statements(template) if s.get("Sid") == "ReadTrainingLogs"]
    assert len(grants) == 1
    assert sorted(as_list(grants[0]["Action"])) == ["logs:DescribeLogStreams", "logs:FilterLogEvents"]
    assert json.dumps(grants[0]["Resource"]).endswith(':log-group:/aws/sagemaker/TrainingJobs:*"]]}')


def test_roles_created_through_the_api_carry_the_boundary(template: Any) -> None:
    creates = [s for _, s in statements(template) if "iam:CreateRole" in as_list(s["Action"])]
    assert len(creates) == 1 and "iam:PermissionsBoundary" in creates[0]["Condition"]["StringEquals"]


def test_event_rules_route_each_source_to_a_queue(template: Any) -> None:
    patterns = [
        r["Properties"]["EventPattern"]
        for r in resources(template, "AWS::Events::Rule").values()
        if "EventPattern" in r["Properties"]
    ]
    sources = sorted(tuple(p["source"]) for p in patterns)
    assert sources == [("aws.codebuild",), ("aws.s3",), ("aws.sagemaker",), ("trainforge",), ("trainforge",)]
    own = [
        p
        for p in patterns
        if p["source"] == ["trainforge"] and p["detail-type"] != ["Training Job Requested"]
    ]
    assert [sorted(p["detail-type"]) for p in own] == [
        sorted(DETAIL_TYPES)
    ]  # Trainforge's own events: notices
    s3 = next(p for p in patterns if p["source"] == ["aws.s3"])
    assert s3["detail-type"] == ["Object Created"]
    assert s3["detail"]["object"]["key"] == [{"prefix": "datasets/"}, {"prefix": "jobs/"}]
    sagemaker = next(p for p in patterns if p["source"] == ["aws.sagemaker"])
    assert sagemaker["detail-type"] == [
        "SageMaker Training Job State Change",
        "SageMaker HyperParameter Tuning Job State Change",
    ]
    codebuild = next(p for p in patterns if p["source"] == ["aws.codebuild"])
    assert (
        codebuild["detail-type"] == ["CodeBuild Build State Change"] and "project-name" in codebuild["detail"]
    )
    for rule in resources(template, "AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            assert "DeadLetterConfig" in target, rule


def test_every_queue_has_a_dead_letter_queue_or_is_one(template: Any) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    referenced = json.dumps(template.to_json())
    for name, queue in queues.items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True, name
        if "RedrivePolicy" not in props:
            uses = referenced.count(f'"{name}"')
            assert "DeadLetter" in name or "Failures" in name, name
            assert uses >= 2, f"{name} is neither a DLQ in use nor redriven"


def test_event_sources_report_per_record_failures(template: Any) -> None:
    mappings = resources(template, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 4
    for mapping in mappings.values():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_storage_is_encrypted_and_private(template: Any) -> None:
    for name, bucket in resources(template, "AWS::S3::Bucket").items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True, name
        algorithm = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        if "AccessLogs" not in name:
            assert algorithm == "aws:kms" and "LoggingConfiguration" in props, name
    policies = resources(template, "AWS::S3::BucketPolicy")
    assert all("aws:SecureTransport" in json.dumps(p) for p in policies.values())
    notifications = resources(template, "Custom::S3BucketNotifications")
    assert len(notifications) == 1  # the datasets bucket, and only it, sends events to EventBridge
    (notification,) = notifications.values()
    assert "EventBridgeConfiguration" in notification["Properties"]["NotificationConfiguration"]
    assert "StorageDatasets" in json.dumps(notification["Properties"]["BucketName"])
    template.has_resource_properties(
        "AWS::RDS::DBCluster", {"StorageEncrypted": True, "Engine": "aurora-postgresql"}
    )
    template.has_resource_properties("AWS::RDS::DBProxy", {"RequireTLS": True})
    template.has_resource_properties("AWS::ECR::Repository", {"ImageScanningConfiguration": {"ScanOnPush": True},
                                                             "ImageTagMutability": "IMMUTABLE"})  # fmt: skip
    template.has_resource_properties("AWS::SecretsManager::RotationSchedule", Match.any_value())


def test_every_api_method_requires_iam(template: Any) -> None:
    methods = resources(template, "AWS::ApiGateway::Method")
    assert methods
    for method in methods.values():
        assert method["Properties"]["AuthorizationType"] == "AWS_IAM"
        assert "RequestValidatorId" in method["Properties"]
    template.has_resource_properties(
        "AWS::ApiGateway::Stage", {"TracingEnabled": True, "AccessLogSetting": Match.any_value()}
    )


def test_functions_are_arm64_traced_layered_and_the_worker_is_paced(template: Any) -> None:
    functions = {
        name: f
        for name, f in resources(template, "AWS::Lambda::Function").items()
        if name.startswith("Functions")
    }
    assert len(functions) == 7
    for name, function in functions.items():
        props = function["Properties"]
        assert props["Architectures"] == ["arm64"], name
        assert props["Runtime"].startswith("python3."), name
        assert props["TracingConfig"] == {"Mode": "Active"}, name
        assert props["Layers"] and props["VpcConfig"], name
        assert props["ReservedConcurrentExecutions"] >= 1, name
    worker = next(f for n, f in functions.items() if n.startswith("Functionssubmissions"))
    assert worker["Properties"]["ReservedConcurrentExecutions"] <= 2


def test_the_settings_each_function_receives_are_complete(template: Any) -> None:
    for name, function in resources(template, "AWS::Lambda::Function").items():
        if not name.startswith("Functions"):
            continue
        variables = function["Properties"]["Environment"]["Variables"]
        concrete = {k: v if isinstance(v, str) else f"resolved-{k.lower()}" for k, v in variables.items()}
        concrete["TRAINFORGE_EXECUTION_ROLE_ARN"] = "arn:aws:iam::111122223333:role/exec"
        concrete["TRAINFORGE_ECR_REPOSITORY_URI"] = "111122223333.dkr.ecr.us-east-1.amazonaws.com/repo"
        # {"Fn::Join": ["", ["arn:", ..., ":role/", {"Ref": "Administrators..."}]]} once deployed
        assert "Administrators" in json.dumps(variables["TRAINFORGE_ADMIN_PRINCIPALS"])
        concrete["TRAINFORGE_ADMIN_PRINCIPALS"] = "arn:aws:iam::111122223333:role/trainforge-administrators"
        # the stack's private subnets and training security group (-c training_in_vpc=true in conftest)
        assert "TrainingJobs" in json.dumps(variables["TRAINFORGE_TRAINING_SECURITY_GROUP_IDS"])
        concrete["TRAINFORGE_TRAINING_SUBNETS"] = "subnet-0a1b2c3d,subnet-4e5f6a7b"
        concrete["TRAINFORGE_TRAINING_SECURITY_GROUP_IDS"] = "sg-0123456789abcdef0"
        settings = Settings.from_env(
            {**concrete, "AWS_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": name}
        )
        assert settings.mode == "aws" and settings.training_environment == "sagemaker"


def test_schema_migrations_run_on_deploy(template: Any) -> None:
    template.has_resource_properties(
        "AWS::CloudFormation::CustomResource", {"MigrationsFingerprint": Match.any_value()}
    )


def test_outputs_name_what_users_need(template: Any) -> None:
    outputs = template.to_json()["Outputs"]
    assert {
        "ApiUrl",
        "DatasetsBucketName",
        "ArtifactsBucketName",
        "EcrRepositoryUri",
        "ExecutionRoleArn",
    } <= set(outputs)


def test_capacity_permissions_are_where_admission_happens_and_nowhere_else(template: Any) -> None:
    granted: dict[str, set[str]] = {}
    for name, statement in statements(template):
        for action in as_list(statement["Action"]):
            granted.setdefault(action, set()).add(name)

    holders = {name.lower() for name in granted.get("pricing:GetProducts", set())}
    assert holders and all("reconcile" in name for name in holders)
    # A job's end admits waiting jobs: the state handler requests their submission, only with trainforge's source.
    puts = [s for _, s in statements(template) if "events:PutEvents" in as_list(s["Action"])]
    assert any("trainingstate" in n.lower().replace("_", "") for n in granted["events:PutEvents"])
    assert all(s["Condition"] == {"StringEquals": {"events:source": "trainforge"}} for s in puts)
    describe_images = [s for _, s in statements(template) if "ecr:DescribeImages" in as_list(s["Action"])]
    assert len(describe_images) == 1 and "*" not in as_list(describe_images[0]["Resource"])


def test_cfn_lint_finds_no_error_in_the_synthesized_templates(synthesized: tuple[Any, Any, str]) -> None:
    """CloudFormation's own linter on what was synthesized: errors fail (exit bit 2); warnings are CDK's own."""
    import glob
    import subprocess
    import sys
    from pathlib import Path

    templates = sorted(glob.glob(f"{synthesized[2]}/*.template.json"))
    assert templates
    linter = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(linter), *templates], capture_output=True, text=True, check=False)
    assert result.returncode & 2 == 0, result.stdout[-3000:]


def test_tuning_jobs_are_created_tagged_and_stopped_only_when_trainforges(template: Any) -> None:
    by_sid = {s.get("Sid"): s for _, s in statements(template)}
    create = by_sid["CreateTaggedTuningJobs"]
    assert sorted(as_list(create["Action"])) == [
        "sagemaker:AddTags",
        "sagemaker:CreateHyperParameterTuningJob",
    ]
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/trainforge:managed": "true"}}
    assert "hyper-parameter-tuning-job/*" in json.dumps(create["Resource"])
    stop = by_sid["StopTrainforgeTuningJobs"]
    assert stop["Condition"] == {"StringEquals": {"aws:ResourceTag/trainforge:managed": "true"}}


# The S3 permissions generated from the team definitions (examples/teams.json, synthesized in conftest): each
# team's principals write only under their own prefixes; a role shared by two teams' session patterns gets both.
# (In this module: one synthesis per test worker serves them all.)

TEAMS = load_teams_file("examples/teams.json")
VISION = "arn:aws:iam::123456789012:role/vision-engineers"
FORECASTING = "arn:aws:iam::123456789012:role/forecasting-engineers"
SHARED = "arn:aws:iam::123456789012:role/shared-ml"


def datasets_policy(stack: Any, template: Any) -> list[dict[str, Any]]:
    datasets = stack.get_logical_id(
        stack.node.find_child("Storage").node.find_child("Datasets").node.default_child
    )
    for policy in template.find_resources("AWS::S3::BucketPolicy").values():
        if policy["Properties"]["Bucket"] == {"Ref": datasets}:
            statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
            return statements
    raise AssertionError("the datasets bucket has no policy")


def prefixes(resources: Any) -> set[str]:
    """datasets/vision/* from {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/datasets/vision/*"]]}."""
    found = set()
    for resource in resources if isinstance(resources, list) else [resources]:
        parts = resource["Fn::Join"][1]
        found.add(parts[-1].lstrip("/"))
    return found


def team_statements(stack: Any, template: Any, effect: str) -> dict[str, set[str]]:
    """principal -> the key prefixes the Allow (or Deny) statements name for it."""
    by_principal: dict[str, set[str]] = {}
    for statement in datasets_policy(stack, template):
        if not str(statement.get("Sid", "")).startswith("TeamWrites") or statement["Effect"] != effect:
            continue
        assert statement["Principal"] == {"AWS": "*"}
        named = statement["Resource"] if effect == "Allow" else statement["NotResource"]
        for principal in statement["Condition"]["ArnLike"]["aws:PrincipalArn"]:
            by_principal[principal] = prefixes(named)
    return by_principal


def test_each_team_role_may_write_only_its_own_dataset_and_spec_prefixes(stack: Any, template: Any) -> None:
    allowed = team_statements(stack, template, "Allow")
    assert allowed[VISION] == {"datasets/vision/*", "jobs/vision/*"}
    assert allowed[FORECASTING] == {"datasets/forecasting/*", "jobs/forecasting/*"}


def test_writes_and_deletes_anywhere_else_are_denied_to_the_same_principals(
    stack: Any, template: Any
) -> None:
    denied = team_statements(stack, template, "Deny")
    assert denied == team_statements(stack, template, "Allow")
    for statement in datasets_policy(stack, template):
        if statement.get("Sid", "").startswith("TeamWritesNothingElse"):
            assert sorted(statement["Action"]) == ["s3:DeleteObject", "s3:PutObject"]
            assert "Resource" not in statement  # NotResource: everything but the team's prefixes


def test_a_role_named_by_two_teams_session_patterns_writes_under_both(stack: Any, template: Any) -> None:
    allowed = team_statements(stack, template, "Allow")
    assert allowed[SHARED] == {
        "datasets/vision/*", "jobs/vision/*", "datasets/forecasting/*", "jobs/forecasting/*",
    }  # fmt: skip
    assert set(allowed) == {VISION, FORECASTING, SHARED}


def test_allows_are_for_this_account_only(stack: Any, template: Any) -> None:
    for statement in datasets_policy(stack, template):
        if statement.get("Sid", "").startswith("TeamWritesOwnPrefixes"):
            assert statement["Condition"]["StringEquals"] == {
                "aws:PrincipalAccount": {"Ref": "AWS::AccountId"}
            }


def test_team_members_may_use_the_data_key_only_through_s3(template: Any) -> None:
    keys = template.find_resources("AWS::KMS::Key")
    statements = [s for key in keys.values() for s in key["Properties"]["KeyPolicy"]["Statement"]]
    (member,) = [s for s in statements if s.get("Sid") == "TeamMembersEncryptThroughS3"]
    assert sorted(member["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert member["Condition"]["StringEquals"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    assert sorted(member["Condition"]["ArnLike"]["aws:PrincipalArn"]) == sorted([FORECASTING, SHARED, VISION])


def test_the_functions_know_the_administrators_role(template: Any) -> None:
    functions = template.find_resources("AWS::Lambda::Function")
    admin_role = next(
        iter(k for k in template.find_resources("AWS::IAM::Role") if k.startswith("Administrators"))
    )
    api = next(f for f in functions.values() if "REST API" in f["Properties"].get("Description", ""))
    admins = api["Properties"]["Environment"]["Variables"]["TRAINFORGE_ADMIN_PRINCIPALS"]
    assert admin_role in json.dumps(admins)


def test_the_administrators_role_may_only_call_the_api(template: Any) -> None:
    policies = [
        p
        for name, p in template.find_resources("AWS::IAM::Policy").items()
        if name.startswith("Administrators")
    ]
    (policy,) = policies
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"


def test_the_example_teams_parse() -> None:
    assert [team.name for team in TEAMS] == ["vision", "forecasting"]


def test_jobs_naming_no_vpc_run_in_the_stacks_private_subnets_whose_interfaces_the_role_may_create(
    template: Any,
) -> None:
    roles = template.find_resources("AWS::IAM::Role")
    execution = next(r for name, r in roles.items() if name.startswith("SageMakerAccessExecutionRole"))
    granted = {
        s["Sid"]: s for p in execution["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]
    }
    interfaces = granted["TrainingNetworkInterfaces"]
    assert "ec2:CreateNetworkInterface" in interfaces["Action"]
    resources = json.dumps(interfaces["Resource"])
    assert (
        "network-interface/*" in resources
        and "security-group/" in resources
        and resources.count("subnet/") == 2
    )
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    training = next(g for name, g in groups.items() if name.startswith("SageMakerAccessTrainingJobs"))
    assert training["Properties"]["SecurityGroupEgress"][0]["CidrIp"] == "0.0.0.0/0"


def test_the_event_schema_registry_holds_every_documented_event(template: Any) -> None:
    from pathlib import Path

    registries = resources(template, "AWS::EventSchemas::Registry")
    assert [r["Properties"]["RegistryName"] for r in registries.values()] == ["trainforge-dev"]
    schemas = {
        s["Properties"]["SchemaName"]: s["Properties"]
        for s in resources(template, "AWS::EventSchemas::Schema").values()
    }
    folder = Path(__file__).resolve().parents[2] / "docs" / "events"
    documented = {f"trainforge@{p.name.removesuffix('.json')}": p.read_text() for p in folder.glob("*.json")}
    assert {name: s["Content"] for name, s in schemas.items()} == documented
    assert {s["Type"] for s in schemas.values()} == {"JSONSchemaDraft4"} and len(documented) == len(
        DETAIL_TYPES
    )


def test_the_example_teams_notices_have_their_topics_and_chat_channels(template: Any) -> None:
    """examples/teams.json: vision mails its on-call address and posts to Slack; forecasting posts to Microsoft
    Teams. Each topic is encrypted and TLS-only; the channels can do nothing but show notices."""
    topics = {
        t["Properties"]["TopicName"]: t["Properties"]
        for t in resources(template, "AWS::SNS::Topic").values()
        if t["Properties"].get("TopicName", "").startswith("trainforge-team-")
    }
    assert set(topics) == {
        "trainforge-team-vision",
        "trainforge-team-vision-chat",
        "trainforge-team-forecasting-chat",
    }
    assert all("KmsMasterKeyId" in t for t in topics.values())
    secure = [
        p["Properties"] for p in resources(template, "AWS::SNS::TopicPolicy").values()
        if any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for s in p["Properties"]["PolicyDocument"]["Statement"])
    ]  # fmt: skip
    assert len(secure) >= 3
    emails = [s["Properties"] for s in resources(template, "AWS::SNS::Subscription").values()]
    assert [(e["Protocol"], e["Endpoint"]) for e in emails] == [("email", "vision-oncall@example.com")]
    slack = [c["Properties"] for c in resources(template, "AWS::Chatbot::SlackChannelConfiguration").values()]
    assert [(c["SlackWorkspaceId"], c["SlackChannelId"]) for c in slack] == [("T0123ABCD", "C0456EFGH")]
    teams = [
        c["Properties"]
        for c in resources(template, "AWS::Chatbot::MicrosoftTeamsChannelConfiguration").values()
    ]
    assert [c["TeamsChannelId"] for c in teams] == ["19%3aforecasting%40thread.tacv2"]
    for channel in slack + teams:
        assert channel["GuardrailPolicies"] == ["arn:aws:iam::aws:policy/AWSDenyAll"]
        assert len(channel["SnsTopicArns"]) == 1
    chat_roles = {
        name for name, r in resources(template, "AWS::IAM::Role").items()
        if "chatbot.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    }  # fmt: skip
    assert len(chat_roles) == 2  # Slack's (made by its construct) and Microsoft Teams'
    for name in chat_roles:
        role = resources(template, "AWS::IAM::Role")[name]["Properties"]
        assert not role.get("Policies") and not role.get("ManagedPolicyArns")
    attached = [
        p for p in resources(template, "AWS::IAM::Policy").values()
        if any(r.get("Ref") in chat_roles for r in p["Properties"].get("Roles", []))
    ]  # fmt: skip
    assert not attached  # the chat channels are granted nothing
    publish_key = [
        s for name, s in statements(template)
        if name.startswith("Functionsnotifications") and "kms:GenerateDataKey" in s["Action"]
    ]  # fmt: skip
    assert publish_key  # the notifications function encrypts with the topics' key


def test_snapstart_is_off_unless_asked(template: Any) -> None:
    """(test_snapstart.py checks it on, with -c snapstart=true.)"""
    for name, function in resources(template, "AWS::Lambda::Function").items():
        assert "SnapStart" not in function["Properties"], name
    assert resources(template, "AWS::Lambda::Alias") == {}


def test_every_function_runs_the_pinned_runtime_whatever_python_built_it(template: Any) -> None:
    from stacks.layer_build import LAMBDA_PYTHON

    functions = resources(template, "AWS::Lambda::Function")
    ours = [f["Properties"] for name, f in functions.items() if name.startswith("Functions")]
    assert len(ours) == 7
    assert {f["Runtime"] for f in ours} == {f"python{LAMBDA_PYTHON}"}
    assert {a for f in ours for a in f["Architectures"]} == {"arm64"}
