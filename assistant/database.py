"""The stores' databases: a SQLite file (the embedded default) or PostgreSQL (ASSISTANT_DATABASE_URL), one set of queries.

Every store writes its queries once, in the SQL both backends share: `?` placeholders (turned into psycopg's `%s`
here), `INSERT ... ON CONFLICT` instead of `INSERT OR REPLACE`, `RETURNING id` instead of `lastrowid`, and quoted
names where PostgreSQL reserves a word ("user"). Only the schema differs (BLOB or BYTEA, AUTOINCREMENT or IDENTITY,
REAL or DOUBLE PRECISION): each store keeps numbered migrations written for each backend, applied at open and
recorded in a `schema_version` table (one row per store, so the four stores can share one PostgreSQL database).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from assistant.errors import ConfigError, StoreError

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# Open PostgreSQL connections kept per store for the next call. A question makes 8 transactions on the records and a
# new connection took 14.6 ms on 127.0.0.1 (trust login): the median offline answer over two reports took 23.5 ms
# with connections kept, 85.5 ms without (30 questions each).
_IDLE_KEPT = 4
# pg_advisory_xact_lock key: replicas starting together migrate one after another. Without it, 8 threads opening a
# fresh database failed 3 runs of 3 (CREATE TABLE IF NOT EXISTS raced: duplicate key in pg_type_typname_nsp_index).
_MIGRATION_LOCK = 7_205_020


@dataclass(frozen=True)
class Migration:
    """One numbered step of a store's schema, written for each backend (statements separated by `;`)."""

    sqlite: str
    postgres: str


def is_url(location: Path | str) -> bool:
    """Whether a store's location is a PostgreSQL URL rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def shown(url: str) -> str:
    """A database URL fit for messages and logs: the password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc[-1]}"))


