"""The docs tell what the code does: the generated reference is current, every setting the code reads is
documented, and every file, folder and page the README and docs/ point to exists."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

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


def test_every_setting_the_code_reads_is_documented_and_every_documented_one_is_read() -> None:
    code = (ROOT / "layers" / "trainforge" / "trainforge" / "settings.py").read_text()
    read = set(re.findall(r'"((?:TRAINFORGE|DATABASE)_[A-Z0-9_]+)"', code))
    documented = set(
        re.findall(r"`((?:TRAINFORGE|DATABASE)_[A-Z0-9_]+)`", (ROOT / "docs" / "settings.md").read_text())
    )
    assert read - documented == set(), "read by settings.py, missing from docs/settings.md"
    assert documented - read - {"DATABASE_URL"} == set(), "in docs/settings.md, read nowhere in settings.py"


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
