"""Dataset preparation: check a dataset folder against its metadata file and describe it in a manifest.

The metadata file (CSV with a header, or JSON Lines) names one file per row in a ``file`` column (``path``,
``file_name`` or ``filename`` also work). Every referenced file must exist inside the folder; absolute paths,
``..``, control characters and duplicates are refused. The manifest records each file's size and sha256; it is
uploaded last, so its arrival in S3 means the dataset is complete.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trainforge.errors import DatasetValidationError, Problem
from trainforge.inputs import MalformedJsonError, check_relative_path, normalise_path, parse_json
from trainforge.models.sagemaker_limits import CHANNEL_NAME_PATTERN, DEFAULT_CHANNEL

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "trainforge.dataset/1"
JOB_SETTINGS_NAME = "trainforge.json"
FILE_COLUMNS = ("file", "path", "file_name", "filename")
MAX_MANIFEST_BYTES = 5 * 1024 * 1024
_HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ManifestFile:
    path: str
    size: int
    sha256: str
    channel: str = DEFAULT_CHANNEL


def channel_of(path: str, declared: Any = None) -> str:
    """The input channel a dataset file belongs to: the metadata's ``channel`` column when it names one, else
    the file's top folder (``train/a.csv`` is in ``train``), else ``training``."""
    if isinstance(declared, str) and declared.strip():
        return declared.strip()
    top, _, rest = path.partition("/")
    return top if rest and CHANNEL_NAME_PATTERN.fullmatch(top) else DEFAULT_CHANNEL


def channel_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not CHANNEL_NAME_PATTERN.fullmatch(name):
        return "channel must be 1-64 letters, digits, '.', '-' or '_' (SageMaker's channel names)"
    return None


@dataclass
class DatasetManifest:
    """A complete description of an uploaded dataset."""

    metadata_file: str
    files: list[ManifestFile]
    training: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def content_digest(self) -> str:
        """What the dataset is: its files (path, size, sha256, channel), metadata file and training settings;
        not when the manifest was written."""
        content = {
            "metadata_file": self.metadata_file,
            "files": sorted([f.path, f.size, f.sha256, f.channel] for f in self.files),
            "training": self.training,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()

    def to_json(self) -> str:
        body: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "metadata_file": self.metadata_file,
            "file_count": len(self.files),
            "total_bytes": self.total_bytes,
            "files": [
                {"path": f.path, "size": f.size, "sha256": f.sha256, "channel": f.channel} for f in self.files
            ],
            "created_at": self.created_at,
        }
        if self.training is not None:
            body["training"] = self.training
        return json.dumps(body, indent=2, sort_keys=True)


def dataset_job_name(dataset_uri: str, manifest: DatasetManifest) -> str:
    """The job a dataset's arrival starts, named for where it is and what it holds: the same content in the
    same folder always names the same job, so uploading it again starts nothing."""
    folder = dataset_uri.rstrip("/")
    digest = hashlib.sha256(f"{folder}\n{manifest.content_digest()}".encode()).hexdigest()[:10]
    stem = re.sub(r"[^a-z0-9]+", "-", posixpath.basename(folder).lower()).strip("-")[:48].strip("-")
    return f"ds-{stem or 'dataset'}-{digest}"


