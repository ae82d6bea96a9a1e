"""A private PostgreSQL cluster in a temporary folder, for runs that restart the server (the
shared one on 5432 serves other tests meanwhile): initdb as the `postgres` user, trust auth,
a free port, its socket in its own folder; removed on stop."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No private cluster can be made here (no server binaries, or not root to run them as
    the postgres user)."""


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise PostgresUnavailable("no PostgreSQL server binaries under /usr/lib/postgresql")
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        raise PostgresUnavailable("initdb must run as the postgres user: needs root and runuser")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    def __init__(self) -> None:
        self.bin = _binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.port = _free_port()
        self._as_postgres(
            "initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "--no-sync"
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> PrivatePostgres:
        self._ctl("start")
        return self

    def restart(self) -> None:
        """A fast shutdown (every connection cut) and a start: what a server crash and its
        supervisor's restart look like to the clients."""
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        try:
            self._ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _ctl(self, *action: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._as_postgres("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-o", options, *action)

    def _as_postgres(self, program: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / program), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.folder,
        )
