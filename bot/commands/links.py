"""Links and shas pasted in Slack: what each one is, and where it runs now. Unfurls describe
the links of the connected Kosli org (and commits of the repositories its artifacts come
from); the "Where is this running?" shortcut answers `where` for what a message names."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from bot.commands.dispatch import answer, kosli_fault
from bot.commands.queries import QueryError
from bot.commands.services import Services
from bot.domain.commands import FindRunning
from bot.domain.links import (
    CommitLink,
    Found,
    KosliArtifact,
    KosliSnapshot,
    KosliTrail,
    Sha,
    find,
    parse_link,
)
from bot.domain.results import BuildLinked, Linked, SnapshotLinked, WhereResult
from bot.kosli import KosliBadRequest, KosliClient, KosliError, KosliNotFound, Snappish
from bot.render.blockkit import Message
from bot.render.queries import render_error, render_where
from bot.render.unfurl import render_linked, render_unfurl

log = logging.getLogger(__name__)

MAX_UNFURLS = 5  # links described per message: Slack shows a handful under one message
MAX_ANSWERS = 3  # things the shortcut answers about in one message
LOOKING_FOR = (
    "I found nothing to look up in that message: I look for commit shas (7 to 40 hex), "
    "fingerprints (64 hex), Kosli snapshot, artifact and trail links, and GitHub or GitLab "
    "commit links."
)


def kosli_hosts(kosli: KosliClient) -> frozenset[str]:
    """The host Kosli's pages are read on: the one the bot's Kosli client talks to."""
    return frozenset({urlsplit(kosli.host).netloc.lower()})


async def unfurls(services: Services, urls: Sequence[str]) -> dict[str, dict[str, Any]]:
    """url -> its attachment, for the links worth describing; the others are left alone."""
    kosli = services.queries.kosli
    wanted = [
        (url, link)
        for url in list(dict.fromkeys(urls))[:MAX_UNFURLS]
        if (link := parse_link(url, kosli_hosts(kosli))) is not None
    ]
    described = await asyncio.gather(*(_unfurled(services, link) for _, link in wanted))
    return {
        url: render_unfurl(linked)
        for (url, _), linked in zip(wanted, described, strict=True)
        if linked is not None
    }


async def _unfurled(services: Services, link: Found) -> Linked | None:
    """None: another org's link, a commit of a repository the org builds nothing from, or
    Kosli could not say (an unfurl is a courtesy: a failure only leaves the link bare)."""
    try:
        linked = await describe(services, link)
    except (QueryError, KosliError) as error:
        log.info("not unfurled: %s", type(error).__name__)
        return None
    foreign = (
        isinstance(linked, BuildLinked)
        and isinstance(linked.link, CommitLink)
        and not from_repository(linked.where, linked.link)
    )
    return None if foreign else linked


async def describe(services: Services, link: Found) -> Linked | None:
    """What a link shows, read from Kosli; None for another Kosli org's link or a bare sha
    (those are asked with `where`). Raises QueryError or KosliError."""
    queries, kosli = services.queries, services.queries.kosli
    if isinstance(link, KosliSnapshot | KosliArtifact | KosliTrail) and link.org != kosli.org:
        return None
    if isinstance(link, KosliSnapshot):
        snapshot, newest = await asyncio.gather(
            kosli.snapshot(Snappish(link.env, "#", str(link.index))), kosli.newest_row(link.env)
        )
        return SnapshotLinked(link, snapshot, newest[0].index if newest else None)
    if isinstance(link, KosliArtifact):
        return BuildLinked(link, await queries.where(FindRunning(link.fingerprint)))
    if isinstance(link, KosliTrail):
        trail = await kosli.trail(link.flow, link.trail)
        sha = trail.commit.sha.lower() if trail.commit else ""
        where = await queries.where(FindRunning(sha)) if FindRunning(sha).is_sha else None
        return BuildLinked(link, where, trail)
    if isinstance(link, CommitLink):
        return BuildLinked(link, await queries.where(FindRunning(link.sha)))
    return None


def from_repository(where: WhereResult | None, link: CommitLink) -> bool:
    """Whether the commit is of a repository the org's artifacts come from: one of the
    builds found names it in its commit URL, or the git host found the commit there."""
    if where is None:
        return False
    if where.repository:
        return where.repository.lower() == link.repository.lower()
    urls = [a.commit_url for a in where.artifacts]
    urls += [p.artifact.commit_url for p in where.placements]
    urls += [c.place.artifact.commit_url for c in where.containing]
    repositories = {
        (found.host, found.repository.lower())
        for url in urls
        if isinstance(found := parse_link(url, frozenset()), CommitLink)
    }
    return (link.host, link.repository.lower()) in repositories


async def where_running(services: Services, text: str, channel: str, user: str) -> list[Message]:
    """The shortcut's private answers: `where` for each sha, fingerprint, artifact, trail or
    commit link in `text`, what a snapshot link shows; one line when there is none."""
    kosli = services.queries.kosli
    found = find(text, kosli_hosts(kosli))
    if not found:
        return [render_error(LOOKING_FOR)]
    answers = [await _answer(services, item, channel, user) for item in found[:MAX_ANSWERS]]
    if len(found) > MAX_ANSWERS:
        more = len(found) - MAX_ANSWERS
        answers.append(render_error(f"…and {more} more in that message: ask `where` for them."))
    return answers


async def _answer(services: Services, item: Found, channel: str, user: str) -> Message:
    org = services.queries.kosli.org
    if isinstance(item, KosliSnapshot | KosliArtifact | KosliTrail) and item.org != org:
        return render_error(f"That link is to Kosli org `{item.org}`; this bot reads `{org}`.")
    if isinstance(item, Sha | CommitLink | KosliArtifact):
        query = item.value if isinstance(item, Sha) else _sha_of(item)
        return (await answer(f"where {query}", services, channel, user)).message
    try:
        linked = await describe(services, item)
    except QueryError as error:
        return render_error(str(error))
    except (KosliNotFound, KosliBadRequest):
        return render_error("Kosli knows nothing at that link: is it this org's, and whole?")
    except KosliError as error:
        return render_error(kosli_fault(error, org))
    if isinstance(linked, BuildLinked) and linked.where is not None:
        return render_where(linked.where, services.command_name)  # a trail: where its commit runs
    return render_linked(linked) if linked is not None else render_error(LOOKING_FOR)


def _sha_of(link: CommitLink | KosliArtifact) -> str:
    return link.sha if isinstance(link, CommitLink) else link.fingerprint
