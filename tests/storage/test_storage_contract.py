"""The Storage contract, run against every backend (SQLite and MariaDB)."""

from __future__ import annotations

import pytest

from service_monitor.errors import DuplicateURL, MonitorNotFound
from service_monitor.models import Cause, Check, Counts, MonitorState, Status, TopEntry
from service_monitor.storage import Storage

NOW = 1_800_000_000.0


def ok(monitor_id: int, at: float) -> Check:
    return Check(monitor_id, at, Status.SUCCESS, 200, 12)


def bad(monitor_id: int, at: float) -> Check:
    return Check(monitor_id, at, Status.FAIL, 500, 30, Cause.HTTP_STATUS)


async def test_added_monitor_is_pending_and_readable(storage: Storage) -> None:
    added = await storage.add_monitor("a", "http://www.a.com", NOW)
    assert added.state is MonitorState.PENDING
    assert await storage.get_monitor(added.id) == added
    assert added.created_at == NOW


async def test_same_url_twice_is_a_duplicate_naming_the_first(storage: Storage) -> None:
    first = await storage.add_monitor("a", "http://www.a.com", NOW)
    with pytest.raises(DuplicateURL) as raised:
        await storage.add_monitor("b", "http://WWW.A.com:80/", NOW)
    assert raised.value.existing_id == first.id


async def test_unicode_and_quotes_are_stored_byte_for_byte(storage: Storage) -> None:
    name = "Ünïcode ✓ 'quote' \"double\" <b>&amp; ; DROP TABLE monitors; --"
    url = "https://例え.jp/path?q='1'%20OR%201=1&x=<script>"
    added = await storage.add_monitor(name, url, NOW)
    again = await storage.get_monitor(added.id)
    assert (again.name, again.url) == (name, url)


async def test_longest_allowed_name_and_url_fit(storage: Storage) -> None:
    name = "n" * 100
    url = "http://a.com/" + "x" * (2048 - len("http://a.com/"))
    added = await storage.add_monitor(name, url, NOW)
    again = await storage.get_monitor(added.id)
    assert (len(again.name), len(again.url)) == (100, 2048)


async def test_unknown_monitor_is_not_found(storage: Storage) -> None:
    with pytest.raises(MonitorNotFound, match="monitor 999 not found"):
        await storage.get_monitor(999)
    with pytest.raises(MonitorNotFound):
        await storage.delete_monitor(999)


async def test_deleted_monitor_is_gone_but_its_checks_stay(storage: Storage) -> None:
    monitor = await storage.add_monitor("a", "http://a.com", NOW)
    await storage.activate()
    await storage.add_checks([bad(monitor.id, NOW - 10)])
    await storage.delete_monitor(monitor.id)
    with pytest.raises(MonitorNotFound):
        await storage.get_monitor(monitor.id)
    assert await storage.targets() == []
    assert await storage.list_monitors(10, 0) == ([], 0)
    assert await storage.summary(NOW - 3600) == Counts(success=0, fail=1)
    assert await storage.top(Status.FAIL, NOW - 3600, 10) == []
    with pytest.raises(MonitorNotFound):
        await storage.delete_monitor(monitor.id)


async def test_readding_a_deleted_url_brings_back_its_monitor(storage: Storage) -> None:
    monitor = await storage.add_monitor("a", "http://a.com", NOW)
    await storage.delete_monitor(monitor.id)
    back = await storage.add_monitor("a again", "http://a.com/", NOW + 5)
    assert back.id == monitor.id
    assert back.name == "a again"
    assert back.state is MonitorState.PENDING


async def test_activate_listed_or_all_pending(storage: Storage) -> None:
    a = await storage.add_monitor("a", "http://a.com", NOW)
    b = await storage.add_monitor("b", "http://b.com", NOW)
    c = await storage.add_monitor("c", "http://c.com", NOW)
    assert await storage.activate([a.id]) == 1
    assert [t.monitor_id for t in await storage.targets()] == [a.id]
    assert await storage.activate([a.id]) == 0  # already active
    assert await storage.activate(None) == 2
    assert [t.monitor_id for t in await storage.targets()] == [a.id, b.id, c.id]


async def test_activate_ignores_deleted_monitors(storage: Storage) -> None:
    a = await storage.add_monitor("a", "http://a.com", NOW)
    await storage.delete_monitor(a.id)
    assert await storage.activate([a.id]) == 0
    assert await storage.activate(None) == 0
    assert await storage.targets() == []


