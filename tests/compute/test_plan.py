"""The probe order of a cycle: hosts interleaved, limited hosts marked, connections kept only when
the same host comes up again soon."""

from __future__ import annotations

from service_monitor.compute.plan import host_of, plan_probes
from service_monitor.models import Target


def targets(*urls: str) -> list[Target]:
    return [Target(number, url) for number, url in enumerate(urls, start=1)]


def test_host_is_scheme_and_authority_in_lower_case() -> None:
    assert host_of("https://API.Example.com:8443/v1/health?x=1") == "https://api.example.com:8443"
    assert host_of("http://example.com?q=/a") == "http://example.com"
    assert host_of("http://example.com#top") == "http://example.com"
    assert host_of("http://example.com") != host_of("https://example.com")


def test_distinct_hosts_keep_their_order_and_no_connection_is_kept() -> None:
    planned = plan_probes(
        targets("http://a.test/", "http://b.test/", "http://c.test/"),
        per_host_limit=4,
        reuse_window=100,
    )
    assert [p.target.monitor_id for p in planned] == [1, 2, 3]
    assert not any(p.keep_alive or p.limited for p in planned)


def test_hosts_take_turns_so_one_big_host_is_not_probed_in_a_burst() -> None:
    urls = [f"http://big.test/{i}" for i in range(4)] + ["http://a.test/", "http://b.test/1"]
    urls.append("http://b.test/2")
    planned = plan_probes(targets(*urls), per_host_limit=4, reuse_window=100)
    assert [p.target.url for p in planned] == [
        "http://big.test/0",
        "http://a.test/",
        "http://b.test/1",
        "http://big.test/1",
        "http://b.test/2",
        "http://big.test/2",
        "http://big.test/3",
    ]


def test_every_target_is_planned_exactly_once() -> None:
    urls = [f"http://h{i % 7}.test/{i}" for i in range(500)]
    planned = plan_probes(targets(*urls), per_host_limit=2, reuse_window=10)
    assert sorted(p.target.monitor_id for p in planned) == list(range(1, 501))


def test_only_hosts_with_more_urls_than_the_limit_are_limited() -> None:
    urls = [f"http://big.test/{i}" for i in range(3)] + ["http://pair.test/1", "http://pair.test/2"]
    planned = plan_probes(targets(*urls), per_host_limit=2, reuse_window=100)
    limited = {p.host for p in planned if p.limited}
    assert limited == {"http://big.test"}
    unlimited = plan_probes(targets(*urls), per_host_limit=0, reuse_window=100)
    assert not any(p.limited for p in unlimited)


def test_connection_is_kept_only_when_the_same_host_comes_up_within_the_window() -> None:
    urls = ["http://big.test/0", "http://big.test/1", "http://big.test/2"]
    urls += ["http://a.test/", "http://b.test/"]
    # Planned order: big/0, a, b, big/1, big/2: big's next probe is 3 positions, then 1, away.
    planned = plan_probes(targets(*urls), per_host_limit=4, reuse_window=2)
    assert [(p.target.url, p.keep_alive, p.warm) for p in planned] == [
        ("http://big.test/0", False, False),  # 3 positions to the next: beyond the window
        ("http://a.test/", False, False),
        ("http://b.test/", False, False),
        ("http://big.test/1", True, False),  # the next one follows at once: kept for it
        ("http://big.test/2", False, True),  # uses the kept connection, then nothing to keep
    ]
    wider = plan_probes(targets(*urls), per_host_limit=4, reuse_window=3)
    assert wider[0].keep_alive
