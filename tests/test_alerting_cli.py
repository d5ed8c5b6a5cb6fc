"""`service-monitor channels|incidents|incident|maintenance` and the alerting options of `urls`,
against a real API process on both deployments, as a user runs them; test sends go to the webhook
receiver on 127.0.0.1."""

from __future__ import annotations

import json
import time

import pytest

from service_monitor.alerting.senders import verify_signature
from service_monitor.models import Status
from service_monitor.remote.alerting import parse_duration
from tests.alerting.receiver import receiving
from tests.api_process import api_process, store_checks
from tests.test_remote_cli import CliRunner, cli, row

__all__ = ["cli"]  # the fixture, used by name


async def test_channels_are_added_listed_tested_edited_and_deleted(
    deployment: dict[str, str], cli: CliRunner
) -> None:
    async with api_process(deployment) as base, receiving() as receiver:
        api = ("--api-url", base)
        hook = receiver.url("/hook-t0k3n")
        added = await cli("channels", "add", "ops", "webhook", hook, "--default", *api)
        assert added.code == 0, added.err
        lines = added.out.splitlines()
        assert lines[0].startswith("added channel 1: ops (webhook, http://127.0.0.1:")
        assert lines[0].endswith("/…, default)")
        secret = lines[1].removeprefix("webhook secret (shown only now): ")
        assert len(secret) >= 32

        listed = await cli("channels", "list", *api)
        assert listed.code == 0, listed.err
        assert row("1", "ops", "webhook").search(listed.out)
        assert "t0k3n" not in listed.out
        as_json = json.loads((await cli("channels", "list", "--json", *api)).out)
        assert as_json["items"][0]["is_default"] is True
        assert "secret" not in as_json["items"][0]

        tested = await cli("channels", "test", "ops", *api)
        assert (tested.code, tested.out.startswith("test to ops: sent")) == (0, True), tested
        sent = receiver.requests[-1]
        assert verify_signature(secret, sent.body, sent.headers.get("X-Signature"))
        receiver.status = 503
        failed = await cli("channels", "test", "1", *api)
        assert failed.code == 1
        assert failed.out.startswith("test to ops: failed: ")

        edited = await cli("channels", "edit", "ops", "--resend-every", "1h", "--no-default", *api)
        assert (edited.code, edited.out) == (0, "changed channel 1: is_default, resend_every\n")
        rotated = await cli("channels", "edit", "ops", "--rotate-secret", *api)
        assert rotated.out.splitlines()[1].startswith("new webhook secret (shown only now): ")

        monitor = await cli("urls", "add", "shop", "https://shop.example/", "--channel", "ops",
                            "--failure-threshold", "2", *api)  # fmt: skip
        assert monitor.code == 0, monitor.err
        unknown = await cli(
            "urls", "add", "blog", "https://blog.example/", "--channel", "sms", *api
        )
        assert unknown.code == 1
        assert unknown.err == (
            "service-monitor: the API answered 422: channels.0: unknown channel 'sms'\n"
        )
        shown = await cli("urls", "show", "1", *api)
        assert "health: unknown" in shown.out
        assert "alerting: down after 2 failures, up after 2 successes; told: ops" in shown.out

        in_use = await cli("channels", "delete", "ops", *api)
        assert in_use.code == 1
        assert "is named by 1 monitor(s)" in in_use.err
        assert "--force" in in_use.err
        deleted = await cli("channels", "delete", "ops", "--force", *api)
        assert (deleted.code, deleted.out) == (0, "deleted channel 1: ops\n")
        missing = await cli("channels", "test", "ops", *api)
        assert missing.code == 2
        assert "no channel named 'ops'" in missing.err


async def test_incidents_and_one_incident_are_printed_as_tables_or_json(
    deployment: dict[str, str], cli: CliRunner
) -> None:
    async with api_process(deployment) as base:
        api = ("--api-url", base)
        none = await cli("incidents", *api)
        assert (none.code, none.out) == (0, "no open incidents\n")
        added = await cli("urls", "add", "shop", "https://shop.example/",
                          "--failure-threshold", "1", "--success-threshold", "1", *api)  # fmt: skip
        assert added.code == 0, added.err
        await store_checks(deployment, [(1, Status.FAIL, 1)])

        listed = await cli("incidents", *api)
        assert listed.code == 0, listed.err
        assert row("1", "shop", "open").search(listed.out)
        assert listed.out.endswith("open incidents 1-1 of 1\n")
        one = await cli("incident", "1", *api)
        assert one.code == 0, one.err
        assert one.out.startswith(
            "incident 1: open\nmonitor: shop (monitor 1) https://shop.example/\n"
        )
        assert "notifications: none" in one.out
        as_json = json.loads((await cli("incident", "1", "--json", *api)).out)
        assert (as_json["state"], as_json["notifications"]) == ("open", [])

        every = json.loads((await cli("incidents", "--all", "--json", *api)).out)
        assert [i["id"] for i in every["items"]] == [1]
        gone = await cli("incident", "9", *api)
        assert (gone.code, gone.err) == (
            1,
            "service-monitor: the API answered 404: incident 9 not found\n",
        )


async def test_maintenance_windows_are_added_listed_and_deleted(
    deployment: dict[str, str], cli: CliRunner
) -> None:
    async with api_process(deployment) as base:
        api = ("--api-url", base)
        soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        once = await cli(
            "maintenance", "add", "--at", soon, "--duration", "2h", "--note", "db", *api
        )
        assert once.code == 0, once.err
        assert (
            once.out
            == f"added maintenance window 1 for every monitor; next start {soon[:19].replace('T', ' ')} UTC\n"
        )
        weekly = await cli("maintenance", "add", "--cron", "0 2 * * SUN", "--timezone",
                           "Europe/Paris", "--duration", "90m", *api)  # fmt: skip
        assert weekly.code == 0, weekly.err
        bad = await cli("maintenance", "add", "--cron", "0 2 * *", "--duration", "1h", *api)
        assert bad.code == 1
        assert bad.err.startswith("service-monitor: cron: cron '0 2 * *'")

        listed = await cli("maintenance", "list", *api)
        assert listed.code == 0, listed.err
        assert row("1", "all").search(listed.out)
        assert row("2", "all", "0 2 * * SUN (Europe/Paris)", "1h30m", "no").search(listed.out)
        as_json = json.loads((await cli("maintenance", "list", "--json", *api)).out)
        assert [w["duration"] for w in as_json["items"]] == [7200, 5400]

        removed = await cli("maintenance", "delete", "1", "7", *api)
        assert removed.code == 1
        assert removed.out == "deleted maintenance window 1\n"
        assert removed.err == "service-monitor: maintenance window 7 not found\n"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3600", 3600), ("90s", 90), ("45m", 2700), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)],
)
def test_a_duration_is_read_in_seconds_minutes_hours_days_or_weeks(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "2x", "1.5h", "-3"])
def test_a_duration_that_is_none_of_those_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected seconds or a duration"):
        parse_duration(text)
