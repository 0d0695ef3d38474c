"""The docs tell what the code does: the generated reference is current, every setting the code reads is
documented, and every file, folder and page the README and docs/ point to exists."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from trainforge.settings import VARIABLES, Settings, SettingsError, Variable

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def generator() -> object:
    spec = importlib.util.spec_from_file_location(
        "reference_docs", ROOT / "docs" / "reference" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_is_what_the_code_declares() -> None:
    pages: dict[str, str] = generator().pages()  # type: ignore[attr-defined]
    stale = [name for name, text in pages.items() if (ROOT / "docs" / "reference" / name).read_text() != text]
    assert stale == [], f"docs/reference/{stale} are stale: run make docs"


def test_the_event_schemas_are_what_the_models_declare() -> None:
    schemas: dict[str, str] = generator().event_schemas()  # type: ignore[attr-defined]
    folder = ROOT / "docs" / "events"
    assert sorted(p.name for p in folder.glob("*.json")) == sorted(schemas), "make docs"
    stale = [name for name, text in schemas.items() if (folder / name).read_text() != text]
    assert stale == [], f"docs/events/{stale} are stale: run make docs"


def test_the_cli_reference_has_every_verb_with_its_options() -> None:
    text = (ROOT / "docs" / "reference" / "cli.md").read_text()
    for verb in (
        "submit",
        "upload",
        "download",
        "build",
        "builds",
        "tune",
        "tuning-status",
        "teams apply",
        "usage",
    ):
        assert f"## trainforge {verb}\n" in text, verb
    assert "--dry-run" in text and "--entry-point" in text and "--metadata" in text


class Recording(dict[str, str]):
    """An environment that notes every variable asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)


def aws_environment() -> dict[str, str]:
    return dict(generator().AWS_REQUIRED)  # type: ignore[attr-defined]


def test_the_settings_reference_lists_every_variable_from_env_reads() -> None:
    asked: set[str] = set()
    for values in ({}, {"TRAINFORGE_MODE": "local"}, aws_environment()):
        env = Recording(values)
        Settings.from_env(env)
        asked |= env.asked
    declared = {v.name for v in VARIABLES}
    # AWS_DEFAULT_REGION stands in for AWS_REGION; Lambda's own variable only chooses the mode
    assert asked - {"AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME"} == declared
    assert all(hasattr(Settings.from_env({}), v.attribute) for v in VARIABLES)


@pytest.mark.parametrize("variable", VARIABLES, ids=lambda v: v.name)
def test_a_variable_is_required_in_aws_mode_exactly_when_the_reference_says_so(variable: Variable) -> None:
    env = {k: v for k, v in aws_environment().items() if k != variable.name}
    if variable.required_in_aws:
        with pytest.raises(SettingsError, match=variable.name):
            Settings.from_env(env)
        if variable.instead:
            Settings.from_env({**env, variable.instead: "postgresql+pg8000://db/trainforge"})
    else:
        Settings.from_env(env)


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
QUOTED_PATH = re.compile(r"`((?:examples|docs|tests|stacks|lambdas|layers|local_mode|bench)/[\w./-]+)`")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_page_points_to_exists(page: Path) -> None:
    text = page.read_text()
    missing = [
        target for target in LINK.findall(text)
        if "://" not in target and not (page.parent / target).exists()
    ]  # fmt: skip
    missing += [path for path in QUOTED_PATH.findall(text) if "*" not in path and not (ROOT / path).exists()]
    assert missing == [], f"{page.relative_to(ROOT)} points to what is not there"
