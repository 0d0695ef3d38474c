"""Build the shared Lambda layer without Docker: arm64 wheels for the Lambda runtime's Python, the trainforge
package, byte-compiled by an interpreter of that same version.

`python -m stacks.layer_build` (``make layer``) builds ``build/layer``; it is skipped when nothing changed.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "layers" / "trainforge" / "trainforge"
REQUIREMENTS = ROOT / "requirements.txt"
OUTPUT = ROOT / "build" / "layer"
# The Lambda runtime, pinned: every build machine builds the layer (wheels, byte-code) for it, so every deploy runs
# the same Python. TRAINFORGE_LAMBDA_PYTHON overrides it (3.12 and newer: SnapStart's minimum).
LAMBDA_PYTHON = "3.13"
# local mode's stand-ins, the command, the Python client and the web console's files never run in Lambda
EXCLUDED_PACKAGE_PARTS = ("local", "cli", "client", "console_assets")


def interpreter_for(version: str) -> str | None:
    """A Python of exactly ``version`` on this machine (PATH, then pyenv), or None."""
    found = shutil.which(f"python{version}")
    candidates = [found] if found else []
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(
        glob.glob(str(pyenv_root / "versions" / f"{version}.*" / "bin" / f"python{version}"))
    )
    for candidate in candidates:
        if (
            candidate
            and subprocess.run([candidate, "-c", "import sys"], check=False, capture_output=True).returncode
            == 0
        ):
            return candidate
    return None


def runtime_version() -> str:
    """The Lambda Python version the layer targets: the pinned one, or TRAINFORGE_LAMBDA_PYTHON."""
    return os.environ.get("TRAINFORGE_LAMBDA_PYTHON") or LAMBDA_PYTHON


def _fingerprint(version: str) -> str:
    digest = hashlib.sha256(version.encode())
    digest.update(REQUIREMENTS.read_bytes())
    for path in sorted(p for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        if path.relative_to(PACKAGE).parts[0] in EXCLUDED_PACKAGE_PARTS:
            continue
        digest.update(path.relative_to(PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build(output: Path = OUTPUT, version: str | None = None) -> Path:
    version = version or runtime_version()
    stamp = output / ".fingerprint"
    fingerprint = _fingerprint(version)
    if stamp.is_file() and stamp.read_text() == fingerprint:
        return output
    shutil.rmtree(output, ignore_errors=True)
    target = output / "python"
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", version,
            "--only-binary=:all:", "--target", str(target), "-r", str(REQUIREMENTS),
        ],
        check=True,
    )  # fmt: skip
    shutil.copytree(
        PACKAGE,
        target / "trainforge",
        ignore=lambda directory, names: [
            n
            for n in names
            if n == "__pycache__" or (Path(directory) == PACKAGE and n in EXCLUDED_PACKAGE_PARTS)
        ],
    )
    for leftover in list(target.rglob("__pycache__")):
        shutil.rmtree(leftover, ignore_errors=True)
    compiler = interpreter_for(version)
    if compiler:
        # unchecked-hash: the asset's zip resets timestamps, which would make timestamp-checked .pyc stale.
        subprocess.run(
            [
                compiler,
                "-m",
                "compileall",
                "-q",
                "-j",
                "0",
                "--invalidation-mode",
                "unchecked-hash",
                str(target),
            ],
            check=True,
        )
    else:
        # The same runtime and the same wheels either way; only the first import of each module is slower.
        print(f"warning: no Python {version} here to byte-compile with; the layer ships without byte-code "
              f"(install Python {version}, e.g. with pyenv, for faster cold starts)", file=sys.stderr)  # fmt: skip
    (output / "runtime-version").write_text(version)
    stamp.write_text(fingerprint)
    return output


def built_version(output: Path = OUTPUT) -> str:
    marker = output / "runtime-version"
    if not marker.is_file():
        raise SystemExit("the Lambda layer is not built: run `make layer` (python -m stacks.layer_build)")
    return marker.read_text().strip()


if __name__ == "__main__":
    path = build()
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    print(f"layer: {path} (python{built_version(path)}, {size / 1e6:.1f} MB unzipped)")
