"""The storage contract of issue 15, run against every backend (SQLite and MariaDB): monitors keep
their check and owner, and checks their detail, degraded flag and TLS expiry."""

from __future__ import annotations

import asyncio

import pytest

from service_monitor.check_spec import (
    DEFAULT_CHECK,
    CheckSpec,
    LatencyAssertion,
    RequestSpec,
    StatusAssertion,
)
from service_monitor.errors import DuplicateURL, MonitorNotFound
from service_monitor.models import (
    MAX_DETAIL_LENGTH,
    Cause,
    Check,
    Counts,
    Monitor,
    MonitorState,
    Status,
)
from service_monitor.storage import Storage
from service_monitor.storage.sql import SQLStorage

NOW = 1_800_000_000.0

HEAD = CheckSpec(request=RequestSpec(method="HEAD"))
WITH_SECRET = CheckSpec(
    request=RequestSpec(method="POST", headers={"Authorization": "Bearer s3cret"}, body="{}"),
    assertions=[
        StatusAssertion(type="status", codes=["2xx", 301]),
        LatencyAssertion(type="latency", below_ms=800),
    ],
    degraded_after_ms=500,
)


async def test_a_monitor_keeps_its_check_and_owner(storage: Storage) -> None:
    added = await storage.add_monitor("a", "http://a.com", NOW, check=WITH_SECRET, owner="team-a")
    assert (added.check, added.owner) == (WITH_SECRET, "team-a")
    assert await storage.get_monitor(added.id) == added
    # The store keeps the secret itself: the compute sends it, the API redacts it.
    stored = (await storage.get_monitor(added.id)).check
    assert stored.request.headers["Authorization"] == "Bearer s3cret"
    assert (await storage.list_monitors(10, 0))[0] == [added]


async def test_a_bare_monitor_has_the_default_check_and_no_owner(storage: Storage) -> None:
    added = await storage.add_monitor("a", "http://a.com", NOW)
    again = await storage.get_monitor(added.id)
    assert again.check is DEFAULT_CHECK
    assert again.owner is None


async def test_one_url_with_two_different_checks_is_two_monitors(storage: Storage) -> None:
    get = await storage.add_monitor("get", "http://a.com", NOW)
    head = await storage.add_monitor("head", "http://A.com:80/", NOW, check=HEAD)
    assert get.id != head.id
    with pytest.raises(DuplicateURL) as raised:
        await storage.add_monitor("head again", "http://a.com/", NOW, check=HEAD)
    assert raised.value.existing_id == head.id


async def test_the_default_check_given_explicitly_is_the_bare_monitor(storage: Storage) -> None:
    bare = await storage.add_monitor("a", "http://a.com", NOW)
    with pytest.raises(DuplicateURL) as raised:
        await storage.add_monitor("b", "http://a.com", NOW, check=CheckSpec())
    assert raised.value.existing_id == bare.id


async def test_readding_a_deleted_monitor_brings_it_back_with_the_new_owner(
    storage: Storage,
) -> None:
    first = await storage.add_monitor("a", "http://a.com", NOW, check=HEAD, owner="old")
    await storage.delete_monitor(first.id)
    back = await storage.add_monitor("b", "http://a.com", NOW + 60, check=HEAD, owner="new")
    assert back == Monitor(first.id, "b", "http://a.com", NOW, MonitorState.PENDING, HEAD, "new")


async def test_update_changes_only_what_is_given(storage: Storage) -> None:
    added = await storage.add_monitor("a", "http://a.com", NOW, owner="team")
    renamed = await storage.update_monitor(added.id, name="b")
    assert renamed == Monitor(
        added.id, "b", "http://a.com", NOW, MonitorState.PENDING, owner="team"
    )
    moved = await storage.update_monitor(added.id, url="https://b.com/x", check=WITH_SECRET)
    assert (moved.name, moved.url, moved.check, moved.owner) == (
        "b",
        "https://b.com/x",
        WITH_SECRET,
        "team",
    )
    assert await storage.get_monitor(added.id) == moved


async def test_update_sets_and_clears_the_owner(storage: Storage) -> None:
    added = await storage.add_monitor("a", "http://a.com", NOW)
    assert (await storage.update_monitor(added.id, owner="ops")).owner == "ops"
    assert (await storage.get_monitor(added.id)).owner == "ops"
    assert (await storage.update_monitor(added.id, clear_owner=True)).owner is None
    assert (await storage.get_monitor(added.id)).owner is None
    with pytest.raises(ValueError, match="not both"):
        await storage.update_monitor(added.id, owner="x", clear_owner=True)


async def test_update_with_nothing_new_answers_the_monitor_as_it_is(storage: Storage) -> None:
    added = await storage.add_monitor("a", "http://a.com", NOW, check=HEAD, owner="o")
    same = await storage.update_monitor(
        added.id, name="a", url="http://a.com", check=CheckSpec(request=RequestSpec(method="HEAD"))
    )
    assert same == added
    assert await storage.update_monitor(added.id) == added


