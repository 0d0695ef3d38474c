"""Jobs that name no VPC run in the deployment's training network (the stack's private subnets and security
group); a job that names its own keeps it. On real PostgreSQL, the request checked against what SageMaker takes."""

from __future__ import annotations

import dataclasses

import boto3

from trainforge import repository
from trainforge.connection import NativeDatabase
from trainforge.job_settings.training_config import TrainingConfig
from trainforge.jobs.records import accept_job_request, request_for
from trainforge.settings import Settings

INPUT = "s3://trainforge-datasets/datasets/churn/"


def test_a_job_naming_no_vpc_gets_the_deployments_and_one_naming_its_own_keeps_it(
    aws_resources: Settings, database: NativeDatabase
) -> None:
    settings = dataclasses.replace(
        aws_resources,
        training_subnets=("subnet-0a1b2c3d",),
        training_security_group_ids=("sg-0123456789abcdef0",),
    )
    plain, _ = accept_job_request(database, settings, TrainingConfig(job_name="in-the-vpc"), INPUT)
    own, _ = accept_job_request(
        database, settings,
        TrainingConfig(job_name="own-vpc", vpc_subnets=["subnet-99999999"], vpc_security_group_ids=["sg-99999999"]),
        INPUT,
    )  # fmt: skip
    s3 = boto3.client("s3", region_name="us-east-1")
    job = repository.get_job(database, plain)
    assert job is not None
    assert request_for(job, s3, settings)["VpcConfig"] == {
        "Subnets": ["subnet-0a1b2c3d"], "SecurityGroupIds": ["sg-0123456789abcdef0"],
    }  # fmt: skip
    mine = repository.get_job(database, own)
    assert mine is not None
    assert request_for(mine, s3, settings)["VpcConfig"]["Subnets"] == ["subnet-99999999"]
    without, _ = accept_job_request(database, aws_resources, TrainingConfig(job_name="no-network"), INPUT)
    bare = repository.get_job(database, without)
    assert bare is not None and "VpcConfig" not in request_for(bare, s3, aws_resources)
