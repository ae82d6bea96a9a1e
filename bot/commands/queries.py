"""The read-only commands' handlers: Kosli calls in, a result the renderers can draw out."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any, TypeVar

from bot.domain.changes import (
    ChangeSet,
    env_diff_changes,
    service_of,
    short_name,
    snapshot_changes,
)
from bot.domain.commands import (
    ExplainCompliance,
    FindArtifact,
    FindRunning,
    ListEnvs,
    ShowDiff,
    ShowLog,
)
from bot.domain.commits_window import by_ancestry, window_ends
from bot.domain.compliance import reasons
from bot.domain.events import by_snapshot, compliance_followed
from bot.domain.logical import names, use_included
from bot.domain.results import (
    ArtifactResult,
    CommitsResult,
    Containing,
    EnvsResult,
    Failing,
    LogResult,
    Placement,
    WhereResult,
    WhyResult,
)
from bot.githost import GitHostError, GitHostNotFound, Repository
from bot.history import GitHistory
from bot.kosli import KosliBadRequest, KosliClient, KosliError, KosliNotFound, Snappish
from bot.kosli.attestations import Assertion
from bot.kosli.events import EnvironmentEvent
from bot.kosli.models import Artifact, Environment, Snapshot
from bot.watch.events import window_events

R = TypeVar("R")

LOG_PAGE_SIZE = 15
LOG_EVENT_PAGES = 3  # of 100 events: a busy page's oldest rows go without theirs
SNAPSHOT_FETCH_CONCURRENCY = 8
ASSERTED_ARTIFACTS = 5  # an artifact answer lists attestations for this many at most


class QueryError(Exception):
    """The question was well formed but has no answer (unknown environment, no snapshot...)."""


class Queries:
    def __init__(self, kosli: KosliClient, history: GitHistory | None = None) -> None:
        self.kosli = kosli
        self.history = history

    async def _explained(
        self, envs: list[str], missing: str, question: Coroutine[Any, Any, R], command: str = ""
    ) -> R:
        """Run `question`; when Kosli says 404, say which part it did not know: an unknown
        environment (with close names for a typo), a logical one (which environments to
        `command` instead), else `missing`."""
        try:
            return await question
        except (KosliNotFound, KosliBadRequest) as error:
            # Kosli answers 400, not 404, for the latest snapshot of an environment with none;
            # a 400 for anything else (a malformed expression) keeps Kosli's own words.
            unknown = await unknown_environment(self.kosli, envs, command)
            if unknown is None and (empty := await self._empty(envs)):
                unknown = f"Kosli has no snapshot of {names(empty)} yet."
            if unknown is None and isinstance(error, KosliBadRequest):
                raise
            raise QueryError(unknown or missing) from None

    async def _empty(self, envs: list[str]) -> tuple[str, ...]:
        """Those of `envs` that never reported (asked only once a command has failed)."""

        async def never_reported(env: str) -> bool:
            try:
                return not await self.kosli.newest_row(env)
            except KosliError:
                return False  # cannot tell: say nothing of it

        unique = list(dict.fromkeys(envs))
        found = await asyncio.gather(*map(never_reported, unique))
        return tuple(env for env, empty in zip(unique, found, strict=True) if empty)

    async def envs(self, _: ListEnvs) -> EnvsResult:
        envs = await self.kosli.environments()
        return EnvsResult(self.kosli.org, tuple(sorted(envs, key=lambda e: e.name)))

    async def log(self, request: ShowLog) -> LogResult:
        async def rows() -> LogResult:
            found = await self.kosli.snapshots(request.env, request.page, LOG_PAGE_SIZE)
            if not found and request.page == 1:
                # An empty list can mean an unknown or a logical environment.
                raise KosliNotFound("no snapshots")
            events = await self._log_events(request.env, [row.index for row in found])
            return LogResult(request.env, request.page, tuple(found), LOG_PAGE_SIZE, events)

        missing = f"Kosli has no snapshots for `{request.env}` yet."
        return await self._explained([request.env], missing, rows(), "log")

    async def _log_events(
        self, env: str, indexes: list[int]
    ) -> dict[int, tuple[EnvironmentEvent, ...]] | None:
        """What happened in each of these snapshots, where Kosli's event log says it whole;
        None (the plain log) when it keeps none or fails: the rows are the answer."""
        if not indexes:
            return None
        first, last = min(indexes), max(indexes)
        found = await window_events(self.kosli, env, first, last, max_pages=LOG_EVENT_PAGES)
        if found is None:
            return None
        happened = by_snapshot(compliance_followed(found.events))
        return {i: happened.get(i, ()) for i in indexes if i >= found.complete_from}

    async def diff(self, request: ShowDiff) -> ChangeSet:
        before, after = request.before, request.after
        asked = " and ".join(f"`{s}`" for s in (before, after) if s is not None)
        missing = (
            f"Kosli could not find the snapshots {asked}. "
            f"Try `log {after.env}` to see which snapshots exist."
        )
        envs = [s.env for s in (before, after) if s is not None]
        return await self._explained(envs, missing, self._diff(before, after), "diff")

    async def commits(self, request: ShowDiff) -> CommitsResult:
        """The diff's replaced builds, each with the commits between old and new."""
        changes = await self.diff(request)
        if self.history is None:
            raise QueryError("This bot reads no git host, so it cannot list commits.")
        wanted = [e for c in changes.changes if (e := window_ends(c)) is not None]
        windows = await self.history.windows(wanted)
        return CommitsResult(by_ancestry(changes, windows), windows)

    async def artifact(self, request: FindArtifact) -> ArtifactResult:
        sha, flow = request.sha, request.flow
        where = f" in flow `{flow}`" if flow else ""
        missing = f"Kosli knows no artifact matching `{sha}`{where}."
        if not flow:
            lookup = self.kosli.search(sha)
        elif request.by_commit:
            lookup = self.kosli.artifacts_by_commit(flow, sha)
        else:
            lookup = self.kosli.artifacts_by_fingerprint(flow, sha)
        found = await self._explained([], missing, lookup)
        label = f"{flow}{':' if request.by_commit else '@'}{sha}" if flow else sha
        shown = found[:ASSERTED_ARTIFACTS]
        asserted = await self._assertions([a.fingerprint for a in shown], None)
        return ArtifactResult(label, tuple(found), asserted)

    async def where(self, request: FindRunning) -> WhereResult:
        missing = f"Nothing running matches `{request.query}`."
        return await self._explained([], missing, self._where(request))

    async def why(self, request: ExplainCompliance) -> WhyResult:
        snapshot = request.snapshot
        missing = f"Kosli has no snapshot `{snapshot}`. Try `log {snapshot.env}`."
        why = self._why(snapshot, request.name)
        return await self._explained([snapshot.env], missing, why, "why")

    async def _diff(self, before: Snappish | None, after: Snappish) -> ChangeSet:
        """Two snapshots of one environment go through the one change model, so the diff
        says what the alert for them said; two environments are Kosli's env-diff."""
        if before is not None and before.env != after.env:
            return env_diff_changes(await self.kosli.diff(before, after))
        if before is None:
            newer = await self._not_first(after)
            older = await self.kosli.snapshot(Snappish(after.env, "#", str(newer.index - 1)))
            return snapshot_changes(older, newer)
        try:
            older, newer = await asyncio.gather(
                self.kosli.snapshot(before), self.kosli.snapshot(after)
            )
        except KosliNotFound:
            await self._not_first(after)  # "nothing before #1" says more than "not found"
            raise
        return snapshot_changes(older, newer)

    async def _not_first(self, snappish: Snappish) -> Snapshot:
        snapshot = await self.kosli.snapshot(snappish)
        if snapshot.index <= 1:
            raise QueryError(
                f"{snappish.env}#{snapshot.index} is the first snapshot: nothing before it"
            )
        return snapshot

    async def _assertions(self, fingerprints: list[str], env: str | None) -> dict[str, Assertion]:
        """Attestation statuses, best effort: a failed lookup only leaves them out."""
        limit = asyncio.Semaphore(SNAPSHOT_FETCH_CONCURRENCY)

        async def one(fingerprint: str) -> tuple[str, Assertion | None]:
            async with limit:
                try:
                    return fingerprint, await self.kosli.asserts(fingerprint, env)
                except KosliError:
                    return fingerprint, None

        found = await asyncio.gather(*(one(fp) for fp in dict.fromkeys(fingerprints)))
        return {fp: assertion for fp, assertion in found if assertion is not None}

    async def _why(self, snappish: Snappish, name: str) -> WhyResult:
        snapshot = await self.kosli.snapshot(snappish)
        wanted = name.lower()
        matched = [
            a
            for a in sorted(snapshot.running, key=lambda a: a.name)
            if not wanted
            or wanted == service_of(a.name, a.flow).lower()
            or wanted in short_name(a.name).lower()
        ]
        failing = [a for a in matched if a.compliant is False or not a.flow]
        asserted = await self._assertions([a.fingerprint for a in failing], snapshot.env)
        return WhyResult(
            env=snapshot.env,
            index=snapshot.index,
            compliant=snapshot.compliant,
            policies=snapshot.policies,
            failing=tuple(Failing(a, reasons(a), asserted.get(a.fingerprint)) for a in failing),
            name=name,
            matched=len(matched),
        )

    async def _where(self, command: FindRunning) -> WhereResult:
        notes: tuple[str, ...] = ()
        if command.is_sha:
            try:
                found = tuple(await self.kosli.search(command.query))
            except KosliNotFound:
                found = ()
            except KosliError as error:
                # What the snapshots show still answers: the failure is a line under it.
                found = ()
                notes = (
                    f"Kosli's search failed: {error}. "
                    "The running builds were read from the latest snapshots.",
                )
            if found:
                return WhereResult(command.query, artifacts=await self._physical_only(found))
        running, empty = await self._running()
        if command.is_sha:
            if at := running_at(command.query, running):
                beside = await self._beside(command.query, at, running, notes)
                return replace(beside, no_snapshot=empty)
            # No build was made of it: ask the git host which running build contains it.
            try:
                containing = await self._containing(command.query, running)
            except QueryError as error:
                raise QueryError(" ".join((str(error), *notes))) from None
            if containing is not None:
                return replace(containing, notes=notes, no_snapshot=empty)
        wanted = command.query.lower()
        placements = tuple(
            p
            for p in running
            if wanted == service_of(p.artifact.name, p.artifact.flow).lower()
            or wanted in p.artifact.name.lower()
        )
        return WhereResult(command.query, placements=placements, notes=notes, no_snapshot=empty)

    async def _physical_only(self, found: tuple[Artifact, ...]) -> tuple[Artifact, ...]:
        """Where search says each runs, without logical environments: one that includes
        aws-prod would show the same running build a second time. Best effort: when Kosli
        cannot list its environments, the places stay as it said."""
        if not any(a.running_in or a.exited_from for a in found):
            return found
        try:
            logical = {e.name for e in await self.kosli.environments() if e.logical}
        except KosliError:
            return found

        def physical(places: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(p for p in places if p.partition("#")[0] not in logical)

        return tuple(
            replace(a, running_in=physical(a.running_in), exited_from=physical(a.exited_from))
            for a in found
        )

    async def _beside(
        self, sha: str, at: list[Placement], running: list[Placement], notes: tuple[str, ...]
    ) -> WhereResult:
        """The running builds of the commit `sha` names, and the other running builds of its
        repository compared with it (has it / not yet); a git host failure is a note."""
        commits = {p.artifact.git_commit for p in at}
        repo = self.history.repository(at[0].artifact.commit_url) if self.history else None
        if self.history is None or repo is None or len(commits) != 1:
            return WhereResult(sha, placements=tuple(at), notes=notes)
        (full,) = commits
        rest = [
            p
            for p in running
            if p not in at
            and p.artifact.git_commit
            and self.history.repository(p.artifact.commit_url) == repo
        ]
        containing = []
        for place in rest:
            try:
                found = await self.history.compare(repo, full, place.artifact.git_commit)
            except GitHostNotFound:
                continue  # a build of a commit the host does not know (a fork, a rewrite)
            except GitHostError as error:
                notes += (f"The other running builds were not compared with it: {error}.",)
                break  # the host is down or out of quota: the rest would fail alike
            containing.append(Containing(place, found.status, found.ahead_by, found.behind_by))
        return WhereResult(sha, placements=tuple(at), containing=tuple(containing), notes=notes)

    async def _containing(self, sha: str, running: list[Placement]) -> WhereResult | None:
        """Each running build of the commit's repository, compared with the commit; None when
        no repository the bot can read knows the commit. The repositories come from the
        running artifacts' commit URLs, so none need configuring."""
        if self.history is None:
            return None
        by_repo: dict[Repository, list[Placement]] = {}
        for place in running:
            repo = self.history.repository(place.artifact.commit_url)
            if repo is not None and place.artifact.git_commit:
                by_repo.setdefault(repo, []).append(place)
        for repo, places in sorted(by_repo.items(), key=lambda item: item[0].path):
            try:
                commit = await self.history.githost.commit(repo, sha)
            except GitHostNotFound:
                continue  # not this repository's commit
            except GitHostError as error:
                raise QueryError(f"The git host could not say where `{sha}` is: {error}.") from None
            containing = []
            for place in places:
                try:
                    found = await self.history.compare(repo, commit.sha, place.artifact.git_commit)
                except GitHostError:
                    continue
                containing.append(Containing(place, found.status, found.ahead_by, found.behind_by))
            return WhereResult(
                sha, commit=commit, repository=repo.path, containing=tuple(containing)
            )
        return None

    async def _running(self) -> tuple[list[Placement], tuple[str, ...]]:
        """What runs now in every environment (its latest snapshot), and the environments
        that have no snapshot to read."""
        limit = asyncio.Semaphore(SNAPSHOT_FETCH_CONCURRENCY)

        async def latest(env: Environment) -> list[Placement] | None:
            async with limit:
                snapshot = await self.kosli.latest_snapshot(env.name)
            if snapshot is None:  # never reported: the others still answer
                return None
            return [Placement(env.name, snapshot.index, a) for a in snapshot.running]

        # A logical environment's artifacts are its included environments': read it too and
        # each would be counted twice.
        envs = sorted(
            (e for e in await self.kosli.environments() if not e.logical), key=lambda e: e.name
        )
        found = await asyncio.gather(*(latest(env) for env in envs))
        empty = tuple(env.name for env, places in zip(envs, found, strict=True) if places is None)
        return [p for places in found if places for p in places], empty


def running_at(query: str, running: list[Placement]) -> list[Placement]:
    """The running builds whose commit starts with `query`, else those whose fingerprint does:
    what the snapshots show, when Kosli's search does not say."""
    by_commit = [p for p in running if p.artifact.git_commit.lower().startswith(query)]
    return by_commit or [p for p in running if p.artifact.fingerprint.lower().startswith(query)]


async def unknown_environment(kosli: KosliClient, envs: list[str], command: str = "") -> str | None:
    """'There is no environment X' with close names, when one of `envs` does not exist; with
    `command`, a logical one is explained too (which environments to `command` instead)."""
    if not envs:
        return None
    try:
        known = {e.name: e for e in await kosli.environments()}
    except KosliError:
        return None
    for env in envs:
        found = known.get(env)
        if known and found is None:
            return unknown_wording(env, list(known), kosli.org)
        if command and found is not None and found.logical:
            return use_included(found, command)
    return None


def unknown_wording(env: str, known: list[str], org: str) -> str:
    close = difflib.get_close_matches(env, known, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
    return f"There is no environment `{env}` in org `{org}`.{hint}"
