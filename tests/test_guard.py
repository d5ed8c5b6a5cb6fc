"""The SSRF guard's policy: which addresses and URLs it refuses, and how it is opened up."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from service_monitor.compute.importer import read_monitors_csv
from service_monitor.config import load_settings
from service_monitor.errors import TargetRefused
from service_monitor.guard import TargetPolicy, parse_address, policy_for

GUARDED = TargetPolicy()


def _refusal(text: str, policy: TargetPolicy = GUARDED) -> str | None:
    address = parse_address(text)
    assert address is not None, text
    return policy.refusal(address)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address (127.0.0.0/8)"),
        ("127.255.255.254", "loopback address (127.0.0.0/8)"),
        ("10.1.2.3", "private address (10.0.0.0/8)"),
        ("172.16.0.1", "private address (172.16.0.0/12)"),
        ("172.31.255.255", "private address (172.16.0.0/12)"),
        ("192.168.1.1", "private address (192.168.0.0/16)"),
        ("169.254.169.254", "169.254.169.254 is a link-local address, where cloud metadata"),
        ("169.254.170.2", "link-local address"),
        ("100.64.0.1", "carrier-grade NAT address (100.64.0.0/10)"),
        ("100.127.255.255", "carrier-grade NAT address"),
        ("224.0.0.1", "multicast address (224.0.0.0/4)"),
        ("239.255.255.250", "multicast address"),
        ("0.0.0.0", "0.0.0.0 is the unspecified address"),
        ("0.1.2.3", "'this network' address (0.0.0.0/8)"),
        ("192.0.0.8", "IETF protocol assignment address (192.0.0.0/24)"),
        ("192.0.2.10", "documentation address (TEST-NET-1)"),
        ("198.51.100.10", "documentation address (TEST-NET-2)"),
        ("203.0.113.10", "documentation address (TEST-NET-3)"),
        ("198.18.0.1", "benchmarking address (198.18.0.0/15)"),
        ("198.19.255.255", "benchmarking address"),
        ("192.88.99.1", "6to4 relay anycast address"),
        ("240.0.0.1", "reserved address (240.0.0.0/4)"),
        ("255.255.255.255", "the broadcast address (255.255.255.255/32)"),
        ("::1", "::1 is a loopback address (::1/128)"),
        ("::", ":: is the unspecified address (::/128)"),
        ("fc00::1", "unique local (private) address"),
        ("fd00:ec2::254", "unique local (private) address, where some cloud metadata"),
        ("fe80::1", "link-local address (fe80::/10)"),
        ("fe80::1%eth0", "fe80::1 is a link-local address"),
        ("fec0::1", "deprecated site-local address"),
        ("ff02::1", "multicast address (ff00::/8)"),
        ("2001:db8::1", "documentation address (2001:db8::/32)"),
        ("3fff::1", "documentation address (3fff::/20)"),
        ("100::1", "discard-only address"),
        ("64:ff9b:1::1", "local-use NAT64 address"),
        ("5f00::1", "segment routing"),
        ("2001::1", "not a globally routable address"),  # Teredo, by the catch-all
    ],
)
def test_each_internal_range_is_refused_with_its_name(address: str, reason: str) -> None:
    refusal = _refusal(address)
    assert refusal is not None
    assert reason in refusal


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("::ffff:127.0.0.1", "the IPv4-mapped form of 127.0.0.1, a loopback address"),
        ("::ffff:169.254.169.254", "the IPv4-mapped form of 169.254.169.254, a link-local"),
        ("::ffff:10.0.0.1", "IPv4-mapped form of 10.0.0.1, a private address"),
        ("::127.0.0.1", "the IPv4-compatible form of 127.0.0.1, a loopback address"),
        ("64:ff9b::127.0.0.1", "the NAT64 form of 127.0.0.1, a loopback address"),
        ("64:ff9b::a9fe:a9fe", "the NAT64 form of 169.254.169.254"),
        ("2002:7f00:1::", "the 6to4 form of 127.0.0.1, a loopback address"),
        ("2002:c0a8:101::1", "the 6to4 form of 192.168.1.1, a private address"),
    ],
)
def test_ipv6_forms_embedding_a_refused_ipv4_address_are_refused(address: str, reason: str) -> None:
    refusal = _refusal(address)
    assert refusal is not None
    assert reason in refusal


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("127.0.0.1.", "127.0.0.1"),
        ("[::1]", "::1"),
    ],
)
def test_legacy_numeric_forms_are_read_as_the_address_resolvers_make_of_them(
    host: str, address: str
) -> None:
    assert parse_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["localhost", "example.com", "deadbeef.cafe", "1e100.net", ""])
def test_names_are_not_literal_addresses(host: str) -> None:
    assert parse_address(host) is None


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "93.184.215.14",
        "2606:4700:4700::1111",
        "2001:4860:4860::8888",
        "::ffff:8.8.8.8",  # the mapped form reaches 8.8.8.8 itself
        "64:ff9b::808:808",  # what DNS64 makes of 8.8.8.8 on an IPv6-only network
        "2002:808:808::1",
    ],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert _refusal(address) is None


def test_ipv4_compatible_form_of_a_public_address_is_refused_as_deprecated() -> None:
    assert "deprecated IPv4-compatible address (::/96)" in (_refusal("::8.8.8.8") or "")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.1:8080/health",
        "https://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.170.2/v2/credentials",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1%25eth0]/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://127.1/",
        "http://0/",
        "http://127.0.0.1./",
    ],
)
def test_urls_with_a_refused_literal_host_raise_naming_url_reason_and_way_out(url: str) -> None:
    with pytest.raises(TargetRefused) as raised:
        GUARDED.check_url(url)
    message = str(raised.value)
    assert url in message
    assert " is " in raised.value.reason  # "<address> is <what>"
    assert "ALLOW_PRIVATE_TARGETS" in message
    assert "ALLOWED_TARGET_NETWORKS" in message


def test_a_legacy_numeric_url_names_the_address_it_stands_for() -> None:
    with pytest.raises(TargetRefused, match=r"127\.0\.0\.1 is a loopback address"):
        GUARDED.check_url("http://2130706433/")


@pytest.mark.parametrize("url", ["ftp://a.com/", "file:///etc/passwd", "gopher://a.com/"])
def test_urls_that_are_not_http_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused, match="only http and https"):
        GUARDED.check_url(url)


@pytest.mark.parametrize(
    "url",
    ["http://example.com/", "https://8.8.8.8/", "http://localhost:8080/", "http://[2001:4860::1]/"],
)
def test_names_and_public_literals_pass_the_url_check(url: str) -> None:
    GUARDED.check_url(url)  # a name is checked when probed, on what it resolves to


def test_the_allow_list_opens_exactly_its_ranges() -> None:
    policy = TargetPolicy.from_settings(
        load_settings(ALLOWED_TARGET_NETWORKS="10.1.0.0/16, 127.0.0.2/32, fd00::/8")
    )
    assert _refusal("10.1.2.3", policy) is None
    assert _refusal("127.0.0.2", policy) is None
    assert _refusal("::ffff:127.0.0.2", policy) is None  # the same address, mapped
    assert _refusal("fd12::1", policy) is None
    assert _refusal("10.2.0.1", policy) is not None
    assert _refusal("127.0.0.1", policy) is not None
    assert _refusal("169.254.169.254", policy) is not None
    policy.check_url("http://10.1.0.5:8080/health")
    with pytest.raises(TargetRefused):
        policy.check_url("http://10.2.0.5/")


def test_allow_private_targets_turns_the_guard_off() -> None:
    policy = TargetPolicy.from_settings(load_settings(ALLOW_PRIVATE_TARGETS=True))
    assert policy.allow_all
    for address in ("127.0.0.1", "169.254.169.254", "::1", "10.0.0.1", "::ffff:127.0.0.1"):
        assert _refusal(address, policy) is None
    policy.check_url("http://127.0.0.1/")
    with pytest.raises(TargetRefused):
        policy.check_url("ftp://127.0.0.1/")  # still only http and https


def test_the_guard_is_on_by_default() -> None:
    policy = TargetPolicy.from_settings(load_settings())
    assert not policy.allow_all
    assert _refusal("127.0.0.1", policy) is not None


def test_policies_are_built_once_per_guard_setting() -> None:
    settings = load_settings(ALLOWED_TARGET_NETWORKS="10.0.0.0/8")
    assert policy_for(settings) is policy_for(load_settings(ALLOWED_TARGET_NETWORKS="10.0.0.0/8"))
    assert policy_for(settings) is not policy_for(load_settings())


def test_csv_rows_with_a_refused_literal_are_rejected_by_line(tmp_path: Path) -> None:
    path = tmp_path / "urls.csv"
    path.write_text(
        "name,url\n"
        "public,https://example.com/\n"
        "metadata,http://169.254.169.254/latest/meta-data/\n"
        "name,http://localhost:8080/\n"
        "legacy,http://2130706433/\n",
        encoding="utf-8",
    )
    result = read_monitors_csv(path, GUARDED)
    assert result.rows == [("public", "https://example.com/"), ("name", "http://localhost:8080/")]
    assert [message.split(":")[1] for message in result.rejected] == ["3", "5"]
    assert "169.254.169.254 is a link-local address" in result.rejected[0]
    assert "127.0.0.1 is a loopback address" in result.rejected[1]
    opened = read_monitors_csv(path, TargetPolicy(allow_all=True))
    assert len(opened.rows) == 4
