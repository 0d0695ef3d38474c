"""Uploading a dataset through the API's presigned URLs: files first (skipping those already there with the same
sha256, so an interrupted upload resumes), the manifest last, unless the same content already trained."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from trainforge.cli.client import TrainforgeClient
from trainforge.datasets.preparation import DatasetPreparationService, dataset_job_name


class Uploader:
    """Uploads through presigned URLs: files first (skipping those already there with the same sha256), the
    manifest last."""

    def __init__(
        self, client: TrainforgeClient, put: Callable[[str, bytes, Mapping[str, str]], None] | None = None
    ):
        self.client = client
        self.put = put or client.put

    def run(self, folder: Path, metadata: Path, name: str, *, show_progress: bool) -> dict[str, Any]:
        manifest = DatasetPreparationService().prepare(folder, metadata)
        plan = self.client.request(
            "POST",
            "/datasets",
            {
                "name": name,
                "metadata_file": manifest.metadata_file,
                "files": [
                    {"path": f.path, "size": f.size, "sha256": f.sha256, "channel": f.channel}
                    for f in manifest.files
                ],
                "training": manifest.training,
            },
        )
        sources = {f.path: folder / f.path for f in manifest.files}
        sources[manifest.metadata_file] = metadata
        pending = [u for u in plan["uploads"] if not u["already_uploaded"]]
        skipped = [u["path"] for u in plan["uploads"] if u["already_uploaded"]]
        total = sum(sources[u["path"]].stat().st_size for u in pending)
        started, sent, done = time.monotonic(), 0, 0

        def status(_: Any) -> str:
            rate = sent / max(time.monotonic() - started, 1e-6)
            return f"{done}/{len(pending)} files, {sent:,} bytes, {rate / 1e6:.1f} MB/s"

        with click.progressbar(length=max(total, 1), label="uploading", file=sys.stderr, item_show_func=status,
                               hidden=not show_progress) as bar:  # fmt: skip
            for upload in pending:
                data = sources[upload["path"]].read_bytes()
                self.put(upload["url"], data, upload["headers"])
                sent += len(data)
                done += 1
                bar.update(len(data), upload["path"])
        # One dataset content, one job: the job this manifest would start may exist already.
        job_name = dataset_job_name(
            plan["dataset_uri"], DatasetPreparationService().parse_manifest(plan["manifest"]["body"].encode())
        )
        existing = self.client.request("GET", "/jobs", query={"job_name": job_name})["jobs"]
        if not existing:
            self.put(
                plan["manifest"]["url"],
                plan["manifest"]["body"].encode(),
                {"Content-Type": "application/json"},
            )
        return {
            "job_name": job_name,
            "starts_job": manifest.training
            is not None,  # a dataset with its training settings starts its job
            "existing_job": existing[0] if existing else None,
            "dataset_uri": plan["dataset_uri"],
            "uploaded": [u["path"] for u in pending],
            "skipped": skipped,
            "bytes": total,
            "seconds": round(time.monotonic() - started, 3),
            "warnings": manifest.warnings,
        }
