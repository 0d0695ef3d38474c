from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from trainforge.datasets.preparation import MANIFEST_FORMAT, DatasetPreparationService
from trainforge.errors import DatasetValidationError


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "cats"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "a.txt").write_text("alpha")
    (folder / "images" / "b c.txt").write_text("bravo charlie")
    return folder


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_csv_metadata_gives_a_manifest_with_sizes_and_hashes(dataset: Path) -> None:
    metadata = write(dataset / "labels.csv", "file,label\nimages/a.txt,cat\nimages/b c.txt,dog\n")
    manifest = DatasetPreparationService().prepare(dataset, metadata)
    assert [(f.path, f.size) for f in manifest.files] == [("images/a.txt", 5), ("images/b c.txt", 13)]
    assert manifest.files[0].sha256 == hashlib.sha256(b"alpha").hexdigest()
    body = json.loads(manifest.to_json())
    assert body["format"] == MANIFEST_FORMAT and body["file_count"] == 2 and body["total_bytes"] == 18


def test_jsonl_metadata_is_accepted(dataset: Path, tmp_path: Path) -> None:
    metadata = write(tmp_path / "meta.jsonl", '{"path": "images/a.txt"}\n\n{"path": "images/b c.txt"}\n')
    assert len(DatasetPreparationService().prepare(dataset, metadata).files) == 2


def test_every_bad_reference_is_listed_with_its_line(dataset: Path) -> None:
    metadata = write(
        dataset / "labels.csv",
        "file,label\n"
        "images/a.txt,cat\n"
        "images/missing.txt,cat\n"
        "../secrets.txt,cat\n"
        "/etc/passwd,cat\n"
        "images/a.txt,cat\n"
        "images/\x07bell.txt,cat\n",
    )
    with pytest.raises(DatasetValidationError) as caught:
        DatasetPreparationService().prepare(dataset, metadata)
    messages = [str(p) for p in caught.value.problems]
    assert len(messages) == 5
    assert "labels.csv:3" in messages[0] and "does not exist" in messages[0]
    assert "'..'" in messages[1]
    assert "absolute" in messages[2]
    assert "listed twice" in messages[3]
    assert "control character" in messages[4]


def test_a_symlink_out_of_the_folder_is_refused(dataset: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    (dataset / "link.txt").symlink_to(tmp_path / "outside.txt")
    metadata = write(dataset / "labels.csv", "file\nlink.txt\n")
    with pytest.raises(DatasetValidationError, match="outside the dataset folder"):
        DatasetPreparationService().prepare(dataset, metadata)


def test_metadata_without_a_file_column_is_refused(dataset: Path) -> None:
    metadata = write(dataset / "labels.csv", "name,label\nimages/a.txt,cat\n")
    with pytest.raises(DatasetValidationError, match="no file column"):
        DatasetPreparationService().prepare(dataset, metadata)


def test_empty_metadata_and_wrong_formats_are_refused(dataset: Path) -> None:
    with pytest.raises(DatasetValidationError, match="lists no files"):
        DatasetPreparationService().prepare(dataset, write(dataset / "labels.csv", "file\n"))
    with pytest.raises(DatasetValidationError) as caught:
        DatasetPreparationService().prepare(dataset, write(dataset / "labels.xlsx", "x"))
    assert caught.value.field == "metadata_file"
    with pytest.raises(DatasetValidationError) as caught:
        DatasetPreparationService().prepare(dataset / "nope", dataset / "labels.csv")
    assert caught.value.field == "dataset_folder"


def test_invalid_json_lines_are_named(dataset: Path) -> None:
    metadata = write(dataset / "m.jsonl", '{"file": "images/a.txt"}\n{not json}\n[1]\n')
    with pytest.raises(DatasetValidationError) as caught:
        DatasetPreparationService().prepare(dataset, metadata)
    assert [p.field for p in caught.value.problems] == ["m.jsonl:2", "m.jsonl:3"]


def test_unlisted_files_are_warned_about_not_uploaded(dataset: Path) -> None:
    metadata = write(dataset / "labels.csv", "file\nimages/a.txt\n")
    manifest = DatasetPreparationService().prepare(dataset, metadata)
    assert [f.path for f in manifest.files] == ["images/a.txt"]
    assert "b c.txt" in manifest.warnings[0]


def test_training_settings_shipped_with_the_dataset_go_into_the_manifest(dataset: Path) -> None:
    write(dataset / "trainforge.json", json.dumps({"instance_type": "ml.c5.xlarge"}))
    metadata = write(dataset / "labels.csv", "file\nimages/a.txt\n")
    manifest = DatasetPreparationService().prepare(dataset, metadata)
    assert manifest.training == {"instance_type": "ml.c5.xlarge"}
    assert "trainforge.json" not in manifest.warnings[0]


def test_a_written_manifest_parses_back(dataset: Path) -> None:
    metadata = write(dataset / "labels.csv", "file\nimages/a.txt\n")
    service = DatasetPreparationService()
    manifest = service.prepare(dataset, metadata)
    parsed = service.parse_manifest(manifest.to_json().encode())
    assert parsed.files == manifest.files and parsed.metadata_file == "labels.csv"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "manifest"),
        (b'{"format": "other"}', "manifest.format"),
        (
            json.dumps({"format": MANIFEST_FORMAT, "files": [], "metadata_file": "m.csv"}).encode(),
            "manifest.files",
        ),
        (
            json.dumps(
                {
                    "format": MANIFEST_FORMAT,
                    "metadata_file": "m.csv",
                    "files": [{"path": "../x", "size": 1, "sha256": "0" * 64}],
                }
            ).encode(),
            "manifest.files[0].path",
        ),
    ],
)
def test_bad_manifests_are_refused_naming_the_field(body: bytes, field: str) -> None:
    with pytest.raises(DatasetValidationError) as caught:
        DatasetPreparationService().parse_manifest(body)
    assert caught.value.field == field
