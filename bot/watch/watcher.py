"""One watcher cycle: poll (Kosli -> outbox), sending each environment's alerts as soon as
it is polled (outbox -> transport); end mutes, send what is left, then the commits under the
alerts just sent (git host -> outbox -> transport)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.history import GitHistory
from bot.kosli import KosliClient
from bot.metrics import IN_OUTAGE, OUTBOX_OLDEST, OUTBOX_PENDING, POLL_SECONDS, WATCHED
from bot.store.store import Store
from bot.transport import Transport
from bot.watch.commits_replies import CommitsReplies
from bot.watch.poller import Poller
from bot.watch.router import Router
from bot.watch.sender import Sender
from bot.watch.settings import WatchSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Figures:
    watched: int
    in_outage: int
    pending: int  # alerts waiting to be sent
    oldest: datetime | None  # since when the oldest of them waits


def gauge(figures: Iterable[Figures], now: datetime) -> None:
    """Every workspace's figures, summed, in the gauges /metrics serves."""
    every = list(figures)
    WATCHED.set(sum(f.watched for f in every))
    IN_OUTAGE.set(sum(f.in_outage for f in every))
    OUTBOX_PENDING.set(sum(f.pending for f in every))
    oldest = min((f.oldest for f in every if f.oldest), default=None)
    OUTBOX_OLDEST.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)


class Watcher:
    def __init__(
        self,
        store: Store,
        kosli: KosliClient,
        transport: Transport,
        settings: WatchSettings | None = None,
        history: GitHistory | None = None,
    ) -> None:
        self.settings = settings or WatchSettings()
        self.store = store
        self.router = Router(store, self.settings)
        # An environment's alerts go out while the cycle polls the rest: the first alert
        # does not wait for the last poll.
        self.poller = Poller(store, kosli, self.router, self.settings, self._send_alerts_soon)
        self.sender = Sender(store, transport, self.settings)
        # Without a git host (tests of the watcher alone), commits rows simply wait.
        self.commits_replies = CommitsReplies(store, history, self.settings) if history else None
        self._sending: asyncio.Task[None] | None = None
        self._send_wanted = False
        self._commits_wanted = False
        # A cycle is polling (or ending mutes): its alerts come one environment after another,
        # so the sender keeps its turn until the cycle ends instead of taking and giving it
        # back each time.
        self._polling = False
        self._wanted = asyncio.Event()
        # Callers of `send_queued`, each told when the send round after its call is done, or,
        # when the sender then gives back its turn, once it has.
        self._callers: list[asyncio.Future[None]] = []

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.settings.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self.settings.clock = clock  # e.g. the shell's replayed time, for every part

    async def run_cycle(self) -> None:
        """Never raises: a scheduler job that dies silently would stop all alerts."""
        started = time.perf_counter()
        self.sender.new_cycle()
        try:
            self._polling = True
            try:
                await self.poller.poll_all()
                await self.router.end_mutes()
            finally:
                self._polling = False
                self._wanted.set()  # a sender holding its turn for the polls goes on or ends
            # At once, with no await before it: the sender still holding its turn sends the
            # rest, and the commits under them, in that same turn.
            await self.send_queued()
        except Exception:
            log.exception("watcher cycle failed; the next cycle starts from the database")
        POLL_SECONDS.observe(time.perf_counter() - started)

    async def figures(self) -> Figures:
        """What the people running the bot watch: how much is watched, failing, waiting."""
        pending, oldest = await self.store.outbox.backlog()
        return Figures(
            len(await self.store.environments.watched()),
            await self.store.environments.in_outage(),
            pending,
            oldest,
        )

    def heard_allow_listed(self, env: str, fingerprint: str) -> None:
        self.poller.heard_allow_listed(env, fingerprint)

    async def poll_now(self, env: str) -> None:
        """Kosli said `env` changed: poll it and send at once, through the same leases and
        outbox as the scheduled cycle (so a race between the two still alerts once)."""
        try:
            if await self.poller.poll_now(env):
                await self.send_queued()
        except Exception:
            log.exception("polling %s on Kosli's push failed; the next cycle will", env)

    async def send_queued(self) -> None:
        """Send what is pending and wait until it is sent: until the send round after this
        call ends (while a cycle polls, the sender keeps its turn, and the caller does not
        wait for the polls), or until the turn is given back after it. One sending at a time
        in this process: a call while it runs (100 webhooks at once) makes it look again, so
        no alert is left for the next cycle."""
        sent = asyncio.get_running_loop().create_future()
        self._callers.append(sent)
        self._start_sending(commits=True)
        await asyncio.shield(sent)  # a caller cancelled mid-way stops nobody's send

    def _send_alerts_soon(self) -> None:
        """Alerts were queued mid-poll: send them without waiting. The commits under them
        are read once the polls are done, so a failing git host is asked once a cycle."""
        self._start_sending(commits=False)

    async def stop(self) -> None:
        """The process is ending: a send in flight stops here (what it had not marked sent
        stays in the outbox for the next process), so no store call starts after this."""
        if self._sending is not None and not self._sending.done():
            self._sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sending

    def _start_sending(self, commits: bool) -> None:
        self._send_wanted = True
        self._commits_wanted |= commits
        if self._sending is None or self._sending.done():
            self._wanted = asyncio.Event()  # made in the running loop, as the task is
            self._sending = asyncio.create_task(self._send_while_wanted())
        self._wanted.set()

    async def _send_while_wanted(self) -> None:
        try:
            while self._send_wanted:  # wanted again as the turn was given back: take it again
                async with self.sender.turn() as mine:
                    if not mine:  # another replica sends, what is queued here included
                        break
                    while self._send_wanted or self._polling:
                        if self._send_wanted:
                            await self._send_round()
                        else:
                            await self._until_wanted()
        except Exception:
            log.exception("sending alerts failed; the outbox keeps them for the next try")
        finally:
            _tell(self._callers)

    async def _send_round(self) -> None:
        self._send_wanted = False
        callers, self._callers = self._callers, []
        try:
            await self.sender.send_pending()  # alerts first: they never wait for git
            if self._commits_wanted:
                self._commits_wanted = False
                if self.commits_replies and await self.commits_replies.fill_waiting():
                    await self.sender.send_pending()  # then the commits under them
        finally:
            if self._polling:  # the turn is kept for the polls: its callers need not wait
                _tell(callers)
            else:  # told once the turn is given back, so no other process waits for it
                self._callers[:0] = callers

    async def _until_wanted(self) -> None:
        """Until this process queues alerts or its polls end; at most a while, then a look
        for what other replicas queued."""
        self._wanted.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wanted.wait(), self.settings.look_while_polling)
        self._send_wanted |= not self._wanted.is_set()

    async def renew_leases(self) -> None:
        """The heartbeat that keeps this process's leases while it lives; never raises."""
        try:
            await self.store.leases.renew_all(
                self.settings.owner, self.settings.now(), self.settings.lease_ttl
            )
        except Exception:
            log.exception("renewing leases failed; they expire unless the next renewal works")

    async def end_mute(self, channel: str, env: str) -> int:
        return await self.router.end_mute(channel, env)


def _tell(callers: list[asyncio.Future[None]]) -> None:
    """The callers waiting for a send round: it is done (or the sending has ended)."""
    for caller in callers:
        if not caller.done():
            caller.set_result(None)
    callers.clear()
