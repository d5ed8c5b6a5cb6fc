"""`/channels`: where incidents are told (an Apprise URL or our signed webhook), managed over HTTP
with their targets sealed at rest and never shown again, and a test message to try one."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ...alerting.messages import channel_test
from ...alerting.sealing import Sealer, sealer_for
from ...alerting.senders import ChannelSender, UnsealedChannel, new_webhook_secret
from ...alerting.targets import ChannelTarget, InvalidTarget, parse_target
from ...alerts import ChannelType
from ...guard import policy_for
from ...services import Services
from ..deps import ServicesDep
from ..errors import (
    BODY_ERRORS,
    CHANNEL_CONFLICT,
    CHANNEL_IN_USE,
    INVALID,
    NOT_FOUND,
    SEALING,
    UNAVAILABLE,
)
from ..params import ForceParam
from ..schemas import (
    CHANNEL_PATCH_FIELDS,
    ChannelChange,
    ChannelCreated,
    ChannelIn,
    ChannelOut,
    ChannelPage,
    ChannelPatch,
    ChannelTestOut,
    as_response,
    channel_fields,
)

log = logging.getLogger(__name__)
reads = APIRouter(tags=["channels"])
writes = APIRouter(tags=["channels"])

ChannelId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the channel's id")]


def _sealer(request: Request, services: Services) -> Sealer:
    """The app's sealer, made on first use: the embedded default may create its key file then."""
    sealer: Sealer | None = getattr(request.app.state, "sealer", None)
    if sealer is None:
        sealer = request.app.state.sealer = sealer_for(services.settings)
    return sealer


def _target(services: Services, channel_type: ChannelType, url: str) -> ChannelTarget:
    """The checked target; a 422 on `url` saying why it cannot be used (never the URL itself:
    it may hold tokens), TargetRefused (422 too) when the SSRF guard refuses it."""
    try:
        return parse_target(channel_type, url, policy_for(services.settings))
    except InvalidTarget as exc:
        error = {"loc": ("body", "url"), "msg": str(exc), "type": "invalid_target"}
        raise RequestValidationError([error]) from None


async def _usage(services: Services, channel_ids: list[int]) -> list[int]:
    return list(await asyncio.gather(*(services.channels.channel_usage(i) for i in channel_ids)))


@writes.post(
    "/channels",
    status_code=status.HTTP_201_CREATED,
    response_model=ChannelCreated,
    responses={**BODY_ERRORS, **CHANNEL_CONFLICT, **INVALID, **SEALING},
    summary="Add a channel that is told of incidents",
)
async def add_channel(
    request: Request, services: ServicesDep, channel_in: ChannelIn
) -> JSONResponse:
    """Checks the target (an Apprise URL Apprise can read, or an http(s) webhook URL; an internal
    address is refused unless the SSRF guard allows it), seals it, and stores the channel.

    The target is never returned: `target_hint` shows its scheme and host, never its tokens. A
    webhook channel gets a signing secret, returned here only (`secret`): the receiver checks
    `X-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with it. `is_default` channels are
    told of the monitors that name none.
    """
    target = _target(services, channel_in.type, channel_in.url)
    sealer = _sealer(request, services)
    secret = new_webhook_secret() if channel_in.type is ChannelType.WEBHOOK else None
    channel = await services.channels.add_channel(
        channel_in.name,
        channel_in.type,
        target_hint=target.hint,
        sealed_target=sealer.seal(target.url),
        sealed_secret=None if secret is None else sealer.seal(secret),
        is_default=channel_in.is_default,
        send_resolved=channel_in.send_resolved,
        resend_every=channel_in.resend_every,
        now=services.clock(),
    )
    log.info("channel %d (%s, %s) added", channel.id, channel.type, channel.target_hint)
    body = ChannelCreated(**channel_fields(channel, 0), secret=secret)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"/channels/{channel.id}"},
    )


@reads.get(
    "/channels",
    response_model=ChannelPage,
    responses={**INVALID, **UNAVAILABLE},
    summary="List the channels",
)
async def list_channels(services: ServicesDep) -> Response:
    """Every channel by id, with how many monitors name it; targets shown as `target_hint`."""
    channels = await services.channels.list_channels()
    usage = await _usage(services, [c.id for c in channels])
    items = [ChannelOut.of(c, n) for c, n in zip(channels, usage, strict=True)]
    return as_response(ChannelPage(items=items, total=len(items)))


