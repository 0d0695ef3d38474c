"""The README's quickstart, run as a newcomer runs it: in a fresh copy of the checkout (what a clone holds), local
mode started there, then the README's own shell block, word for word, in a second "terminal". Nothing is passed to
the CLI but what the README says: it must find local mode by itself."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.local_mode_process import ROOT, LocalModeProcess, clean_environment
from trainforge.local.postgres import scratch_database


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def quickstart_block() -> str:
    (block,) = [b for b in shell_blocks((ROOT / "README.md").read_text()) if "trainforge submit" in b]
    return block


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The files a clone of this checkout holds (tracked, and new ones not ignored), and the set-up's .venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True, timeout=60,
    ).stdout.decode().split("\0")  # fmt: skip
    copy = tmp_path / "trainforge"
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            (copy / name).write_bytes(source.read_bytes())
    (copy / ".venv").symlink_to(ROOT / ".venv")  # what `make local` set up (its trainforge, its Python)
    return copy


@pytest.fixture
def local_mode_there(checkout: Path, postgres_server_url: str) -> Iterator[LocalModeProcess]:
    """`make local` in the copy: its state in the copy's .local, where the CLI looks for it."""
    with scratch_database(postgres_server_url, "trainforge_quickstart", drop_later=True) as database_url:
        local = LocalModeProcess(
            checkout / ".local", env=clean_environment(DATABASE_URL=database_url), cwd=checkout
        ).start()
        try:
            yield local
        finally:
            local.stop()


def test_the_readmes_quickstart_trains_the_readers_script_and_downloads_its_model(
    checkout: Path, local_mode_there: LocalModeProcess
) -> None:
    block = quickstart_block()
    assert block.startswith("source .venv/bin/activate\n")
    env = {k: v for k, v in clean_environment().items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block], cwd=checkout, env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    said = result.stdout + result.stderr
    assert result.returncode == 0, said + "\n--- local mode:\n" + local_mode_there.text()
    assert (checkout / "myproj" / "code" / "train.py").exists()  # the reader's script, written by the block
    assert "SUCCEEDED" in said and "(runs train.py)" in said
    assert "myproj-1: Completed / Completed" in said
    model = json.loads((checkout / "myproj-1" / "model" / "model.json").read_text())
    assert model["slope"] == pytest.approx(1.99, abs=0.01)  # the example's points lie on y = 1.99x + c
    # The README's next step: the same job as a file, whose URIs are the quickstart's image and dataset.
    assert "trainforge submit --config examples/own-script/job.yaml" in (ROOT / "README.md").read_text()
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "source .venv/bin/activate\n"
         "trainforge submit --config examples/own-script/job.yaml --wait"],
        cwd=checkout, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and "myproj-from-file: Completed" in result.stdout, (
        result.stdout + result.stderr
    )
    assert "metric slope = 1.99" in result.stdout


def test_the_script_the_readme_writes_is_the_own_script_example() -> None:
    (script,) = re.findall(r"<<'PY'\n(.*?)^PY$", quickstart_block(), re.S | re.M)
    assert script == (ROOT / "examples" / "own-script" / "code" / "train.py").read_text()
    assert 'os.environ["SM_CHANNEL_TRAIN"]' in script and 'os.environ["SM_MODEL_DIR"]' in script


def test_the_readme_names_only_commands_that_exist() -> None:
    block = quickstart_block()
    verbs = {line.split()[1] for line in block.splitlines() if line.startswith("trainforge ")}
    helped = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "trainforge"), "--help"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "TRAINFORGE_API_URL": "http://127.0.0.1:9"}, check=True,
    ).stdout  # fmt: skip
    assert verbs and all(re.search(rf"^  {verb} ", helped, re.M) for verb in verbs), verbs


def test_the_notification_docs_local_try_reaches_its_receiver(
    checkout: Path, local_mode_there: LocalModeProcess
) -> None:
    """docs/notifications.md's two blocks (the webhook's secret, then the whole try), word for word but for the
    ports: local mode's emulator is where this test started it, and the receiver's port is a free one."""
    from trainforge.local.training.hosts import free_port

    secret, whole = [
        b for b in shell_blocks((ROOT / "docs" / "notifications.md").read_text()) if "webhook" in b
    ]
    port = str(free_port())
    script = (
        "source .venv/bin/activate\n"
        + secret.replace("127.0.0.1:8090", f"127.0.0.1:{local_mode_there.aws_port}")
        + whole.replace("9000", port)
        + "sleep 3\nkill %1\n"  # the receiver the block left running (a terminal's Ctrl-C)
    )
    env = {k: v for k, v in clean_environment().items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    result = subprocess.run(
        ["bash", "-eu", "-c", script], cwd=checkout, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    said = result.stdout + result.stderr
    assert result.returncode == 0, said + "\n--- local mode:\n" + local_mode_there.text()
    assert "got, signature checked: Trainforge Notification Test: vision" in said
    assert "queued for 1 subscription(s) of vision" in said and f"webhook:http://127.0.0.1:{port}/" in said
    assert "1 webhook" in said  # trainforge teams apply shows the stored subscription
