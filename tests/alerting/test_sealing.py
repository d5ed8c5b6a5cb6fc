"""Channel targets sealed at rest: a round trip, key rotation, a key that does not open, the
embedded default's key file, MySQL with no key, and the channel-key command."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from service_monitor.alerting import sealing
from service_monitor.alerting.sealing import Sealer, key_file_path, new_key, sealer_for
from service_monitor.cli import main
from service_monitor.config import load_settings
from service_monitor.errors import SealingUnavailable

TARGET = "slack://T000/B000/XXXXXXXXsecrettoken"


def test_a_sealed_target_unseals_to_itself_and_holds_none_of_it_in_the_clear() -> None:
    sealer = sealer_for(load_settings(CHANNEL_KEYS=new_key()))
    sealed = sealer.seal(TARGET)
    assert b"secrettoken" not in sealed
    assert sealer.unseal(sealed, channel="ops") == TARGET


def test_a_rotated_key_list_unseals_the_old_seals_and_seals_with_the_new_key() -> None:
    old, new = new_key(), new_key()
    sealed_by_old = sealer_for(load_settings(CHANNEL_KEYS=old)).seal(TARGET)
    rotating = sealer_for(load_settings(CHANNEL_KEYS=f"{new},{old}"))
    assert rotating.unseal(sealed_by_old, channel="ops") == TARGET
    resealed = rotating.reseal(sealed_by_old, channel="ops")
    fresh = rotating.seal(TARGET)
    only_new = sealer_for(load_settings(CHANNEL_KEYS=new))
    assert only_new.unseal(resealed, channel="ops") == TARGET
    assert only_new.unseal(fresh, channel="ops") == TARGET
    with pytest.raises(SealingUnavailable):
        only_new.unseal(sealed_by_old, channel="ops")


def test_a_target_no_key_opens_raises_sealing_unavailable_naming_the_channel() -> None:
    sealed = Sealer([new_key()]).seal(TARGET)
    with pytest.raises(SealingUnavailable, match="channel 'team pager'") as raised:
        Sealer([new_key()]).unseal(sealed, channel="team pager")
    assert "secrettoken" not in str(raised.value)


def test_the_embedded_default_keeps_one_key_in_a_0600_file_beside_the_sqlite_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(SQLITE_PATH=tmp_path / "data" / "sm.sqlite3")
    sealing._key_file_logged.clear()
    with caplog.at_level(logging.WARNING, logger="service_monitor.alerting.sealing"):
        first = sealer_for(settings)
        second = sealer_for(settings)
    path = key_file_path(settings)
    assert path == tmp_path / "data" / "sm.sqlite3.channel-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    Fernet(path.read_text().strip())  # a Fernet key
    assert second.unseal(first.seal(TARGET), channel="ops") == TARGET
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "set CHANNEL_KEYS in production" in warnings[0]
    assert str(path) in warnings[0]
    assert list(path.parent.iterdir()) == [path]  # no spare file left behind


def test_channel_keys_when_set_are_used_instead_of_the_embedded_key_file(tmp_path: Path) -> None:
    settings = load_settings(SQLITE_PATH=tmp_path / "sm.sqlite3", CHANNEL_KEYS=new_key())
    sealer_for(settings).seal(TARGET)
    assert not key_file_path(settings).exists()


def test_mysql_with_no_channel_keys_refuses_to_seal_in_one_line() -> None:
    sealer = sealer_for(load_settings(DB_ADDRESS="127.0.0.1"))  # no connection is made
    assert not sealer.available
    with pytest.raises(SealingUnavailable) as raised:
        sealer.seal(TARGET)
    message = str(raised.value)
    assert "\n" not in message
    assert "CHANNEL_KEYS" in message
    assert "service-monitor channel-key" in message
    with pytest.raises(SealingUnavailable):
        sealer.unseal(b"anything", channel="ops")


def test_the_channel_key_command_prints_a_new_fernet_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["channel-key"]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["channel-key"]) == 0
    second = capsys.readouterr().out.strip()
    Fernet(first)
    assert first != second
    assert load_settings(CHANNEL_KEYS=f"{first},{second}").CHANNEL_KEYS
