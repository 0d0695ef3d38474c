"""`python -m lambdas.api.openapi FILE` writes the API's OpenAPI document, as the handler serves it, to FILE."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def document() -> str:
    # writing the document imports the handler as a cold start would
    from lambdas.api.handler import app
    from trainforge.api.app import openapi_json

    return json.dumps(json.loads(openapi_json(app)), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(document())
