"""The input rules shared by the API and the CSV import, and URL identity."""

from __future__ import annotations

import pytest

from service_monitor.models import url_key, validate_name, validate_url


@pytest.mark.parametrize(
    "url",
    [
        "http://www.a.com",
        "https://a.com:8443/path?q=1#frag",
        "http://[2001:db8::1]:8080/",
        "http://例え.jp/",
        "https://user:pw@a.com/",
        "http://a.com/" + "x" * (2048 - 13),
        # Internal addresses are well-formed URLs: the SSRF guard (guard.py) refuses them.
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8080/",
    ],
)
def test_good_urls_are_kept_as_given(url: str) -> None:
    assert validate_url(url) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("not a url", "spaces"),
        ("ftp://a.com/", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("a.com", "scheme"),
        ("http://", "host"),
        ("http://a.com:0x50/", "not a valid URL"),
        ("http://a.com/\x7f", "control"),
        ("http://a.com/" + "x" * 2036, "at most 2048"),
    ],
)
def test_bad_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_url(url)


@pytest.mark.parametrize("name", ["a", "Ünïcode ✓", "n" * 100, "with spaces"])
def test_good_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "empty"), ("  ", "empty"), ("n" * 101, "at most 100"), ("tab\there", "printable")],
)
def test_bad_names_say_why(name: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        validate_name(name)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://www.a.com", "http://WWW.A.COM/"),
        ("HTTP://a.com:80/x", "http://a.com/x"),
        ("https://a.com:443", "https://a.com/"),
        ("http://a.com/x#one", "http://a.com/x#two"),
    ],
)
def test_same_url_written_differently_has_one_identity(a: str, b: str) -> None:
    assert url_key(a) == url_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://a.com/", "https://a.com/"),
        ("http://a.com/x", "http://a.com/X"),
        ("http://a.com/?q=1", "http://a.com/?q=2"),
        ("http://a.com:8080/", "http://a.com/"),
    ],
)
def test_different_urls_have_different_identities(a: str, b: str) -> None:
    assert url_key(a) != url_key(b)
