"""Settings: the seed's variables by name, embedded defaults, and one clear line for a bad value."""

from __future__ import annotations

import re

import pytest

from service_monitor.config import Settings, load_settings
from service_monitor.errors import SettingsError


def test_defaults_run_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DB_ADDRESS", "CACHE_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert not settings.uses_mysql
    assert not settings.uses_redis
    assert settings.TIMEOUT == 10.0
    assert settings.CYCLE_INTERVAL == 600
    assert settings.CACHE_MAX_AGE == 600


def test_seed_variables_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "DB_USER": "monitor",
        "DB_PASSWORD": "s3cret",
        "DB_NAME": "urls",
        "DB_PORT": "3307",
        "DB_ADDRESS": "db.internal",
        "CACHE_PORT": "6380",
        "CACHE_ADDRESS": "cache.internal",
        "MAX_POOL": "20",
        "MIN_POOL": "2",
        "TIMEOUT": "2.5",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.uses_mysql
    assert settings.uses_redis
    assert (settings.DB_USER, settings.DB_PASSWORD, settings.DB_NAME) == (
        "monitor",
        "s3cret",
        "urls",
    )
    assert (settings.DB_PORT, settings.CACHE_PORT, settings.MAX_POOL, settings.MIN_POOL) == (
        3307,
        6380,
        20,
        2,
    )
    assert settings.TIMEOUT == 2.5


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TIMEOUT", "abc", "TIMEOUT='abc': Input should be a valid number"),
        ("TIMEOUT", "0", "TIMEOUT='0': Input should be greater than 0"),
        ("DB_PORT", "70000", "DB_PORT='70000': Input should be less than or equal to 65535"),
        ("MAX_POOL", "-1", "MAX_POOL='-1': Input should be greater than or equal to 1"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD'"),
        # Daily rollups are what stays after the 31 days of hourly ones: fewer days mean nothing.
        (
            "ROLLUP_RETENTION_DAYS",
            "7",
            "ROLLUP_RETENTION_DAYS='7': Input should be greater than or equal to 31",
        ),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("invalid setting ")
    assert expected in message


def test_min_pool_above_max_pool_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIN_POOL", "5")
    monkeypatch.setenv("MAX_POOL", "2")
    with pytest.raises(SettingsError, match=r"MIN_POOL \(5\) must not exceed MAX_POOL \(2\)"):
        load_settings()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", []),
        ("[]", []),
        ("10.1.0.0/16", ["10.1.0.0/16"]),
        (" 10.1.0.0/16 , fd00::/64,", ["10.1.0.0/16", "fd00::/64"]),
        ('["10.1.0.0/16", "fd00::/64"]', ["10.1.0.0/16", "fd00::/64"]),
    ],
)
def test_lists_are_comma_separated_or_json(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]
) -> None:
    monkeypatch.setenv("ALLOWED_TARGET_NETWORKS", raw)
    assert [str(n) for n in load_settings().ALLOWED_TARGET_NETWORKS] == expected


def test_a_network_with_host_bits_names_the_range_meant() -> None:
    with pytest.raises(SettingsError, match=r"did you mean 10\.1\.0\.0/16\?"):
        load_settings(ALLOWED_TARGET_NETWORKS="10.1.2.3/16")


def test_a_bad_secret_is_named_but_never_printed() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(API_KEYS='["k-secret-123"')
    assert "API_KEYS" in str(raised.value)
    assert "k-secret-123" not in str(raised.value)


def test_read_auth_without_keys_is_refused_at_start_up() -> None:
    with pytest.raises(SettingsError, match="READ_AUTH=true needs API_KEYS"):
        load_settings(READ_AUTH=True)


def test_regions_are_read_comma_separated_and_hold_the_workers_region() -> None:
    settings = load_settings(REGIONS="eu-west-1, us-east-1", REGION="us-east-1")
    assert (settings.REGIONS, settings.REGION) == (["eu-west-1", "us-east-1"], "us-east-1")


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"REGION": "mars"}, "REGION 'mars' is not among REGIONS (local)"),
        ({"REGIONS": "eu,Bad Name", "REGION": "eu"}, "'Bad Name' is not a region name"),
        ({"REGIONS": ",".join(f"region-{n:02}-{'x' * 20}" for n in range(15))}, "at most 400"),
        ({"REGION": "UPPER"}, "REGION"),
    ],
)
def test_a_bad_region_setting_is_one_line_saying_why(values: dict[str, str], said: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(said)):
        load_settings(**values)
