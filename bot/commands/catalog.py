"""Every command the bot knows, declared once, in the order `help` lists them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any, TypeVar

from bot.commands.queries import Queries
from bot.commands.registry import Command, Context, Handler, Registry, Reply
from bot.commands.services import Services
from bot.commands.subscriptions import Subscriptions
from bot.domain import commands as parse
from bot.domain.commands import (
    CloseIncident,
    FindSuspects,
    Help,
    Incidents,
    MarkSuspect,
    Version,
)
from bot.domain.results import HelpResult, VersionResult
from bot.render import queries, subscriptions
from bot.render.blockkit import Message, message, section
from bot.render.changes import render_commits, render_diff
from bot.render.mrkdwn import escape
from bot.render.suspects import render_suspects

R = TypeVar("R")


def _query(
    run: Callable[[Queries, Any], Awaitable[R]], draw: Callable[[R, str], Message]
) -> Handler:
    """A question for Kosli; the answer goes to the channel (everyone in an incident)."""

    async def handle(request: Any, services: Services, ctx: Context) -> Reply:
        return Reply(draw(await run(services.queries, request), ctx.command_name), public=True)

    return handle


def _subscription(
    run: Callable[[Subscriptions, Any, str, str], Awaitable[R]],
    draw: Callable[[R, str], Message],
    public: bool = True,
) -> Handler:
    """A change to what the channel watches: everyone there should know."""

    async def handle(request: Any, services: Services, ctx: Context) -> Reply:
        outcome = await run(services.subscriptions, request, ctx.channel, ctx.user)
        return Reply(draw(outcome, ctx.command_name), public)

    return handle


async def _help(_: Help, services: Services, ctx: Context) -> Reply:
    return Reply(queries.render_help(HelpResult(COMMANDS.help()), ctx.command_name), False)


async def _incident(request: Incidents, services: Services, ctx: Context) -> Reply:
    """The thread itself is posted to the channel; the asker gets a short receipt."""
    desk = services.incidents
    if isinstance(request, CloseIncident):
        note = await desk.close(ctx.channel, ctx.thread_ts, ctx.user)
    else:
        note = await desk.open(request.envs, request.window, ctx.channel, ctx.user, request.at)
    # The receipt names environments Kosli listed (what a logical one includes): escaped.
    return Reply(message(note, [section(escape(note))]), public=False)


async def _suspects(request: FindSuspects, services: Services, ctx: Context) -> Reply:
    ranking = await services.incidents.suspects(request)
    return Reply(render_suspects(ranking, ctx.command_name), public=True)


async def _mark(request: MarkSuspect, services: Services, ctx: Context) -> Reply:
    """Everyone in the thread sees who marked what."""
    marked = await services.incidents.mark(request, ctx.channel, ctx.thread_ts, ctx.user)
    return Reply(marked, public=True)


async def _version(_: Version, services: Services, ctx: Context) -> Reply:
    kosli = services.queries.kosli
    about = VersionResult(
        version=metadata.version("kosli-incident-bot"),
        kosli_host=kosli.host,
        org=kosli.org,
        database=services.subscriptions.store.engine.dialect.name,
    )
    return Reply(queries.render_version(about, ctx.command_name), public=False)


def _previous_change(value: str) -> str:
    """`aws-prod#177` -> the diff one change further back; anything else goes to the diff
    parser as it is, which explains what is wrong with it."""
    env, _, index = value.rpartition("#")
    if env and index.isascii() and index.isdigit() and int(index) > 1:
        return f"diff {env}#{int(index) - 1} {env}#{index}"
    return f"diff {value}"


COMMANDS = Registry(
    [
        Command(
            "diff",
            "ENV | A B",
            "what started, stopped or was replaced between two snapshots",
            "diff aws-prod#176 aws-prod#177",
            parse.parse_diff,
            _query(Queries.diff, render_diff),
            aliases=("env diff",),
            buttons={"previous_change": _previous_change},
        ),
        Command(
            "commits",
            "ENV#N | A B",
            "the commits between the old and the new build of each replaced service",
            "commits aws-prod#177",
            parse.parse_diff,
            _query(Queries.commits, render_commits),
            buttons={"show_commits": lambda value: f"commits {value}"},
        ),
        Command(
            "log",
            "ENV [PAGE]",
            "the environment's snapshots, newest first",
            "log aws-prod",
            parse.parse_log,
            _query(Queries.log, queries.render_log),
            aliases=("env log",),
        ),
        Command(
            "envs",
            "",
            "environments with last report time and compliance",
            "envs",
            parse.parse_envs,
            _query(Queries.envs, queries.render_envs),
            aliases=("environments", "env list"),
        ),
        Command(
            "artifact",
            "FLOW@FINGERPRINT | FLOW:COMMIT | SHA",
            "an artifact's commit, build, compliance, attestations and history",
            "artifact creator@5d1c9265",
            parse.parse_artifact,
            _query(Queries.artifact, queries.render_artifacts),
            aliases=("artifact get",),
            buttons={"artifact_details": lambda value: f"artifact {value}"},
        ),
        Command(
            "where",
            "COMMIT | FINGERPRINT | SERVICE",
            "where it is running now",
            "where creator",
            parse.parse_where,
            _query(Queries.where, queries.render_where),
        ),
        Command(
            "why",
            "ENV [NAME]",
            "why it is non-compliant: each failing policy rule and attestation",
            "why aws-prod payments",
            parse.parse_why,
            _query(Queries.why, queries.render_why),
        ),
        Command(
            "watch",
            "ENV [ENV...] [--risky]",
            "post here when something changes (--risky: only non-compliant or rogue)",
            "watch aws-prod",
            parse.parse_watch,
            _subscription(Subscriptions.watch, subscriptions.render_watch),
        ),
        Command(
            "unwatch",
            "ENV",
            "stop posting changes of ENV here",
            "unwatch aws-prod",
            parse.parse_unwatch,
            _subscription(Subscriptions.unwatch, subscriptions.render_unwatch),
            for_admins=lambda _: True,
        ),
        Command(
            "watching",
            "",
            "what this channel watches, with the last snapshot seen",
            "watching",
            parse.parse_watching,
            _subscription(Subscriptions.watching, subscriptions.render_watching, public=False),
        ),
        Command(
            "mute",
            "ENV DURATION",
            "hold alerts, summarised when the mute ends",
            "mute aws-prod 30m",
            parse.parse_mute,
            _subscription(Subscriptions.mute, subscriptions.render_mute),
            buttons={"mute_hour": lambda value: f"mute {value} 1h"},
            for_admins=lambda _: True,
        ),
        Command(
            "unmute",
            "ENV",
            "end a mute now",
            "unmute aws-prod",
            parse.parse_unmute,
            _subscription(Subscriptions.unmute, subscriptions.render_mute),
        ),
        Command(
            "incident",
            "ENV [ENV...] [2h | since 14:30 | since #170] [at 14:55] | close",
            "open a thread of what changed in the window (UTC), change by change; close it",
            "incident aws-prod since #169",
            parse.parse_incident,
            _incident,
            buttons={"close_incident": lambda _: "incident close"},
            for_admins=lambda request: isinstance(request, CloseIncident),
        ),
        Command(
            "suspects",
            "ENV [ENV...] [2h | since 14:30 | since #170] [at 14:55 | at #177]",
            "which change most likely broke it: the changes before the start, ranked by evidence",
            "suspects aws-prod since #175 at 14:55",
            parse.parse_suspects,
            _suspects,
        ),
        Command(
            "mark",
            "cause | not-it ENV FINGERPRINT [NAME]",
            "in an incident thread: say a suspect is the cause, or not it",
            "mark cause aws-prod 860ad172ace5 creator:b7a5908",
            parse.parse_mark,
            _mark,
            buttons={
                "suspect_cause": lambda value: f"mark cause {value}",
                "suspect_not_it": lambda value: f"mark not-it {value}",
            },
        ),
        Command(
            "version",
            "",
            "the bot's version, its Kosli host and org, and its database",
            "version",
            parse.parse_version,
            _version,
        ),
        Command("help", "", "this list", "help", parse.parse_help, _help),
    ]
)
