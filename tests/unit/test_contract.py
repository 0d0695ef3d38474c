"""Every class, exception, method and signature of the service contract exists with the same name and meaning.

The contract document is kept in docs/ (a copy of the seed); signatures are read from it, not retyped here.
"""

from __future__ import annotations

import inspect
import re
import typing
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from trainforge.datasets.preparation import DatasetPreparationService
from trainforge.job_settings.training_config import TrainingConfig, TrainingEnvironment
from trainforge.services import sagemaker_training_service as module

CONTRACT = (
    Path(__file__).resolve().parents[2] / "docs" / "sagemaker_training_service_contract.md"
).read_text()
SIGNATURES = re.findall(r"\*\*Signature\*\*: `(\w+)\((.*?)\) -> (.+?)`", CONTRACT)
OWNERS = {
    "to_sagemaker_config": module.SageMakerJobConfig,
    "build_training_container": module.SageMakerContainerBuilder,
    "push_to_ecr": module.SageMakerContainerBuilder,
}


def test_the_contract_lists_ten_methods() -> None:
    assert len(SIGNATURES) == 10


@pytest.mark.parametrize(("name", "params", "returns"), SIGNATURES, ids=[s[0] for s in SIGNATURES])
def test_each_method_has_the_contract_signature(name: str, params: str, returns: str) -> None:
    owner = OWNERS.get(name, module.SageMakerTrainingService)
    signature = inspect.signature(getattr(owner, name))
    positional = [
        p
        for p in signature.parameters.values()
        if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    wanted = [tuple(part.strip().split(": ")) for part in params.split(",")] if params else []
    assert [p.name for p in positional] == [w[0] for w in wanted]
    # The domain imports SQLAlchemy's Session for typing only (the handlers never load the ORM).
    hints = typing.get_type_hints(getattr(owner, name), localns={"Session": Session})
    for param_name, type_name in wanted:
        assert _type_name(hints[param_name]) == type_name.replace("List", "list").replace("Dict", "dict")
    ours = _type_name(hints["return"])
    theirs = returns.replace("List", "list").replace("Dict", "dict")
    # a bare Dict in the contract is dict[str, Any] here
    assert theirs in (ours, ours.replace("dict[str, Any]", "dict"))
    extra_required = [
        p for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY and p.default is p.empty
    ]
    assert not extra_required, "anything beyond the contract must be optional"


def _type_name(hint: object) -> str:
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("SageMakerError", Exception),
        ("SageMakerConfigurationError", module.SageMakerError),
        ("SageMakerJobError", module.SageMakerError),
        ("DockerContainerError", module.SageMakerError),
    ],
)
def test_the_exceptions_and_their_bases(name: str, base: type) -> None:
    assert issubclass(getattr(module, name), base)


def test_the_job_config_has_the_eleven_attributes() -> None:
    block = CONTRACT.split("#### SageMakerJobConfig")[1].split("####")[0]
    attributes = re.findall(r"- `(\w+): (.+?)`", block)
    assert len(attributes) == 11
    hints = typing.get_type_hints(module.SageMakerJobConfig)
    for name, type_name in attributes:
        assert _type_name(hints[name]) == type_name.replace("Dict", "dict")


@pytest.mark.parametrize(
    ("protocol", "implementation"),
    [
        ("SageMakerJobConfigInterface", "SageMakerJobConfig"),
        ("SageMakerContainerBuilderInterface", "SageMakerContainerBuilder"),
        ("SageMakerTrainingServiceInterface", "SageMakerTrainingService"),
    ],
)
def test_the_protocols_are_implemented(protocol: str, implementation: str) -> None:
    proto = getattr(module, protocol)
    impl = getattr(module, implementation)
    block = CONTRACT.split(f"### {protocol}")[1].split("###")[0]
    methods = re.findall(r"- `(\w+)\(", block)
    assert methods
    for method in methods:
        assert hasattr(proto, method) and callable(getattr(impl, method))
    assert issubclass(impl, proto)


def test_the_dependencies_exist() -> None:
    from trainforge.models.database import TrainingJob, TrainingReport

    assert TrainingJob.__tablename__ and TrainingReport.__tablename__
    assert {e.value for e in TrainingEnvironment} == {"sagemaker", "local"}
    assert callable(DatasetPreparationService().prepare)
    assert TrainingConfig(job_name="x")