@reads.get(
    "/channels/{channel_id}",
    response_model=ChannelOut,
    responses={**NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="One channel",
)
async def get_channel(services: ServicesDep, channel_id: ChannelId) -> Response:
    channel = await services.channels.get_channel(channel_id)
    usage = await services.channels.channel_usage(channel_id)
    return as_response(ChannelOut.of(channel, usage))


@writes.patch(
    "/channels/{channel_id}",
    response_model=ChannelChange,
    responses={**BODY_ERRORS, **CHANNEL_CONFLICT, **NOT_FOUND, **INVALID, **SEALING},
    summary="Change a channel, or rotate its webhook secret",
)
async def edit_channel(
    request: Request, services: ServicesDep, channel_id: ChannelId, patch: ChannelPatch
) -> Response:
    """Changes the fields sent; the others keep their value. A new `url` is checked as on create
    (the type never changes). `resend_every: null` turns reminders off. `rotate_secret: true`
    gives a webhook channel a new signing secret, returned once in `secret` (the old one stops
    signing at once)."""
    current = await services.channels.get_channel(channel_id)
    sent = patch.model_fields_set
    if patch.rotate_secret and current.type is not ChannelType.WEBHOOK:
        error = {
            "loc": ("body", "rotate_secret"),
            "msg": f"only webhook channels have a secret; channel {channel_id} is {current.type}",
            "type": "value_error",
        }
        raise RequestValidationError([error])
    target = _target(services, current.type, patch.url) if "url" in sent else None
    name = patch.name if "name" in sent else current.name
    is_default = patch.is_default if "is_default" in sent else current.is_default
    send_resolved = patch.send_resolved if "send_resolved" in sent else current.send_resolved
    resend_every = patch.resend_every if "resend_every" in sent else current.resend_every
    wanted = {
        "name": name,
        "is_default": is_default,
        "send_resolved": send_resolved,
        "resend_every": resend_every,
    }
    changed = [
        field
        for field in CHANNEL_PATCH_FIELDS
        if (field == "url" and target is not None)
        or (field in wanted and wanted[field] != getattr(current, field))
    ]
    secret = new_webhook_secret() if patch.rotate_secret else None
    if secret is not None:
        changed.append("secret")
    channel = current
    if changed:
        sealer = _sealer(request, services) if target or secret else None
        channel = await services.channels.update_channel(
            channel_id,
            name=name if "name" in changed else None,
            target_hint=target.hint if target else None,
            sealed_target=sealer.seal(target.url) if sealer and target else None,
            sealed_secret=sealer.seal(secret) if sealer and secret else None,
            is_default=is_default if "is_default" in changed else None,
            send_resolved=send_resolved if "send_resolved" in changed else None,
            resend_every=resend_every if "resend_every" in changed else None,
            clear_resend_every="resend_every" in changed and resend_every is None,
        )
        log.info("channel %d changed: %s", channel_id, ", ".join(changed))
    usage = await services.channels.channel_usage(channel_id)
    return as_response(
        ChannelChange(**channel_fields(channel, usage), secret=secret, changed=changed)
    )


@writes.delete(
    "/channels/{channel_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, **CHANNEL_IN_USE, **INVALID, **UNAVAILABLE},
    summary="Delete a channel",
)
async def delete_channel(
    services: ServicesDep, channel_id: ChannelId, force: ForceParam = False
) -> Response:
    """409 while monitors name it, saying how many; `?force=true` makes them stop naming it
    (those left with none use the default channels) and deletes it. Its notifications not yet
    sent are dropped."""
    await services.channels.delete_channel(channel_id, force=force)
    log.info("channel %d deleted%s", channel_id, " (forced)" if force else "")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@writes.post(
    "/channels/{channel_id}/test",
    response_model=ChannelTestOut,
    responses={**NOT_FOUND, **INVALID, **SEALING},
    summary="Send a test message to a channel",
)
async def test_channel(request: Request, services: ServicesDep, channel_id: ChannelId) -> Response:
    """Sends a test message now, within NOTIFY_TIMEOUT, and answers how it went: `ok` and a
    sentence (`detail`). A channel that refuses or cannot be reached is `ok: false` with why, in
    a 200: the test ran, its outcome is the answer."""
    sealed = await services.channels.sealed_channel(channel_id)
    channel = sealed.channel
    unsealed = UnsealedChannel.unseal(
        _sealer(request, services), channel, sealed.sealed_target, sealed.sealed_secret
    )
    now = services.clock()
    message = channel_test(channel.name, key=f"test:channel:{channel.id}:{int(now)}", now=now)
    async with ChannelSender(services.settings) as sender:
        outcome = await sender.send(unsealed, message)
    log.info("channel %d tested: %s", channel_id, "ok" if outcome.ok else outcome.detail)
    return as_response(ChannelTestOut(ok=outcome.ok, detail=outcome.detail))