async def test_update_back_to_the_default_check_makes_it_a_bare_monitor(storage: Storage) -> None:
    added = await storage.add_monitor("a", "http://a.com", NOW, check=HEAD)
    await storage.update_monitor(added.id, check=DEFAULT_CHECK)
    assert (await storage.get_monitor(added.id)).check is DEFAULT_CHECK
    with pytest.raises(DuplicateURL) as raised:
        await storage.add_monitor("bare", "http://a.com/", NOW)
    assert raised.value.existing_id == added.id


async def test_update_onto_another_monitors_url_and_check_is_a_duplicate(storage: Storage) -> None:
    first = await storage.add_monitor("first", "http://a.com", NOW, check=HEAD)
    second = await storage.add_monitor("second", "http://b.com", NOW)
    with pytest.raises(DuplicateURL) as raised:
        await storage.update_monitor(second.id, name="renamed", url="http://a.com/", check=HEAD)
    assert raised.value.existing_id == first.id
    assert await storage.get_monitor(second.id) == second  # nothing of it was written
    # The same URL with another check is allowed.
    moved = await storage.update_monitor(second.id, url="http://a.com/")
    assert moved.url == "http://a.com/"


async def test_a_deleted_monitor_does_not_block_an_update_onto_its_url(storage: Storage) -> None:
    gone = await storage.add_monitor("gone", "http://a.com", NOW)
    await storage.add_checks([Check(gone.id, NOW, Status.SUCCESS, 200, 5)])
    await storage.delete_monitor(gone.id)
    live = await storage.add_monitor("live", "http://b.com", NOW)
    moved = await storage.update_monitor(live.id, url="http://a.com")
    assert moved.url == "http://a.com"
    # The deleted one stays deleted with its checks; the URL now belongs to the live one.
    with pytest.raises(MonitorNotFound):
        await storage.get_monitor(gone.id)
    assert len(await storage.recent_checks(gone.id, 10)) == 1
    with pytest.raises(DuplicateURL) as raised:
        await storage.add_monitor("again", "http://a.com", NOW)
    assert raised.value.existing_id == live.id


async def test_updating_an_unknown_or_deleted_monitor_is_not_found(storage: Storage) -> None:
    with pytest.raises(MonitorNotFound):
        await storage.update_monitor(999, name="x")
    added = await storage.add_monitor("a", "http://a.com", NOW)
    await storage.delete_monitor(added.id)
    with pytest.raises(MonitorNotFound):
        await storage.update_monitor(added.id, name="x")


async def test_list_monitors_filters_by_exact_owner(storage: Storage) -> None:
    a = await storage.add_monitor("a", "http://a.com", NOW, owner="team")
    await storage.add_monitor("b", "http://b.com", NOW, owner="Team")
    await storage.add_monitor("c", "http://c.com", NOW)
    d = await storage.add_monitor("d", "http://d.com", NOW, owner="team")
    await storage.add_monitor("e", "http://e.com", NOW, owner="team-two")
    assert await storage.list_monitors(10, 0, owner="team") == ([a, d], 2)
    assert await storage.list_monitors(1, 1, owner="team") == ([d], 2)
    assert await storage.list_monitors(10, 0, "d.com", owner="team") == ([d], 1)
    assert await storage.list_monitors(10, 0, owner="nobody") == ([], 0)


async def test_targets_carry_the_check_and_share_one_object_per_distinct_check(
    storage: Storage,
) -> None:
    ids = [
        (await storage.add_monitor("a", "http://a.com", NOW)).id,
        (await storage.add_monitor("b", "http://b.com", NOW, check=HEAD)).id,
        (await storage.add_monitor("c", "http://c.com", NOW, check=HEAD)).id,
        (await storage.add_monitor("d", "http://d.com", NOW)).id,
    ]
    await storage.activate()
    targets = await storage.targets()
    assert [(t.monitor_id, t.check) for t in targets] == list(
        zip(ids, [DEFAULT_CHECK, HEAD, HEAD, DEFAULT_CHECK], strict=True)
    )
    assert targets[0].check is targets[3].check is DEFAULT_CHECK
    assert targets[1].check is targets[2].check
    # The next cycle gets the same objects (the compute's compiled checks are found by them),
    # and a changed check a new one.
    await storage.update_monitor(ids[2], check=WITH_SECRET)
    again = await storage.targets()
    assert again[1].check is targets[1].check
    assert again[2].check == WITH_SECRET


async def test_a_check_this_version_cannot_read_leaves_only_its_monitor_out(
    storage: Storage,
) -> None:
    kept = await storage.add_monitor("kept", "http://a.com", NOW, check=HEAD)
    unreadable = await storage.add_monitor("future", "http://b.com", NOW, check=HEAD)
    # As a newer version might store it: a field this one does not know.
    assert isinstance(storage, SQLStorage)
    await storage.execute(
        "UPDATE monitors SET check_spec = ? WHERE id = ?",
        ('{"request": {"method": "GET"}, "retries": 3}', unreadable.id),
    )
    await storage.activate()
    assert [t.monitor_id for t in await storage.targets()] == [kept.id]


