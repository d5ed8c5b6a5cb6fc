"""Keeps channel targets and webhook secrets (which hold tokens) sealed at rest with Fernet, so the
store, its backups and its logs never hold them in the clear.

CHANNEL_KEYS is a list of Fernet keys: the first seals, every one unseals, so a key is rotated by
putting the new one first, re-sealing (`Sealer.reseal`), then dropping the old one. The embedded
default with no CHANNEL_KEYS keeps a key file beside the SQLite file, so `make run` works with
nothing set; on MySQL the keys must be set (on AWS they come from Secrets Manager).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..config import Settings
from ..errors import SealingUnavailable

log = logging.getLogger("service_monitor.alerting.sealing")

KEY_FILE_SUFFIX = ".channel-key"

_NO_KEYS = (
    "CHANNEL_KEYS is not set: channel targets cannot be sealed on MySQL;"
    " make a key with `service-monitor channel-key` and set CHANNEL_KEYS"
)
_key_file_logged: set[Path] = set()


def new_key() -> str:
    """A new Fernet key (32 url-safe base64-encoded bytes), as CHANNEL_KEYS takes it."""
    return Fernet.generate_key().decode()


class Sealer:
    """Seals with the first of `keys` and unseals with any of them; with no keys, every call
    raises SealingUnavailable with `unavailable` as its message."""

    def __init__(self, keys: Sequence[str | bytes], *, unavailable: str = _NO_KEYS) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys]) if keys else None
        self._unavailable = unavailable

    @property
    def available(self) -> bool:
        return self._fernet is not None

    def seal(self, plain: str) -> bytes:
        """The Fernet token of `plain`, sealed with the first key."""
        return self._keys().encrypt(plain.encode())

    def unseal(self, sealed: bytes, *, channel: int | str) -> str:
        """What `seal` sealed; SealingUnavailable naming `channel` when no key opens it."""
        try:
            return self._keys().decrypt(sealed).decode()
        except InvalidToken:
            raise SealingUnavailable(
                f"channel {channel!r}: no key of CHANNEL_KEYS opens its sealed target"
                " (was its key removed from CHANNEL_KEYS?)"
            ) from None

    def reseal(self, sealed: bytes, *, channel: int | str) -> bytes:
        """`sealed` sealed again with the first key (rotation); SealingUnavailable as `unseal`."""
        try:
            return self._keys().rotate(sealed)
        except InvalidToken:
            raise SealingUnavailable(
                f"channel {channel!r}: no key of CHANNEL_KEYS opens its sealed target"
            ) from None

    def _keys(self) -> MultiFernet:
        if self._fernet is None:
            raise SealingUnavailable(self._unavailable)
        return self._fernet


def sealer_for(settings: Settings) -> Sealer:
    """The sealer of `settings`: CHANNEL_KEYS when set; else, embedded, the key file beside the
    SQLite file (made once, 0600, with one warning); else (MySQL) one that raises
    SealingUnavailable when used, so a deployment with no channels still starts."""
    if settings.CHANNEL_KEYS:
        return Sealer([key.get_secret_value() for key in settings.CHANNEL_KEYS])
    if settings.uses_mysql:
        return Sealer([])
    return Sealer([_embedded_key(key_file_path(settings))])


def key_file_path(settings: Settings) -> Path:
    """Where the embedded default keeps its key: beside the SQLite file."""
    path = settings.SQLITE_PATH
    return path.with_name(path.name + KEY_FILE_SUFFIX)


def _embedded_key(path: Path) -> str:
    created = False
    if not path.exists():
        created = _create_key_file(path)
    try:
        key = path.read_text().strip()
        Fernet(key)
    except OSError as exc:
        raise SealingUnavailable(f"cannot read the channel key file {path}: {exc}") from None
    except ValueError:
        raise SealingUnavailable(
            f"the channel key file {path} does not hold a Fernet key; set CHANNEL_KEYS"
        ) from None
    if path not in _key_file_logged:
        _key_file_logged.add(path)
        log.warning(
            "channel targets are sealed with the key in %s (%s); set CHANNEL_KEYS in production"
            " (`service-monitor channel-key` makes one) and keep it out of the database's backups",
            path,
            "created now" if created else "no CHANNEL_KEYS set",
        )
    return key


def _create_key_file(path: Path) -> bool:
    """Write a new key to `path` (0600) unless it exists; True if this call made it.

    Written to a file of its own first, then linked into place: another process starting at the
    same time reads either no file or a whole key, and only one key ever wins.
    """
    spare = path.with_name(f"{path.name}.{os.getpid()}.new")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(new_key() + "\n")
        try:
            os.link(spare, path)
        except FileExistsError:
            return False
        return True
    except OSError as exc:
        raise SealingUnavailable(f"cannot create the channel key file {path}: {exc}") from None
    finally:
        spare.unlink(missing_ok=True)
