from __future__ import annotations

import pytest

from trainforge.settings import Settings, SettingsError

AWS_REQUIRED = {
    "TRAINFORGE_MODE": "aws",
    "AWS_REGION": "eu-west-1",
    "DATABASE_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db",
    "TRAINFORGE_DATASETS_BUCKET": "d",
    "TRAINFORGE_ARTIFACTS_BUCKET": "a",
    "TRAINFORGE_EXECUTION_ROLE_ARN": "arn:aws:iam::111122223333:role/exec",
    "TRAINFORGE_ECR_REPOSITORY_URI": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/training",
    "TRAINFORGE_CODEBUILD_PROJECT": "builds",
    "TRAINFORGE_ADMIN_PRINCIPALS": "arn:aws:iam::111122223333:role/trainforge-admins",
}


def test_local_mode_works_on_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.mode == "local"
    assert settings.region == "us-east-1"
    assert settings.allow_unauthenticated is True
    assert settings.training_environment == "local"
    assert settings.dataset_prefix == "datasets/"


def test_inside_lambda_the_default_mode_is_aws_and_names_the_missing_setting() -> None:
    with pytest.raises(SettingsError, match="AWS_REGION"):
        Settings.from_env({"AWS_LAMBDA_FUNCTION_NAME": "f"})


@pytest.mark.parametrize("missing", sorted(set(AWS_REQUIRED) - {"TRAINFORGE_MODE"}))
def test_aws_mode_fails_at_start_naming_each_missing_setting(missing: str) -> None:
    env = {k: v for k, v in AWS_REQUIRED.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(env)


def test_aws_mode_reads_every_setting() -> None:
    settings = Settings.from_env(AWS_REQUIRED)
    assert settings.mode == "aws"
    assert settings.allow_unauthenticated is False
    assert settings.account_id == "111122223333"
    assert settings.ecr_repository_name == "training"
    assert settings.default_image_uri.endswith("/training:latest")
    assert settings.training_environment == "sagemaker"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRAINFORGE_MODE", "cloud"),
        ("TRAINFORGE_RECORD_EXTERNAL_JOBS", "maybe"),
        ("TRAINFORGE_RECONCILE_AFTER_MINUTES", "soon"),
        ("TRAINFORGE_DATASET_PREFIX", "../up"),
        ("TRAINFORGE_TRAINING_ENVIRONMENT", "laptop"),
    ],
)
def test_malformed_settings_are_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_prefixes_get_a_trailing_slash() -> None:
    assert Settings.from_env({"TRAINFORGE_DATASET_PREFIX": "data"}).dataset_prefix == "data/"


def test_the_database_url_comes_from_the_secret_with_the_proxy_host() -> None:
    from trainforge.db import url_from_secret

    secret = {
        "username": "u",
        "password": "p@ss",
        "host": "cluster.local",
        "port": 5432,
        "dbname": "trainforge",
    }
    url = url_from_secret(secret, "proxy.local")
    assert (url.host, url.username, url.password, url.database, url.drivername) == (
        "proxy.local",
        "u",
        "p@ss",
        "trainforge",
        "postgresql+pg8000",
    )
    with pytest.raises(ValueError, match="password"):
        url_from_secret({"username": "u", "host": "h"})


def test_aws_mode_connects_with_a_verifying_tls_context() -> None:
    import ssl

    from trainforge.db import tls_context

    context = tls_context(None)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_the_pacer_spaces_calls_to_the_rate() -> None:
    from trainforge.capacity.pacing import Pacer

    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    pacer = Pacer(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
    assert waits == [0.25, 0.25, 0.25, 0.25]
    now[0] += 10
    assert pacer.wait() == 0.0


def test_administrators_must_be_principals_trainforge_can_match() -> None:
    with pytest.raises(SettingsError, match="TRAINFORGE_ADMIN_PRINCIPALS: 'admins' must be a role ARN"):
        Settings.from_env({**AWS_REQUIRED, "TRAINFORGE_ADMIN_PRINCIPALS": "admins"})
    both = "arn:aws:iam::111122223333:role/a, arn:aws:iam::111122223333:user/b"
    settings = Settings.from_env({**AWS_REQUIRED, "TRAINFORGE_ADMIN_PRINCIPALS": both})
    assert settings.admin_principals == (
        "arn:aws:iam::111122223333:role/a",
        "arn:aws:iam::111122223333:user/b",
    )


def test_local_mode_administers_as_the_local_developer() -> None:
    assert Settings.from_env({}).admin_principals == ("arn:aws:iam::123456789012:user/local-developer",)


def test_the_training_network_is_both_subnets_and_security_groups_or_neither() -> None:
    both = Settings.from_env({
        **AWS_REQUIRED, "TRAINFORGE_TRAINING_SUBNETS": "subnet-0a1b2c3d, subnet-4e5f6a7b",
        "TRAINFORGE_TRAINING_SECURITY_GROUP_IDS": "sg-0123456789abcdef0",
    })  # fmt: skip
    assert both.training_subnets == ("subnet-0a1b2c3d", "subnet-4e5f6a7b")
    assert both.training_security_group_ids == ("sg-0123456789abcdef0",)
    with pytest.raises(SettingsError, match="go together"):
        Settings.from_env({**AWS_REQUIRED, "TRAINFORGE_TRAINING_SUBNETS": "subnet-0a1b2c3d"})
    with pytest.raises(SettingsError, match="TRAINFORGE_TRAINING_SECURITY_GROUP_IDS must list sg-"):
        Settings.from_env({**AWS_REQUIRED, "TRAINFORGE_TRAINING_SUBNETS": "subnet-0a1b2c3d",
                           "TRAINFORGE_TRAINING_SECURITY_GROUP_IDS": "default"})  # fmt: skip
    assert Settings.from_env({}).training_subnets == ()