async def test_checks_keep_detail_degraded_and_tls_expiry(storage: Storage) -> None:
    monitor = await storage.add_monitor("a", "https://a.com", NOW)
    expires = NOW + 30 * 86400 + 0.5
    checks = [
        Check(monitor.id, NOW, Status.SUCCESS, 200, 812, degraded=True, tls_expires_at=expires),
        Check(
            monitor.id,
            NOW + 60,
            Status.FAIL,
            503,
            12,
            Cause.ASSERTION,
            "status 503 is not one of 200-299",
            tls_expires_at=expires,
        ),
        Check(monitor.id, NOW + 120, Status.FAIL, None, 3, Cause.CONNECT, "connect: refused"),
    ]
    await storage.add_checks(checks)
    assert await storage.recent_checks(monitor.id, 10) == checks[::-1]
    assert await storage.recent_checks(monitor.id, 10, status=Status.SUCCESS) == checks[:1]
    assert await storage.last_checks([monitor.id]) == {monitor.id: checks[2]}


async def test_a_long_detail_is_cut_to_what_the_store_keeps(storage: Storage) -> None:
    monitor = await storage.add_monitor("a", "http://a.com", NOW)
    fits = "✓ é 'quote' " + "x" * (MAX_DETAIL_LENGTH - 12)
    await storage.add_checks(
        [
            Check(monitor.id, NOW, Status.FAIL, 500, 1, Cause.ASSERTION, "ü" * 5000),
            Check(monitor.id, NOW + 1, Status.FAIL, 500, 1, Cause.ASSERTION, fits),
        ]
    )
    longest, cut = await storage.recent_checks(monitor.id, 2)
    assert longest.detail == fits
    assert cut.detail == "ü" * (MAX_DETAIL_LENGTH - 1) + "…"


async def test_monitor_counts_count_degraded_successes_per_window(storage: Storage) -> None:
    monitor = await storage.add_monitor("a", "http://a.com", NOW)
    other = await storage.add_monitor("b", "http://b.com", NOW)
    await storage.add_checks(
        [
            Check(monitor.id, NOW - 7200, Status.SUCCESS, 200, 900, degraded=True),
            Check(monitor.id, NOW - 60, Status.SUCCESS, 200, 900, degraded=True),
            Check(monitor.id, NOW - 30, Status.SUCCESS, 200, 10),
            Check(monitor.id, NOW - 20, Status.FAIL, 500, 10, Cause.HTTP_STATUS, "status 500"),
            Check(other.id, NOW - 10, Status.SUCCESS, 200, 900, degraded=True),
        ]
    )
    counts = await storage.monitor_counts(monitor.id, [NOW - 3600, NOW - 86400, NOW])
    assert counts == [
        Counts(success=2, fail=1, degraded=1),
        Counts(success=3, fail=1, degraded=2),
        Counts(success=0, fail=0, degraded=0),
    ]
    assert await storage.monitor_counts(monitor.id, []) == []


async def test_a_detail_quoting_undecodable_bytes_is_stored_not_refused(storage: Storage) -> None:
    # aiohttp decodes header bytes with surrogateescape: a server's invalid UTF-8 comes back as
    # lone surrogates, which no driver encodes; the batch must be stored all the same.
    monitor = await storage.add_monitor("a", "http://a.com", NOW)
    detail = "header X-State is 'caf\udce9', expected 'ok'"
    await storage.add_checks([Check(monitor.id, NOW, Status.FAIL, 200, 1, Cause.ASSERTION, detail)])
    (stored,) = await storage.recent_checks(monitor.id, 1)
    assert stored.detail == "header X-State is 'caf?', expected 'ok'"


async def test_two_updates_racing_onto_one_url_and_check_leave_one_monitor_holding_it(
    storage: Storage,
) -> None:
    first = await storage.add_monitor("first", "http://a.com", NOW)
    second = await storage.add_monitor("second", "http://b.com", NOW)
    # Connections opened beforehand (MySQL's pool keeps them), so that neither update waits for
    # one to connect while the other runs from start to end: their reads and writes interleave.
    await asyncio.gather(*(storage.ping() for _ in range(4)))
    outcomes = await asyncio.gather(
        storage.update_monitor(first.id, url="http://c.com", check=HEAD),
        storage.update_monitor(second.id, url="http://C.com/", check=HEAD),
        return_exceptions=True,
    )
    moved = [o for o in outcomes if isinstance(o, Monitor)]
    refused = [o for o in outcomes if isinstance(o, DuplicateURL)]
    assert (len(moved), len(refused)) == (1, 1), outcomes
    assert refused[0].existing_id == moved[0].id
    # The refused one kept its URL and check: nothing of it was written.
    stayed = first if moved[0].id == second.id else second
    assert await storage.get_monitor(stayed.id) == stayed
