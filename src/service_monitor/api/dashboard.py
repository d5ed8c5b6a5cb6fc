"""The dashboard: `/` serves one HTML page, `/ui/...` its script, style sheet and icon.

Plain files from `api/static/`, read once at start-up: no build step, nothing fetched from another
origin (no CDN, no web font), so the page works offline and inside a VPC. Everything it shows comes
from the API's own JSON endpoints, fetched by `app.js` with the key the user typed, if any; the
page itself is public (like `/docs`), since it holds no data.

A strict Content-Security-Policy allows scripts, styles and connections to this origin only, and
no inline script or style. Assets are named in the page with their content hash (`?v=...`), so
they are cached for a year and a new release is fetched at once; the page itself is revalidated.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class _Asset:
    body: bytes
    media_type: str
    etag: str


def _read(name: str) -> bytes:
    return (importlib.resources.files(__package__) / "static" / name).read_bytes()


def _asset(body: bytes, media_type: str) -> _Asset:
    return _Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:16] + '"')


def load_assets() -> tuple[_Asset, dict[str, _Asset]]:
    """index.html, with each asset's URL carrying its hash, and the assets by name."""
    assets = {name: _asset(_read(name), media) for name, media in _ASSETS.items()}
    page = _read("index.html").decode()
    for name, asset in assets.items():
        page = page.replace(f"/ui/{name}", f"/ui/{name}?v={asset.etag.strip(chr(34))}")
    return _asset(page.encode(), "text/html; charset=utf-8"), assets


def _answer(request: Request, asset: _Asset, cache_control: str) -> Response:
    headers = {**_PAGE_HEADERS, "ETag": asset.etag, "Cache-Control": cache_control}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def dashboard_routes() -> list[BaseRoute]:
    """Plain Starlette routes (not in the OpenAPI schema, no query parameter refused: the assets'
    `?v=` is for caches only)."""
    page, assets = load_assets()

    async def index(request: Request) -> Response:
        return _answer(request, page, "no-cache")

    async def asset(request: Request) -> Response:
        found = assets.get(request.path_params["name"])
        if found is None:
            return Response(
                b'{"detail":"Not Found"}', status_code=404, media_type="application/json"
            )
        return _answer(request, found, "public, max-age=31536000, immutable")

    return [
        Route("/", index, methods=["GET", "HEAD"], include_in_schema=False),
        Route("/ui/{name}", asset, methods=["GET", "HEAD"], include_in_schema=False),
    ]
