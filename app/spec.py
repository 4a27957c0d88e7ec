"""The committed artefacts generated from the app: the OpenAPI spec."""

from __future__ import annotations

import json

from pydantic import SecretStr

from app.config import Settings


def openapi_json() -> str:
    from app.main import create_app

    # Settings do not change the spec; a fixed dummy secret keeps generation side-effect free.
    app = create_app(Settings(secret_key=SecretStr("spec-generation"), environment="test"))
    return json.dumps(app.openapi(), indent=2, sort_keys=False) + "\n"
