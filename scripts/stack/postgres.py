"""A throwaway PostgreSQL server for the local stack, from the machine's PostgreSQL binaries.

The binaries come from Debian's ``postgresql`` package (``/usr/lib/postgresql/<version>/bin``) or
any ``initdb``/``postgres`` on ``PATH``. PostgreSQL refuses to run as root, so as root the cluster
is created and run as the ``postgres`` system user that the Debian package adds; the data directory
is then a fresh temporary directory owned by that user (a state directory under ``/root`` would not
be reachable for it). The cluster trusts local connections on 127.0.0.1 only and runs without
fsync: it holds nothing but this stack's Airflow metadata and is deleted when the stack stops.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from scripts.stack.process import Component, ComponentError

USER = "airflow"
DATABASE = "airflow"
INSTALL_HINT = "install PostgreSQL (Debian: apt-get install postgresql) or put its bin directory on PATH"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (or no unprivileged user to run them as root)."""


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``postgres``: the newest Debian install, else ``PATH``."""
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if debian:
        return debian[-1].parent
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return Path(initdb).resolve().parent
    raise PostgresUnavailable(f"no PostgreSQL server binaries (initdb, postgres) found: {INSTALL_HINT}")


def run_as() -> pwd.struct_passwd | None:
    """The ``postgres`` account to drop to when running as root; ``None`` when not root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root needs a 'postgres' system user to run PostgreSQL as: " + INSTALL_HINT
        ) from None


def unavailable() -> str | None:
    """Why this machine cannot run the stack's PostgreSQL (no binaries, or no account to run them as
    root), or ``None``. Under CI (``CI`` set) that raises :class:`PostgresUnavailable` instead:
    ``scripts/test.sh`` installs PostgreSQL there."""
    try:
        find_bindir()
        run_as()
    except PostgresUnavailable as missing:
        if os.environ.get("CI"):
            raise
        return str(missing)
    return None


class PostgresServer:
    """``initdb`` into a fresh directory, run ``postgres`` on 127.0.0.1:``port``, create the database."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self.bindir = find_bindir()
        self.account = run_as()
        self.data_dir: Path | None = None
        self.component: Component | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the Airflow database (psycopg2; Airflow derives the asyncpg one)."""
        return f"postgresql+psycopg2://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def _user_kwargs(self) -> dict[str, object]:
        if self.account is None:
            return {}
        return {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}

    def start(self, timeout: float = 60.0) -> None:
        """Create the cluster, start the server and wait until the ``airflow`` database accepts logins."""
        self.data_dir = Path(tempfile.mkdtemp(prefix="elasticjobs-stack-pg-"))
        if self.account is not None:
            os.chown(self.data_dir, self.account.pw_uid, self.account.pw_gid)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            initdb = [str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", USER]
            initdb += ["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]
            done = subprocess.run(
                initdb,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                check=False,
                **self._user_kwargs(),  # type: ignore[arg-type]
            )
        if done.returncode != 0:
            raise ComponentError(f"initdb failed (status {done.returncode}); see {self.log_path}")
        settings = {
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(self.data_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        argv = [str(self.bindir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        self.component = Component(
            "postgres",
            argv,
            self.log_path,
            cwd=self.data_dir,
            stop_signal=signal.SIGINT,
            to_group=False,
            popen_kwargs=self._user_kwargs(),
        )
        self.component.start()
        self.component.wait_until(lambda: self._connect("postgres"), timeout, "accepting connections")
        self._create_database()

    def _connect(self, database: str) -> bool:
        import psycopg2

        try:
            psycopg2.connect(host="127.0.0.1", port=self.port, user=USER, dbname=database).close()
        except psycopg2.OperationalError:
            return False
        return True

    def _create_database(self) -> None:
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user=USER, dbname="postgres")
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {DATABASE}")
        finally:
            connection.close()

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then delete the data directory."""
        if self.component is not None:
            self.component.stop(timeout=30)
            self.component = None
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