def _driver_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(Every exception a database call may raise, those of a lost PostgreSQL connection): sqlite3's, the file
    system's, and psycopg's when it is installed."""
    try:
        import psycopg
    except ImportError:
        return (sqlite3.Error, OSError), ()
    return (sqlite3.Error, OSError, psycopg.Error), (psycopg.OperationalError,)


ERRORS, _SERVER_LOST = _driver_errors()


def _lost(raw: Any, exc: BaseException) -> bool:
    """Whether a PostgreSQL error means the connection is gone: the server stopped, restarted or is out of reach
    (no SQLSTATE, class 08, or an administrator or crash shutdown), not a failed statement."""
    state = getattr(exc, "sqlstate", None)
    return bool(raw.broken or raw.closed or state is None or state.startswith("08")
                or state in ("57P01", "57P02", "57P03"))


class Connection:
    """One connection of either backend that takes the shared SQL (`?` placeholders)."""

    def __init__(self, raw: Any, *, postgres: bool, reopen: Callable[[], Any] | None = None) -> None:
        self.raw, self.postgres = raw, postgres
        # A kept PostgreSQL connection may have died with a server restart: `reopen` replaces it at its first
        # statement, when nothing of the transaction can be lost yet.
        self._reopen = reopen

    def _sql(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s") if self.postgres else sql

    def _first(self, run: Callable[[], Any]) -> Any:
        try:
            return run()
        except _SERVER_LOST as exc:
            reopen, self._reopen = self._reopen, None
            if reopen is None or not _lost(self.raw, exc):
                raise
            self.raw.close()
            self.raw = reopen()
            return run()
        finally:
            self._reopen = None

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """Run one statement; the driver's cursor (fetchone, fetchall, rowcount, iteration)."""
        return self._first(lambda: self.raw.execute(self._sql(sql), tuple(args)))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row of arguments."""
        if self.postgres:
            self._first(lambda: self.raw.cursor().executemany(self._sql(sql), rows))
        else:
            self.raw.executemany(sql, rows)


class Database:
    """Where one store lives (a SQLite file or a PostgreSQL URL), its migrations, and transactions on it."""

    def __init__(self, location: Path | str, *, store: str, migrations: Sequence[Migration], timeout: float) -> None:
        self.postgres = is_url(location)
        if isinstance(location, str) and "://" in location and not self.postgres:
            raise ConfigError(f"ASSISTANT_DATABASE_URL {shown(location)!r} is not a PostgreSQL URL like "
                              "postgresql://user:password@host:5432/advisor; correct it or unset it for SQLite files.")
        self.url = str(location) if self.postgres else None
        self.path = None if self.postgres else Path(location)
        self.where = shown(str(location)) if self.postgres else str(location)
        self.store, self.migrations, self.timeout = store, tuple(migrations), timeout
        self._lock = threading.Lock()
        self._idle: list[Any] = []
        self._migrated = False

    def exists(self) -> bool:
        """Whether there may be rows to read: the SQLite file is there, or it is a server."""
        return self.postgres or bool(self.path and self.path.exists())

    def advice(self, local: str) -> str:
        """What to do when a call fails: `local` for a SQLite file, else start the server or check the URL."""
        return "Start the server or check ASSISTANT_DATABASE_URL." if self.postgres else local

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in one transaction: committed when the block ends, rolled back if it raises."""
        con = self._take()
        try:
            yield con
            con.raw.commit()
        except _SERVER_LOST as exc:
            self._close(con)
            if _lost(con.raw, exc):  # the server stopped or went out of reach mid-transaction; nothing was committed
                raise self._unreachable(exc) from exc
            raise
        except BaseException:
            self._close(con)
            raise
        self._give_back(con)

    def _unreachable(self, exc: BaseException) -> StoreError:
        return StoreError(f"Cannot reach the PostgreSQL database at {self.where} ({str(exc).strip()}); "
                          "start the server or check ASSISTANT_DATABASE_URL.")

    def _take(self) -> Connection:
        with self._lock:
            while self._idle:
                raw = self._idle.pop()
                if not (raw.closed or raw.broken):
                    return Connection(raw, postgres=True, reopen=self._connect_server)
        con = self._open()
        try:
            if not self._migrated or (self.path is not None and not self.path.exists()):
                self._migrate(con)
        except BaseException:
            self._close(con)
            raise
        return con

    def _give_back(self, con: Connection) -> None:
        with self._lock:
            if con.postgres and len(self._idle) < _IDLE_KEPT:
                self._idle.append(con.raw)
                return
        self._close(con)

    @staticmethod
    def _close(con: Connection) -> None:
        try:
            con.raw.rollback()
        except ERRORS:
            pass  # a lost connection cannot roll back; the server has dropped its transaction already
        con.raw.close()

    def _open(self) -> Connection:
        if self.postgres:
            return Connection(self._connect_server(), postgres=True)
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        raw = sqlite3.connect(self.path, timeout=self.timeout)
        try:
            raw.execute("PRAGMA journal_mode=WAL")
        except BaseException:
            raw.close()
            raise
        return Connection(raw, postgres=False)

    def _connect_server(self) -> Any:
        try:
            import psycopg
        except ImportError as exc:
            raise ConfigError("ASSISTANT_DATABASE_URL is set but psycopg is not installed; run "
                              "`pip install -r requirements.lock` (or the `postgres` extra) or unset it.") from exc
        try:
            return psycopg.connect(self.url or "", connect_timeout=max(2, int(self.timeout)))
        except psycopg.Error as exc:
            raise self._unreachable(exc) from exc

    def _migrate(self, con: Connection) -> None:
        """Apply the store's migrations not yet recorded in schema_version, in one transaction with the record."""
        if con.postgres:
            con.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
        else:
            con.execute("BEGIN IMMEDIATE")  # one process migrates a file at a time
        con.execute("CREATE TABLE IF NOT EXISTS schema_version (store TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        row = con.execute("SELECT version FROM schema_version WHERE store = ?", (self.store,)).fetchone()
        done = row[0] if row else 0
        if done > len(self.migrations):
            raise StoreError(f"The {self.store} tables at {self.where} are at schema version {done}, newer than this "
                             f"program's {len(self.migrations)}; upgrade the program before it uses them.")
        for step in self.migrations[done:]:
            for statement in (step.postgres if con.postgres else step.sqlite).split(";"):
                if statement.strip():
                    con.execute(statement)
        con.execute("INSERT INTO schema_version (store, version) VALUES (?, ?) "
                    "ON CONFLICT (store) DO UPDATE SET version = excluded.version", (self.store, len(self.migrations)))
        con.raw.commit()
        self._migrated = True
