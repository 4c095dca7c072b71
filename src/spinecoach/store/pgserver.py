"""A throwaway PostgreSQL cluster on a loopback port, for tests and local trials.

Uses the server binaries of the system package (``/usr/lib/postgresql/<major>/bin``,
installed by ``apt-get install -y postgresql``). ``initdb`` refuses to run as root, so
as root the cluster is made and run by the ``postgres`` user. Authentication is
``trust``, which is why the server listens on 127.0.0.1 and a private socket folder
only. Data is not fsynced: the cluster is for throwaway use.

>>> with ThrowawayPostgres() as server:  # doctest: +SKIP
...     url = server.create_database("spinecoach_test")
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Final

from spinecoach.errors import ConfigurationError

POSTGRES_GLOB: Final = "/usr/lib/postgresql/*/bin"
INSTALL_HINT: Final = (
    "install the PostgreSQL server with `apt-get install -y postgresql` "
    "(or run scripts/ensure-system-packages.sh as root)"
)


def find_postgres_bindir(pattern: str = POSTGRES_GLOB) -> Path:
    """The newest folder matching ``pattern`` that holds ``initdb`` and ``pg_ctl``."""

    def major(folder: str) -> int:
        name = Path(folder).parent.name
        return int(name) if name.isdigit() else -1

    for folder in sorted(glob.glob(pattern), key=major, reverse=True):
        path = Path(folder)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    raise ConfigurationError(
        f"no PostgreSQL server binaries (initdb, pg_ctl) under {pattern}; {INSTALL_HINT}"
    )


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayPostgres:
    """Start a fresh cluster on entry; stop it and delete its folder on exit."""

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_postgres_bindir()
        self.folder: Path | None = None
        self.port = 0
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str | Path) -> None:
        command = [str(a) for a in args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = ""
            if self.folder is not None and (self.folder / "server.log").exists():
                log = (self.folder / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n"
                f"{done.stderr}\n{log}"
            )

    @property
    def data(self) -> Path:
        if self.folder is None:
            raise RuntimeError("the cluster is not started")
        return self.folder / "data"

    def start(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="spinecoach-pg-"))
        if self._as_postgres:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise ConfigurationError(
                    f"running as root needs the 'postgres' user to run initdb; {INSTALL_HINT}"
                ) from exc
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self._run(
            self.bindir / "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        last: RuntimeError | None = None
        for _attempt in range(3):  # the free port may be taken before the server binds it
            self.port = free_loopback_port()
            options = (
                f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    self.bindir / "pg_ctl",
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.folder / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                )
                return
            except RuntimeError as exc:
                last = exc
        raise RuntimeError(f"PostgreSQL did not start: {last}")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its SQLAlchemy URL (psycopg 3)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> None:
        if self.folder is None:
            return
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(
                    self.bindir / "pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"
                )
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> ThrowawayPostgres:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
