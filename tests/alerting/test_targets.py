"""Channel targets: what is refused and why, what a hint shows (never a secret), and the SSRF guard
of the probes applied to them with the same settings."""

from __future__ import annotations

import pytest

from service_monitor.alerting.targets import InvalidTarget, parse_target, target_hint
from service_monitor.alerts import ChannelType
from service_monitor.config import load_settings
from service_monitor.errors import TargetRefused
from service_monitor.guard import policy_for

GUARDED = policy_for(load_settings(ALLOW_PRIVATE_TARGETS=False))
OPEN = policy_for(load_settings(ALLOW_PRIVATE_TARGETS=True))
ALLOWING_LOOPBACK = policy_for(
    load_settings(ALLOW_PRIVATE_TARGETS=False, ALLOWED_TARGET_NETWORKS="127.0.0.1/32")
)

# (type, URL, the secret parts a hint must not show, the hint)
HINTS = [
    (
        "apprise",
        "slack://T1ABCDEF/B2ABCDEF/C3secrettoken",
        ["T1ABCDEF", "C3secrettoken"],
        "slack://…",
    ),
    (
        "apprise",
        "https://hooks.slack.com/services/T1ABCDEF/B2ABCDEF/C3secrettoken",
        ["T1ABCDEF", "C3secrettoken", "services"],
        "https://hooks.slack.com/…",
    ),
    (
        "apprise",
        "json://alice:hunter22@hooks.example.com/notify/s3cr3tpath?token=abcdef",
        ["alice", "hunter22", "s3cr3tpath", "abcdef", "notify"],
        "json://hooks.example.com/…",
    ),
    (
        "apprise",
        "form://hooks.example.com:8443/path/k3y",
        ["k3y", "path"],
        "form://hooks.example.com:8443/…",
    ),
    (
        "apprise",
        "mailtos://bob:mailpassw0rd@mail.example.com?to=ops@example.com",
        ["bob", "mailpassw0rd", "ops@"],
        None,
    ),
    ("apprise", "ntfys://private-topic-name", ["private-topic-name"], "ntfys://…"),
    (
        "apprise",
        "ntfy://user:passw0rd@ntfy.example.com/topic9",
        ["passw0rd", "topic9", "user"],
        "ntfy://ntfy.example.com/…",
    ),
    (
        "apprise",
        "discord://1234567890/webhooktokenvalue",
        ["1234567890", "webhooktokenvalue"],
        None,
    ),
    (
        "webhook",
        "https://carol:pw0rd@hooks.example.com/in/0a1b2c3d?sig=zzzz",
        ["carol", "pw0rd", "0a1b2c3d", "zzzz", "/in"],
        "https://hooks.example.com/…",
    ),
    ("webhook", "http://[2001:4860::8888]:8080/x/tok", ["tok"], "http://[2001:4860::8888]:8080/…"),
]


@pytest.mark.parametrize(("kind", "url", "secrets", "hint"), HINTS)
def test_a_hint_shows_the_scheme_and_host_and_never_a_secret_part(
    kind: str, url: str, secrets: list[str], hint: str | None
) -> None:
    target = parse_target(kind, url, GUARDED)
    assert target.hint == target_hint(url)
    for secret in secrets:
        assert secret not in target.hint
    if hint is not None:
        assert target.hint == hint
    assert target.url == url
    assert target.type is ChannelType(kind)


def test_a_hint_of_an_unreadable_target_shows_at_most_its_scheme() -> None:
    assert target_hint("slack://only-one-token-here") == "slack://…"
    assert target_hint("no scheme at all, password=xyz") == "…"


@pytest.mark.parametrize(
    ("kind", "url", "says"),
    [
        (
            "apprise",
            "nosuchservice://token",
            "scheme nosuchservice:// is refused: Apprise knows no",
        ),
        ("apprise", "slack://onlyonetoken", "scheme slack:// is not valid: "),
        ("apprise", "https://example.com/hook", "scheme https:// is not valid: "),
        ("apprise", "no scheme here", "not a URL"),
        ("webhook", "ftp://files.example.com/in", "must be http:// or https://, not ftp://"),
        ("webhook", "https:///nohost", "has no host"),
        ("webhook", "", "empty"),
        ("pager", "https://example.com/", "channel type 'pager' is not one of apprise, webhook"),
    ],
)
def test_a_target_that_cannot_be_used_is_refused_with_its_scheme_and_why(
    kind: str, url: str, says: str
) -> None:
    with pytest.raises(InvalidTarget) as raised:
        parse_target(kind, url, GUARDED)
    assert says in str(raised.value)


def test_an_invalid_apprise_url_is_refused_without_quoting_its_tokens() -> None:
    with pytest.raises(InvalidTarget) as raised:
        parse_target("apprise", "slack://Tsecretvalue1", GUARDED)
    assert "Tsecretvalue1" not in str(raised.value)
    assert "Slack" in str(raised.value)  # Apprise's reason comes through


@pytest.mark.parametrize(
    ("kind", "url", "address"),
    [
        ("webhook", "http://127.0.0.1:9000/hook", "127.0.0.1 is a loopback address"),
        ("webhook", "http://169.254.169.254/latest", "link-local"),
        ("webhook", "https://[::1]/hook", "::1 is a loopback address"),
        ("webhook", "http://2130706433/hook", "127.0.0.1 is a loopback address"),
        ("apprise", "json://127.0.0.1:9000/hook", "127.0.0.1 is a loopback address"),
        ("apprise", "form://10.1.2.3/hook", "10.1.2.3 is a private address"),
        ("apprise", "ntfy://192.168.1.10/topic", "192.168.1.10 is a private address"),
        (
            "apprise",
            "mailto://user:pw@example.com?smtp=10.0.0.5&to=ops@example.com",
            "10.0.0.5 is a private address",
        ),
    ],
)
def test_a_target_aimed_at_an_internal_address_is_refused_like_a_probe(
    kind: str, url: str, address: str
) -> None:
    with pytest.raises(TargetRefused) as raised:
        parse_target(kind, url, GUARDED)
    message = str(raised.value)
    assert address in message
    assert "ALLOW_PRIVATE_TARGETS" in message
    assert "pw@" not in message
    assert "/hook" not in message


def test_allow_private_targets_lets_internal_channel_targets_through() -> None:
    assert parse_target("webhook", "http://127.0.0.1:9000/hook", OPEN).hosts == ("127.0.0.1",)
    assert parse_target("apprise", "json://10.1.2.3/hook", OPEN).hosts == ("10.1.2.3",)


def test_allowed_target_networks_opens_only_the_ranges_it_names() -> None:
    parse_target("webhook", "http://127.0.0.1:9000/hook", ALLOWING_LOOPBACK)
    parse_target("apprise", "json://127.0.0.1:9000/hook", ALLOWING_LOOPBACK)
    with pytest.raises(TargetRefused, match=r"127\.0\.0\.2 is a loopback"):
        parse_target("webhook", "http://127.0.0.2:9000/hook", ALLOWING_LOOPBACK)


def test_hosted_services_and_names_pass_validation_their_addresses_are_checked_at_send_time() -> (
    None
):
    assert parse_target("apprise", "slack://T1ABCDEF/B2ABCDEF/C3secrettoken", GUARDED).hosts == ()
    assert parse_target("apprise", "ntfys://topic", GUARDED).hosts == ()
    assert parse_target("webhook", "http://localhost:9000/hook", GUARDED).hosts == ("localhost",)
    mail = parse_target("apprise", "mailtos://u:p@gmail.com?to=ops@example.com", GUARDED)
    assert mail.hosts == ("smtp.gmail.com",)
