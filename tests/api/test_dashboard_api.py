"""The dashboard's files as the API serves them (api/dashboard.py): headers, caching, and nothing
fetched from another origin. What the page does is tests/browser's."""

from __future__ import annotations

import re
from importlib.resources import files

import httpx

from service_monitor.api.dashboard import CSP

STATIC = files("service_monitor.api") / "static"


async def test_the_page_is_served_with_a_strict_content_security_policy(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == CSP
    assert "unsafe-inline" not in CSP
    assert "unsafe-eval" not in CSP
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-cache"
    assert "<script>" not in page.text  # nothing inline
    assert "style=" not in page.text
    assert (await client.head("/")).status_code == 200


async def test_assets_are_named_by_their_hash_and_cached_for_a_year(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/")).text
    assets = re.findall(r'(?:src|href)="(/ui/[^"]+)"', page)
    assert sorted(a.split("?")[0] for a in assets) == ["/ui/app.css", "/ui/app.js", "/ui/icon.svg"]
    for asset in assets:
        answer = await client.get(asset)
        assert answer.status_code == 200, asset
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert asset.endswith("?v=" + answer.headers["etag"].strip('"'))
        again = await client.get(asset, headers={"if-none-match": answer.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""
    types = {a.split("?")[0]: (await client.get(a)).headers["content-type"] for a in assets}
    assert types["/ui/app.js"] == "text/javascript; charset=utf-8"
    assert types["/ui/app.css"] == "text/css; charset=utf-8"
    unknown = await client.get("/ui/secrets.txt")
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Not Found"}
    assert (await client.get("/ui/../config.py")).status_code == 404


async def test_the_dashboard_is_left_out_of_the_api_description(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/" not in paths
    assert not [path for path in paths if path.startswith("/ui")]


def test_the_dashboard_names_no_other_origin() -> None:
    """No CDN, web font or external image: the page works offline and inside a VPC."""
    page = (STATIC / "index.html").read_text()
    links = re.findall(r'(?:src|href|action)="([^"]*)"', page)
    assert links
    assert all(link.startswith(("/", "#")) and not link.startswith("//") for link in links), links
    style = (STATIC / "app.css").read_text()
    for loads in ("url(", "@import", "@font-face"):
        assert loads not in style
    # The only absolute URL in the script and the icon is the SVG namespace: a name, not fetched.
    for name in ("app.js", "icon.svg"):
        text = (STATIC / name).read_text()
        urls = set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'`)]*", text))
        assert urls <= {"http://www.w3.org/2000/svg"}, (name, urls)
