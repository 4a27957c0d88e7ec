"""The API reference pages (/docs, /redoc), served entirely by the app: the Swagger UI and
ReDoc bundles come from the `fastapi-offline` package (mounted at `/static/docs-assets`), so
the reference works with no outside network. The pages are our own rather than
fastapi-offline's, because theirs start Swagger UI with an inline script: here the start-up
script is a static file (`/static/docs/swagger-init.js`) reading `data-` attributes, and the
pages keep the strict Content-Security-Policy of every other page (see app/ops/headers.py)."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)
ASSETS_URL = "/static/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"


def mount_assets(app: FastAPI) -> None:
    """Serve the package's bundles; mounted before `/static` so that the longer prefix wins."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")


_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Rights Relay · API reference</title>
<link rel="icon" href="/static/docs/favicon.svg">
"""


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return HTMLResponse(_HEAD + f"""<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
</head>
<body>
<noscript>The API reference needs JavaScript; the spec itself is at /openapi.json.</noscript>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="/static/docs/swagger-init.js"></script>
</body>
</html>""")


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return HTMLResponse(_HEAD + f"""<link rel="stylesheet" href="/static/docs/redoc.css">
</head>
<body>
<noscript>The API reference needs JavaScript; the spec itself is at /openapi.json.</noscript>
<redoc spec-url="/openapi.json"></redoc>
<script src="{ASSETS_URL}/redoc.standalone.js"></script>
</body>
</html>""")
