"""Datasets: presigned uploads, files first and the manifest last."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.api_gateway import Router

from trainforge.api.callers import caller_of, submission_team
from trainforge.api.parameters import DatasetName, TeamQuery
from trainforge.aws import client
from trainforge.models import api
from trainforge.runtime import Runtime


def router(runtime: Runtime, logger: Logger, metrics: Metrics) -> Router:
    """The datasets routes, served by ``runtime``'s settings, database and services."""
    router = Router()

    @router.post(
        "/datasets",
        summary="Presigned upload URLs for a dataset's files and its manifest",
        tags=["datasets"],
        operation_id="createDatasetUpload",
        responses=api.responses(
            {200: (api.DatasetUploadResponse, "where to PUT each file, and the manifest last")},
            400,
            413,
            415,
            502,
        ),
    )
    def dataset_upload(request: api.DatasetUploadRequest) -> api.DatasetUploadResponse:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.datasets.preparation import ManifestFile, channel_of
        from trainforge.datasets.uploads import presign_dataset_upload

        team = submission_team(runtime, caller_of(runtime, router), request.team)
        result = presign_dataset_upload(
            runtime.settings,
            client("s3", runtime.settings.region),
            name=request.name,
            metadata_file=request.metadata_file,
            files=[
                ManifestFile(f.path, f.size, f.sha256, channel_of(f.path, f.channel)) for f in request.files
            ],
            training=request.training,
            team=team.name if team is not None else None,
        )
        return api.DatasetUploadResponse.model_validate(result)

    @router.get(
        "/datasets/<name>",
        summary="An uploaded dataset: its URI, whether it is complete, its files and channels",
        tags=["datasets"],
        operation_id="getDataset",
        responses=api.responses({200: (api.Dataset, "the dataset")}, 404),
    )
    def dataset(name: DatasetName, team: TeamQuery = None) -> api.Dataset:
        # only this route needs it: a cold start that serves another route does not load it
        from trainforge.datasets.inputs import describe_dataset

        owner = submission_team(runtime, caller_of(runtime, router), team)
        found = describe_dataset(
            runtime.settings, client("s3", runtime.settings.region), name, owner.name if owner else None
        )
        return api.Dataset.model_validate(found)

    return router
