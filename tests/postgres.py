"""A real PostgreSQL server for tests (Debian's `postgresql` package): initdb in a temporary folder, a free port."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.servers import free_port

USER = "advisor"  # the database role the tests connect as (trust login on 127.0.0.1 only)


class Postgres(NamedTuple):
    """A running server: its port, and how to make a fresh database on it."""

    port: int
    bin_dir: Path
    data: Path
    run_as: list[str]

    def url(self, database: str) -> str:
        """The ASSISTANT_DATABASE_URL of one database on this server."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create(self, database: str) -> str:
        """Create an empty database; its URL."""
        subprocess.run([*self.run_as, str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                        "-U", USER, database], check=True, capture_output=True, cwd="/")
        return self.url(database)

    def start(self) -> None:
        """Start the server (again) on its port; RuntimeError with its log when it does not start."""
        # fsync off: a test server's data is thrown away, and it makes each commit a memory write.
        options = f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = self.data.parent / "server.log"
        started = subprocess.run([*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(log),
                                  "-w", "-t", "60", "-o", options, "start"], capture_output=True, cwd="/")
        if started.returncode:
            raise RuntimeError(f"PostgreSQL did not start: {log.read_text() if log.exists() else started.stderr!r}")

    def stop(self) -> None:
        """Stop the server before its block ends (to test a database that went away)."""
        subprocess.run([*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                       check=True, capture_output=True, cwd="/")


def bin_dir() -> Path | None:
    """The folder of Debian's initdb/pg_ctl (newest version), or one on PATH; None when PostgreSQL is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _run_as() -> list[str]:
    """The prefix that runs a command as a non-root user: PostgreSQL refuses to run as root."""
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"]
    raise RuntimeError("Running as root and no postgres or nobody user to run PostgreSQL as")


def missing_server(reason: str) -> None:
    """Skip the test on a developer's machine without PostgreSQL; fail it in CI (CI=true), where `make test` installs it."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason}; CI must run the PostgreSQL tests (`make db-deps` installs the server)")
    pytest.skip(f"{reason}; install it with `make db-deps` (Debian package postgresql) to run these tests")


@contextmanager
def postgres_server(port: int | None = None) -> Iterator[Postgres]:
    """Run a throwaway PostgreSQL server on 127.0.0.1 (its socket and data in a temporary folder) until the block ends."""
    binaries = bin_dir()
    if binaries is None:
        missing_server("PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on PATH)")
    assert binaries is not None
    run_as, port = _run_as(), port or free_port()
    # Not under pytest's tmp_path: its folders are private to root, and the server runs as another user.
    base = Path(tempfile.mkdtemp(prefix="advisor-pg-"))
    if run_as:
        shutil.chown(base, user=run_as[2])
    data = base / "data"
    try:
        subprocess.run([*run_as, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True, cwd="/")
        server = Postgres(port, binaries, data, run_as)
        server.start()
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*run_as, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, cwd="/")
        shutil.rmtree(base, ignore_errors=True)
