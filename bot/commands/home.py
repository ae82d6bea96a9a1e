"""The Home tab: what each channel watches and its open incidents, read from the store; the
admins' unwatch and unmute buttons go through the commands, so the channel is told as if
someone had typed them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.commands.dispatch import answer
from bot.commands.services import Services
from bot.commands.subscriptions import progress_of, watched_of
from bot.domain.commands import may_administer
from bot.domain.results import ChannelHome, HomeResult, OpenIncident
from bot.transport import TransportError

SLACK_CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,20}")  # the channel a Home button acts on

# A thread's link from Slack (chat.getPermalink), '' when Slack gives none.
Permalink = Callable[[str, str], Awaitable[str]]


async def home(services: Services, user: str, permalink: Permalink) -> HomeResult:
    store = services.subscriptions.store
    now = services.incidents.clock()
    subscriptions = await store.subscriptions.find()
    states = {env: await store.environments.state(env) for env in {s.env for s in subscriptions}}
    incidents = await store.incidents.still_open()
    by_channel: dict[str, ChannelHome] = {}
    for sub in subscriptions:
        channel = by_channel.setdefault(sub.channel_id, ChannelHome(sub.channel_id, ()))
        watched = watched_of(sub)
        if watched.muted_until is not None and watched.muted_until <= now:
            watched = replace(watched, muted_until=None)  # the mute is over
        row = (watched, progress_of(states[sub.env]))
        by_channel[sub.channel_id] = replace(channel, watching=(*channel.watching, row))
    for incident in incidents:
        if incident.thread_ts is None:
            continue  # still being opened
        channel = by_channel.setdefault(incident.channel_id, ChannelHome(incident.channel_id, ()))
        link = await permalink(incident.channel_id, incident.thread_ts)
        found = OpenIncident(tuple(incident.envs), incident.opened_at, incident.opened_by, link)
        by_channel[incident.channel_id] = replace(channel, incidents=(*channel.incidents, found))
    kosli = services.queries.kosli
    return HomeResult(
        connection=(kosli.org, kosli.host),
        channels=tuple(by_channel[c] for c in sorted(by_channel)),
        admin=may_administer(services.admins, user),
    )


async def home_button(services: Services, command: str, value: str, user: str) -> str:
    """`command` (unwatch or unmute) for the channel and environment in a Home tab button's
    `value`; the channel sees the command's public reply. Returns what to tell the clicker on
    the tab ('' when it went through)."""
    channel, _, env = value.partition(" ")
    if not SLACK_CHANNEL.fullmatch(channel) or not env:
        return "That button is out of date: open the Home tab again."
    reply = await answer(f"{command} {env}", services, channel, user)
    if not reply.public:
        return reply.message.text  # refused or failed: the one line says why
    try:
        await services.transport.post(channel, reply.message)
    except TransportError as error:
        return f"Done, but the channel could not be told ({error.reason})."
    return ""
