"""All settings, read from the environment by one class, so every knob is named and checked in one place."""

from __future__ import annotations

import ipaddress
import json
import re
import ssl
import sys
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .errors import SettingsError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# A region's name: what a worker's REGION and a monitor's regions are written with.
REGION_PATTERN = "^[a-z0-9][a-z0-9-]{0,31}$"
# Characters of REGIONS joined by commas at most: a monitor naming every region stores them so
# (monitors.regions, VARCHAR(400) on MySQL).
MAX_REGIONS_TEXT = 400


class Settings(BaseSettings):
    """The seed's variables keep their names and meaning; ours have defaults that run embedded.

    Leaving DB_ADDRESS unset stores everything in a SQLite file (SQLITE_PATH); leaving CACHE_ADDRESS
    unset keeps the cache and the new-URL queue in a SQLite file too, so the API and the compute can
    still run as two processes on one machine.
    """

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    # -- the seed's variables --
    DB_USER: str = Field("root", description="MySQL user name")
    DB_PASSWORD: str = Field("", description="MySQL password")
    DB_NAME: str = Field(
        "service_monitor", min_length=1, max_length=64, description="MySQL database"
    )
    DB_PORT: int = Field(3306, ge=1, le=65535, description="MySQL port")
    DB_ADDRESS: str | None = Field(None, description="MySQL host; unset = embedded SQLite")
    CACHE_PORT: int = Field(6379, ge=1, le=65535, description="Redis port")
    CACHE_ADDRESS: str | None = Field(None, description="Redis host; unset = embedded cache")
    CACHE_TLS: bool = Field(
        False, description="true: connect to Redis over TLS (ElastiCache in-transit encryption)"
    )
    CACHE_PASSWORD: SecretStr | None = Field(
        None, description="Redis AUTH token (ElastiCache auth token); unset = no AUTH"
    )
    MAX_POOL: int = Field(10, ge=1, le=1000, description="most open database connections")
    MIN_POOL: int = Field(1, ge=0, le=1000, description="database connections kept open")
    TIMEOUT: float = Field(
        10.0, gt=0, le=300, description="seconds a probe may take in total: connect, headers, body"
    )

    # -- ours --
    SQLITE_PATH: Path = Field(
        Path("data/service-monitor.sqlite3"), description="embedded database (and cache) file"
    )
    CACHE_MAX_AGE: int = Field(600, ge=0, description="seconds a cached statistic is served")
    CACHE_LOCAL_TTL: float = Field(
        1.0,
        ge=0,
        le=60,
        description="seconds an API process reuses a cached statistic from memory (0 = always ask"
        " the cache)",
    )
    CACHE_KEY_PREFIX: str = Field("service-monitor:", description="prefix of every Redis key")
    CACHE_OP_TIMEOUT: float = Field(
        1.0, gt=0, le=60, description="seconds any one Redis call may take before it counts as down"
    )
    DB_CONNECT_TIMEOUT: float = Field(5.0, gt=0, le=120, description="seconds to open a connection")
    DB_QUERY_TIMEOUT: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="seconds one database answer may take before it counts as down",
    )
    CYCLE_INTERVAL: int = Field(
        600, ge=1, description="seconds between two cycles with --run-local / serve"
    )
    CONCURRENCY: int = Field(200, ge=1, le=10000, description="probes in flight at once")
    RAMP_UP_SECONDS: float = Field(
        2.0,
        ge=0,
        le=600,
        description="seconds over which a cycle's probes start, instead of all in one burst",
    )
    PER_HOST_LIMIT: int = Field(
        4, ge=0, le=1000, description="connections to one host (0 = no cap)"
    )
    MAX_BODY_BYTES: int = Field(
        65536, ge=0, description="bytes of a response body read at most per probe"
    )
    MAX_REDIRECTS: int = Field(10, ge=0, le=50, description="redirects followed per probe")
    WRITE_BATCH_SIZE: int = Field(500, ge=1, le=100000, description="checks written per insert")
    ROLLUP_RETENTION_DAYS: int = Field(
        400,
        ge=31,
        le=36500,
        description="days daily rollups are kept (hourly ones 31 days, raw checks 30 days and 1 hour)",
    )
    # -- security (README "Security") --
    ALLOW_PRIVATE_TARGETS: bool = Field(
        False,
        description="true: probe internal addresses too (loopback, private, link-local...);"
        " false refuses them at POST and at probe time",
    )
    ALLOWED_TARGET_NETWORKS: Annotated[list[Network], NoDecode] = Field(
        default_factory=list,
        description="comma-separated CIDR ranges probed even though internal, e.g. 10.1.0.0/16",
    )
    API_KEYS: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="comma-separated keys; when set, writes need 'Authorization: Bearer <key>'",
    )
    READ_AUTH: bool = Field(False, description="true: the statistics need a key too")
    MAX_REQUEST_BYTES: int = Field(
        1_048_576, ge=1024, le=1_073_741_824, description="bytes of a request body at most (413)"
    )
    # -- alerting (README "Alerts") --
    FAILURE_THRESHOLD: int = Field(
        3, ge=1, le=100, description="consecutive failed checks that make a monitor down"
    )
    SUCCESS_THRESHOLD: int = Field(
        2, ge=1, le=100, description="consecutive successful checks that make it up again"
    )
    CHANNEL_KEYS: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="comma-separated Fernet keys sealing channel targets at rest: the first seals,"
        " every one unseals (rotation); `service-monitor channel-key` makes one",
    )
    RUN_DISPATCHER: bool = Field(
        True,
        description="true: API processes (and serve) send the outbox's notifications; false:"
        " only `service-monitor dispatch` does",
    )
    DISPATCH_INTERVAL: float = Field(
        2.0, gt=0, le=300, description="seconds between two looks at the outbox"
    )
    NOTIFY_RETRY_HOURS: float = Field(
        24.0,
        gt=0,
        le=720,
        description="hours a notification is retried (exponential backoff) before it is failed",
    )
    NOTIFY_SENDERS: int = Field(
        4, ge=1, le=64, description="threads sending notifications at once (Apprise blocks)"
    )
    NOTIFY_TIMEOUT: float = Field(
        15.0, gt=0, le=300, description="seconds one notification's send may take"
    )
    STORM_SHARE: float = Field(
        0.5,
        gt=0,
        le=1,
        description="share of the monitors checked in a minute failing with network causes"
        " that holds individual alerts back (storm guard)",
    )
    STORM_MIN_MONITORS: int = Field(
        20, ge=1, description="monitors checked in that minute before the storm guard judges"
    )
    BURST_LIMIT: int = Field(
        10,
        ge=1,
        description="incidents a channel is told of in a minute before the rest go in one digest",
    )
    CANARY_URLS: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated monitored URLs that should always be up: when they fail"
        " with network causes, it is the prober's network",
    )
    # -- faults --
    # -- the fleet of probers (README "A fleet of probers") --
    REGION: str = Field(
        "local",
        pattern=REGION_PATTERN,
        description="the region this worker probes from: it reads only its region's shards",
    )
    REGIONS: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["local"],
        description="comma-separated known regions; a monitor with no regions of its own is"
        " probed from every one of them",
    )
    SHARD_SIZE: int = Field(
        250, ge=10, le=5000, description="monitors per shard the planner publishes"
    )
    SHARD_DEADLINE: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="seconds a worker may take over a shard; a shard idle twice that long is"
        " taken over by another worker",
    )
    MAX_DELIVERIES: int = Field(
        5, ge=1, le=100, description="deliveries of a shard before it goes to the dead letters"
    )
    STREAM_MAXLEN: int = Field(
        100_000, ge=1000, le=10_000_000, description="shards kept in each region's stream at most"
    )
    STARTUP_TIMEOUT: float = Field(
        120.0,
        ge=0,
        le=3600,
        description="seconds start-up retries an unreachable database or cache before giving up",
    )
    WRITE_RETRY_SECONDS: float = Field(
        300.0,
        ge=0,
        le=86400,
        description="seconds a cycle retries writing its checks while the database is down",
    )
    SHUTDOWN_GRACE_SECONDS: float = Field(
        20.0,
        ge=0,
        le=3600,
        description="seconds in-flight probes may finish after SIGTERM before they are abandoned",
    )
    CACHE_RETRY_AFTER: float = Field(
        5.0,
        ge=0,
        le=600,
        description="seconds the cache is left alone after it failed, before it is tried again",
    )
    USER_AGENT: str = Field("service-monitor/0.1", description="User-Agent header of every probe")
    PROBE_CA_BUNDLE: Path | None = Field(
        None,
        description="PEM file of extra CA certificates the probes trust (internal CAs), on top of"
        " the system's; TLS verification itself is never turned off",
    )
    LOG_LEVEL: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$", description="log level")

    @field_validator("API_KEYS", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        return _comma_separated(value)

    @field_validator("CHANNEL_KEYS", "CANARY_URLS", "REGIONS", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _comma_separated(value)

    @field_validator("CHANNEL_KEYS")
    @classmethod
    def _fernet_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        from cryptography.fernet import Fernet

        for position, key in enumerate(keys, 1):
            try:
                Fernet(key.get_secret_value())
            except (ValueError, TypeError):
                raise ValueError(
                    f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes);"
                    " make one with `service-monitor channel-key`"
                ) from None
        return keys

    @field_validator("ALLOWED_TARGET_NETWORKS", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        value = _comma_separated(value)
        if not isinstance(value, list):
            return value
        networks = []
        for item in value:
            if not isinstance(item, str):
                networks.append(item)
                continue
            try:
                networks.append(ipaddress.ip_network(item))
            except ValueError as exc:
                loose = _loose_network(item)
                hint = f"; did you mean {loose}?" if loose else ""
                raise ValueError(f"{item!r} is not a CIDR range ({exc}){hint}") from None
        return networks

    @field_validator("PROBE_CA_BUNDLE", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # An empty variable (a template's placeholder) means none, not the current directory.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("PROBE_CA_BUNDLE")
    @classmethod
    def _ca_bundle(cls, path: Path | None) -> Path | None:
        if path is not None:
            probe_ssl_context(path)  # ValueError saying why it cannot be used
        return path

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.MIN_POOL > self.MAX_POOL:
            raise ValueError(
                f"MIN_POOL ({self.MIN_POOL}) must not exceed MAX_POOL ({self.MAX_POOL})"
            )
        if not self.REGIONS:
            raise ValueError("REGIONS must name at least one region")
        for region in self.REGIONS:
            if not re.fullmatch(REGION_PATTERN, region):
                raise ValueError(
                    f"REGIONS: {region!r} is not a region name (1 to 32 of a-z, 0-9 and -)"
                )
        if len(",".join(self.REGIONS)) > MAX_REGIONS_TEXT:
            raise ValueError(
                f"REGIONS is {len(','.join(self.REGIONS))} characters joined by commas; at most"
                f" {MAX_REGIONS_TEXT} (what a monitor's regions column holds)"
            )
        if self.REGION not in self.REGIONS:
            raise ValueError(
                f"REGION {self.REGION!r} is not among REGIONS ({','.join(self.REGIONS)})"
            )
        if self.READ_AUTH and not self.API_KEYS:
            raise ValueError("READ_AUTH=true needs API_KEYS: with no key, nobody could read")
        return self

    @property
    def uses_mysql(self) -> bool:
        return bool(self.DB_ADDRESS)

    @property
    def uses_redis(self) -> bool:
        return bool(self.CACHE_ADDRESS)


def probe_ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The TLS context of the probes: the system's trusted CAs plus those of `ca_bundle`, always
    verifying the certificate and the host name. ValueError saying why the bundle is unusable."""
    context = ssl.create_default_context()
    if ca_bundle is None:
        return context
    try:
        context.load_verify_locations(cafile=ca_bundle)
    except FileNotFoundError:
        raise ValueError("no such file") from None
    except IsADirectoryError:
        raise ValueError("is a directory, not a PEM file") from None
    except PermissionError:
        raise ValueError("cannot be read (permission denied)") from None
    except (ssl.SSLError, OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"is not a PEM file of CA certificates ({exc})") from None
    return context


def _comma_separated(value: Any) -> Any:
    """From the environment a list is one comma-separated string (empty items ignored), or a JSON
    array such as Terraform's jsonencode writes: `a,b` and `["a", "b"]` are the same."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError:
                raise ValueError(
                    "starts with [ but is not a JSON array (or write it comma-separated)"
                ) from None
            return [str(item).strip() for item in items if str(item).strip()]
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


def _loose_network(text: str) -> str | None:
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return None


def load_settings(**overrides: object) -> Settings:
    """Read the settings; a bad value raises SettingsError with one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


def settings_or_exit() -> Settings:
    """For entry points: the settings, or one line on stderr naming the bad value and exit code 2."""
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"service-monitor: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


_SECRETS = {"DB_PASSWORD", "API_KEYS", "CACHE_PASSWORD", "CHANNEL_KEYS"}


def _one_line(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        message = error["msg"].removeprefix("Value error, ")
        if error["loc"] and error["loc"][0] in _SECRETS:
            parts.append(f"{name}: {message}")  # a secret's value is never printed
        elif error["loc"]:
            parts.append(f"{name}={error.get('input')!r}: {message}")
        else:
            parts.append(message)
    return "invalid setting " + "; ".join(parts)
