"""The interactive API documentation (Swagger UI at ``/api/docs``), served entirely by Loa.

FastAPI's default page loads Swagger UI from a CDN and starts it with an inline script; both break
an installation without Internet access and the content security policy (``loa.web.security``).
The Swagger UI files come from the ``fastapi-offline`` package (its ``static`` folder: Swagger UI 5,
MIT licence), mounted under ``/api/docs/assets``; a small file of our own starts it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_PATH = "/api/docs"
ASSETS_PATH = "/api/docs/assets"

_PAGE = """<!doctype html>
<html lang="vi">
<head>
  <meta charset="utf-8">
  <title>{title} · Swagger UI</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
  <link rel="icon" href="{assets}/favicon.png">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script src="/static/swagger-init.js"></script>
</body>
</html>
"""


def swagger_assets_dir() -> Path:
    """The folder of Swagger UI files in the installed ``fastapi-offline`` (found, not imported)."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fastapi-offline package (Swagger UI files) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def install_api_docs(app: FastAPI) -> None:
    """Called by ``create_app`` (which passes ``docs_url=None`` to FastAPI)."""
    page = _PAGE.format(title=app.title, assets=ASSETS_PATH, openapi_url=app.openapi_url)
    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_assets_dir()), name="api-docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return HTMLResponse(page)
