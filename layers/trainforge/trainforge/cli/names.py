"""What a user calls things, as the API names them: an image by the tag they built, a dataset by the name they
uploaded it under."""

from __future__ import annotations

from trainforge.cli.context import CliError, Context


def image_of(obj: Context, image: str) -> str:
    """An image URI as given, or the image of the newest successful build of that tag (trainforge build --tag)."""
    if "/" in image:
        return image
    found = obj.client.request("GET", "/builds", query={"tag": image, "status": "SUCCEEDED", "limit": 1})
    if not found["builds"]:
        raise CliError(
            f"no successful build of tag {image!r}: build it (trainforge build --source DIR --tag {image} --wait), "
            "or give the image's URI",
            code="unknown_image",
            problems=[{"field": "image_uri", "message": f"no successful build of tag {image!r}"}],
        )
    return str(found["builds"][0]["image_uri"])


def dataset_of(obj: Context, dataset: str) -> str:
    """A dataset URI as given, or the URI of the dataset uploaded under that name (trainforge upload)."""
    if dataset.startswith("s3://"):
        return dataset
    found = obj.client.request("GET", f"/datasets/{dataset}")
    if not found["complete"]:
        raise CliError(
            f"dataset {dataset!r} is not complete (its manifest, uploaded last, is missing): run its upload again",
            code="incomplete_dataset",
            problems=[{"field": "dataset_uri", "message": f"dataset {dataset!r} is not complete"}],
        )
    return str(found["dataset_uri"])