async def test_import_upserts_by_url_and_is_idempotent(storage: Storage) -> None:
    rows = [("a", "http://a.com"), ("b", "http://b.com")]
    assert await storage.import_monitors(rows, NOW) == 2
    assert await storage.import_monitors(rows, NOW) == 2
    await storage.import_monitors([("renamed", "http://A.com/")], NOW)
    monitors, total = await storage.list_monitors(10, 0)
    assert total == 2
    assert [(m.name, m.url, m.state) for m in monitors] == [
        ("renamed", "http://a.com", MonitorState.ACTIVE),
        ("b", "http://b.com", MonitorState.ACTIVE),
    ]


async def test_list_monitors_pages_by_id_with_total(storage: Storage) -> None:
    await storage.import_monitors([(f"m{i}", f"http://m{i}.com") for i in range(7)], NOW)
    page, total = await storage.list_monitors(3, 3)
    assert total == 7
    assert [m.name for m in page] == ["m3", "m4", "m5"]
    assert (await storage.list_monitors(3, 6))[0][0].name == "m6"
    assert (await storage.list_monitors(3, 9))[0] == []


async def test_checks_round_trip_newest_first(storage: Storage) -> None:
    m = await storage.add_monitor("a", "http://a.com", NOW)
    checks = [
        ok(m.id, NOW - 30),
        Check(m.id, NOW - 20, Status.FAIL, None, 5000, Cause.TIMEOUT),
        bad(m.id, NOW - 10),
    ]
    await storage.add_checks(checks)
    assert await storage.recent_checks(m.id, 20) == checks[::-1]
    assert await storage.recent_checks(m.id, 1) == [checks[2]]


async def test_monitor_counts_per_window(storage: Storage) -> None:
    m = await storage.add_monitor("a", "http://a.com", NOW)
    other = await storage.add_monitor("b", "http://b.com", NOW)
    await storage.add_checks(
        [ok(m.id, NOW - 10), bad(m.id, NOW - 100), ok(m.id, NOW - 1000), bad(other.id, NOW - 10)]
    )
    counts = await storage.monitor_counts(m.id, [NOW - 50, NOW - 500, NOW - 5000])
    assert counts == [Counts(1, 0), Counts(1, 1), Counts(2, 1)]


async def test_top_orders_by_count_then_by_the_monitor_added_first(storage: Storage) -> None:
    ids = {}
    for name, url in [
        ("b", "http://b.com"),
        ("a", "http://a2.com"),
        ("a", "http://a1.com"),
        ("c", "http://c.com"),
        ("zero", "http://zero.com"),
    ]:
        ids[url] = (await storage.add_monitor(name, url, NOW)).id
    checks = []
    for url, n in [
        ("http://b.com", 2),
        ("http://a2.com", 2),
        ("http://a1.com", 2),
        ("http://c.com", 5),
    ]:
        checks += [bad(ids[url], NOW - i) for i in range(1, n + 1)]
    checks.append(ok(ids["http://zero.com"], NOW - 1))
    await storage.add_checks(checks)
    assert await storage.top(Status.FAIL, NOW - 3600, 10) == [
        TopEntry("c", "http://c.com", 5),
        TopEntry("b", "http://b.com", 2),
        TopEntry("a", "http://a2.com", 2),
        TopEntry("a", "http://a1.com", 2),
    ]
    assert await storage.top(Status.FAIL, NOW - 3600, 2) == [
        TopEntry("c", "http://c.com", 5),
        TopEntry("b", "http://b.com", 2),
    ]


async def test_top_and_summary_include_the_window_start_and_exclude_before(
    storage: Storage,
) -> None:
    m = await storage.add_monitor("a", "http://a.com", NOW)
    since = NOW - 3600
    await storage.add_checks(
        [bad(m.id, since - 1), bad(m.id, since - 0.001), bad(m.id, since), bad(m.id, since + 1)]
    )
    assert await storage.top(Status.FAIL, since, 10) == [TopEntry("a", "http://a.com", 2)]
    assert await storage.summary(since) == Counts(success=0, fail=2)


async def test_batch_of_checks_is_stored_whole(storage: Storage) -> None:
    m = await storage.add_monitor("a", "http://a.com", NOW)
    await storage.add_checks([ok(m.id, NOW - i) for i in range(1, 2001)])
    assert await storage.summary(NOW - 3600) == Counts(success=2000, fail=0)


async def test_ping_answers(storage: Storage) -> None:
    await storage.ping()
