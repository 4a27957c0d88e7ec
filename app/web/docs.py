"""The API reference pages (/docs, /redoc) under the same Content-Security-Policy as every
other page: no inline script or style. Swagger UI's start-up script is a static file
(`/static/docs/swagger-init.js`) that reads its settings from `data-` attributes.

The one exception (`DOCS_ASSET_ORIGIN` in app/ops/headers.py): the Swagger UI and ReDoc bundles
still load from their CDN, so these two pages, and only they, allow scripts and styles from
that origin (and ReDoc its `blob:` search worker). Serving the bundles offline removes it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.ops.headers import DOCS_ASSET_ORIGIN

router = APIRouter(include_in_schema=False)
SWAGGER_JS = f"{DOCS_ASSET_ORIGIN}/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
SWAGGER_CSS = f"{DOCS_ASSET_ORIGIN}/npm/swagger-ui-dist@5/swagger-ui.css"
REDOC_JS = f"{DOCS_ASSET_ORIGIN}/npm/redoc@2/bundles/redoc.standalone.js"


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return HTMLResponse(f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Rights Relay · API reference</title>
<link rel="stylesheet" href="{SWAGGER_CSS}">
<link rel="icon" href="/static/docs/favicon.svg">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{SWAGGER_JS}"></script>
<script src="/static/docs/swagger-init.js"></script>
</body>
</html>""")


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return HTMLResponse(f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Rights Relay · API reference</title>
<link rel="stylesheet" href="/static/docs/redoc.css">
<link rel="icon" href="/static/docs/favicon.svg">
</head>
<body>
<noscript>The API reference needs JavaScript; the spec itself is at /openapi.json.</noscript>
<redoc spec-url="/openapi.json"></redoc>
<script src="{REDOC_JS}"></script>
</body>
</html>""")