class DatasetPreparationService:
    """Validates a dataset folder and builds its manifest; reads and checks manifests found in S3."""

    def rows(self, metadata_file: Path) -> Iterator[tuple[int, Mapping[str, Any] | None, str | None]]:
        """Yield (line number, row, parse error) from a CSV or JSON Lines metadata file."""
        text = metadata_file.read_text(encoding="utf-8-sig")
        if metadata_file.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, None, f"is not valid JSON ({exc.msg})"
                    continue
                if not isinstance(row, dict):
                    yield number, None, "must be a JSON object"
                    continue
                yield number, row, None
        else:
            reader = csv.DictReader(io.StringIO(text))
            for row in reader:
                yield reader.line_num, row, None

    def prepare(self, dataset_folder: str | Path, metadata_file: str | Path) -> DatasetManifest:
        """Check the folder against its metadata file; raise :class:`DatasetValidationError` listing every
        problem, or return the manifest (sizes and sha256 of every referenced file)."""
        folder = Path(dataset_folder)
        metadata = Path(metadata_file)
        problems: list[Problem] = []
        if not folder.is_dir():
            raise DatasetValidationError(f"dataset folder {folder} does not exist", field="dataset_folder")
        if not metadata.is_file():
            raise DatasetValidationError(f"metadata file {metadata} does not exist", field="metadata_file")
        if metadata.suffix.lower() not in (".csv", ".jsonl", ".ndjson", ".json"):
            raise DatasetValidationError(
                "metadata file must be CSV (.csv) or JSON Lines (.jsonl)", field="metadata_file"
            )
        root = folder.resolve()
        seen: dict[str, int] = {}
        paths: list[tuple[str, str]] = []
        rows = 0
        try:
            for number, row, error in self.rows(metadata):
                rows += 1
                where = f"{metadata.name}:{number}"
                if error or row is None:
                    problems.append(Problem(where, error or "is empty"))
                    continue
                column = next((c for c in FILE_COLUMNS if c in row), None)
                if column is None:
                    problems.append(Problem(where, f"has no file column (one of {', '.join(FILE_COLUMNS)})"))
                    continue
                raw = row[column]
                reason = check_relative_path(raw)
                if reason:
                    problems.append(Problem(where, f"{column} {raw!r} {reason}"))
                    continue
                rel = normalise_path(raw)
                if rel in seen:
                    problems.append(Problem(where, f"{rel!r} is listed twice (first at line {seen[rel]})"))
                    continue
                seen[rel] = number
                target = (folder / rel).resolve()
                if not target.is_relative_to(root):
                    problems.append(Problem(where, f"{rel!r} leads outside the dataset folder"))
                elif not target.is_file():
                    problems.append(Problem(where, f"{rel!r} does not exist in {folder}"))
                elif reason := channel_problem(channel := channel_of(rel, row.get("channel"))):
                    problems.append(Problem(where, f"{reason}, got {channel!r}"))
                else:
                    paths.append((rel, channel))
        except UnicodeDecodeError:
            raise DatasetValidationError("metadata file is not UTF-8 text", field="metadata_file") from None
        except csv.Error as exc:
            raise DatasetValidationError(
                f"metadata file is not valid CSV: {exc}", field="metadata_file"
            ) from None
        if rows == 0:
            problems.append(Problem("metadata_file", "lists no files"))
        training = self._job_settings(folder, problems)
        if problems:
            raise DatasetValidationError.from_problems(problems, "dataset")
        files = [self.describe_file(folder / p, p, channel) for p, channel in paths]
        listed = {p for p, _ in paths} | {JOB_SETTINGS_NAME}
        if metadata.resolve().is_relative_to(root):
            listed.add(metadata.resolve().relative_to(root).as_posix())
        unlisted = sorted(
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and p.relative_to(folder).as_posix() not in listed
        )
        warnings = (
            [f"{len(unlisted)} file(s) not in the metadata file are not uploaded: {unlisted[:5]}"]
            if unlisted
            else []
        )
        return DatasetManifest(metadata_file=metadata.name, files=files, training=training, warnings=warnings)

    @staticmethod
    def describe_file(path: Path, relative: str, channel: str = DEFAULT_CHANNEL) -> ManifestFile:
        digest = hashlib.sha256()
        size = 0
        with path.open("rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        return ManifestFile(path=relative, size=size, sha256=digest.hexdigest(), channel=channel)

    @staticmethod
    def _job_settings(folder: Path, problems: list[Problem]) -> dict[str, Any] | None:
        """Optional training settings shipped with the dataset (``trainforge.json``), used by S3-drop jobs."""
        path = folder / JOB_SETTINGS_NAME
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(Problem(JOB_SETTINGS_NAME, f"is not valid JSON: {exc}"))
            return None
        if not isinstance(data, dict):
            problems.append(Problem(JOB_SETTINGS_NAME, "must be a JSON object of training settings"))
            return None
        return data

    def parse_manifest(self, body: bytes) -> DatasetManifest:
        """Read a manifest found in S3; raise :class:`DatasetValidationError` naming what is wrong."""
        if len(body) > MAX_MANIFEST_BYTES:
            raise DatasetValidationError("manifest is larger than 5 MiB", field="manifest")
        try:
            data = parse_json(body)
        except MalformedJsonError as exc:
            raise DatasetValidationError(f"manifest: {exc.message}", field="manifest") from None
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise DatasetValidationError(
                f"manifest format must be {MANIFEST_FORMAT!r}", field="manifest.format"
            )
        problems: list[Problem] = []
        files: list[ManifestFile] = []
        raw_files = data.get("files")
        if not isinstance(raw_files, list) or not raw_files:
            problems.append(Problem("manifest.files", "must be a non-empty list"))
            raw_files = []
        for index, entry in enumerate(raw_files):
            where = f"manifest.files[{index}]"
            if not isinstance(entry, dict):
                problems.append(Problem(where, "must be an object with path, size and sha256"))
                continue
            reason = check_relative_path(entry.get("path"))
            size, sha = entry.get("size"), entry.get("sha256")
            if reason:
                problems.append(Problem(f"{where}.path", reason))
            elif not isinstance(size, int) or isinstance(size, bool) or size < 0:
                problems.append(Problem(f"{where}.size", "must be a non-negative integer"))
            elif not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
                problems.append(Problem(f"{where}.sha256", "must be a 64-character hex digest"))
            elif reason := channel_problem(channel := entry.get("channel", DEFAULT_CHANNEL)):
                problems.append(Problem(f"{where}.channel", reason))
            else:
                files.append(ManifestFile(normalise_path(entry["path"]), size, sha, channel))
        training = data.get("training")
        if training is not None and not isinstance(training, dict):
            problems.append(Problem("manifest.training", "must be an object of training settings"))
            training = None
        metadata_file = data.get("metadata_file")
        if not isinstance(metadata_file, str) or check_relative_path(metadata_file):
            problems.append(Problem("manifest.metadata_file", "must name the metadata file"))
        if problems:
            raise DatasetValidationError.from_problems(problems, "manifest")
        return DatasetManifest(
            metadata_file=str(metadata_file),
            files=files,
            training=training,
            created_at=str(data.get("created_at", "")),
        )
