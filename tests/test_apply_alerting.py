"""`service-monitor apply` with alerting's fields on each deployment: thresholds and channels by
name are applied, compared and reset like the other fields, and a bad one is named by its line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service_monitor.api.app import create_app
from service_monitor.client import ApiClient
from service_monitor.services import Services
from tests.test_apply import problems, sync, write

FILE = """\
owner: team-a
monitors:
  - name: shop
    url: https://shop.example/
    failure_threshold: 5
    success_threshold: 1
    channels: [pager, chat]
  - name: blog
    url: https://blog.example/
"""


@pytest.fixture
async def api(services: Services) -> AsyncIterator[ApiClient]:
    transport = httpx.ASGITransport(app=create_app(services=services))
    async with ApiClient("http://test", transport=transport) as client:
        for name in ("pager", "chat"):
            await client.add_channel(name, "webhook", f"http://127.0.0.1:9/{name}")
        yield client


async def test_thresholds_and_channels_are_applied_then_left_alone(
    api: ApiClient, tmp_path: Path
) -> None:
    path = write(tmp_path, FILE)
    first = await sync(api, path)
    assert (first.created, first.failed, first.errors) == (2, 0, [])
    by_name = {m.name: m for m in (await api.list_urls(owner="team-a")).items}
    shop, blog = by_name["shop"], by_name["blog"]
    assert (shop.failure_threshold, shop.success_threshold) == (5, 1)
    assert sorted(shop.channels) == ["chat", "pager"]
    assert (blog.failure_threshold, blog.channels, blog.thresholds) == (None, (), (3, 2))

    again = await sync(api, path)
    assert (again.updated, again.unchanged) == (0, 2)


async def test_fields_removed_from_the_file_go_back_to_the_defaults(
    api: ApiClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await sync(api, write(tmp_path, FILE))
    capsys.readouterr()
    plain = """\
    owner: team-a
    monitors:
      - name: shop
        url: https://shop.example/
        channels: [chat]
      - name: blog
        url: https://blog.example/
    """
    changed = await sync(api, write(tmp_path, plain))
    assert (changed.updated, changed.unchanged) == (1, 1)
    assert "failure_threshold, success_threshold, channels" in capsys.readouterr().out
    [shop] = [m for m in (await api.list_urls(owner="team-a")).items if m.name == "shop"]
    assert (shop.failure_threshold, shop.success_threshold, shop.channels) == (
        None,
        None,
        ("chat",),
    )


async def test_an_unknown_channel_is_reported_by_the_line_that_names_it(
    api: ApiClient, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """\
        owner: team-a
        monitors:
          - name: shop
            url: https://shop.example/
            channels:
              - chat
              - sms
        """,
    )
    outcome = await sync(api, path)
    assert outcome.errors == [f"{path}:7: channels.1: unknown channel 'sms'"]
    assert (await api.list_urls(owner="team-a")).total == 0


def test_bad_alerting_fields_are_named_by_their_line_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """\
        owner: team-a
        monitors:
          - name: a
            url: https://a.example/
            failure_threshold: 0
            success_threshold: yes
          - name: b
            url: https://b.example/
            channels: chat
          - name: c
            url: https://c.example/
            channels: [chat, 7]
        """,
    )
    assert problems(path) == [
        "5: failure_threshold: must be a whole number from 1 to 100, got 0",
        "6: success_threshold: must be a whole number from 1 to 100, got True",
        "9: channels: expected a list of channel names, got str",
        "12: channels.1: expected a channel's name, got 7",
    ]
