"""Chroma (embedded persistent, or a server when ASSISTANT_CHROMA_URL is set) and the record of what is indexed
(SQLite, or PostgreSQL when ASSISTANT_DATABASE_URL is set)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Container, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from assistant.database import ERRORS, Connection, Database, Migration
from assistant.errors import ConfigError, IndexError_, StoreError
from assistant.schema import Chunk
from assistant.search.embeddings import MINILM_DIM
from assistant.search.chroma_state import fresh_client, hnsw_damage
from assistant.search.ranking import top_indices
from assistant.settings import Settings

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, filename TEXT NOT NULL, sha256 TEXT NOT NULL, meta_json TEXT NOT NULL,
    chunk_ids TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, meta_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS piece_tokens (key TEXT PRIMARY KEY, vectors {blob} NOT NULL);
"""
MIGRATIONS = (Migration(sqlite=_TABLES.format(blob="BLOB"), postgres=_TABLES.format(blob="BYTEA")),)
_READ_PAGE = 1000  # vectors per Chroma read for exact search (1,000 by id: 28 ms at 100x, 4 s for all 142,878)


def piece_key(text: str) -> str:
    """The key a piece of text (a heading or a sentence) is stored under: equal texts share their vectors."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def make_client(settings: Settings):
    """A Chroma client: HttpClient for a server URL, else a PersistentClient under the data directory."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise ConfigError(f"ASSISTANT_CHROMA_URL {settings.chroma_url!r} is not a URL like http://127.0.0.1:8000")
            return chromadb.HttpClient(
                host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https", settings=chroma_settings,
            )
        path = store_folder(settings)
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except ConfigError:
        raise
    except Exception as exc:  # chromadb raises bare Exceptions and ValueErrors for an unreachable server
        if settings.chroma_url:
            raise StoreError(f"Cannot open the Chroma store at {settings.chroma_url} ({exc}); "
                             "start the server or check the URL.") from exc
        raise StoreError(f"Cannot open the Chroma store at {settings.data_dir / 'chroma'} ({exc}); check that it is "
                         "writable, and if its files are corrupt delete that folder and run "
                         "`assistant ingest --rebuild`.") from exc


def store_folder(settings: Settings) -> Path:
    """The folder of the embedded Chroma store."""
    return settings.data_dir / "chroma"


class VectorStore:
    """A thin adapter over one Chroma collection: add, delete, list ids, exact search by vector, and a damage check.

    An embedded store (`folder` given) is reopened when the record's generation changes, so a serving process reads
    the vectors of an ingest run by another process.
    """

    def __init__(self, client, name: str, embedding_model: str, *, folder: Path | None = None) -> None:
        self._client, self._name, self.embedding_model = client, name, embedding_model
        self.folder = folder
        self._generation: str | None = None  # the record generation this client has followed
        self._col = self._open()
        # (state read, vector ids sorted, unit rows in that order): what `query` searches, read once per state.
        self._exact: tuple[tuple, list[str], np.ndarray] | None = None
        self._exact_lock = threading.Lock()

    def _open(self):
        try:
            return self._client.get_or_create_collection(
                self._name, metadata={"embedding_model": self.embedding_model},
                configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
            )
        except Exception as exc:
            raise StoreError(f"Chroma collection {self._name!r} cannot be opened ({exc}); check the store or re-index.") from exc

    def check_model(self) -> None:
        """Raise IndexError_ when the collection was built with another embedding model."""
        built = (self._col.metadata or {}).get("embedding_model")
        if built and built != self.embedding_model:
            raise IndexError_(
                f"The index was built with embedding model {built!r} but {self.embedding_model!r} is configured; "
                "run `assistant ingest --rebuild` to re-index."
            )

    def follow(self, generation: str | None) -> None:
        """Reopen an embedded store when the record's generation moves on (another process may have written it)."""
        if generation is None or generation == self._generation:
            return
        with self._exact_lock:  # two questions at once reopen it once
            if generation == self._generation:
                return
            if self._generation is not None and self.folder is not None:
                self._client = self._call("reopen", fresh_client, self._client)
                self._col = self._open()
                self._exact = None
            self._generation = generation

    def damage(self, sample: Sequence[str], *, chunks: int, dimension: int | None) -> str:
        """What is wrong with the store for a record of `chunks` active chunks ('' when nothing): the folder gone, fewer
        vectors than chunks, or a sample of chunks (`sample`, ids) whose first window is unreadable or misshapen."""
        if self.folder is not None:
            if not (self.folder / "chroma.sqlite3").exists():
                return f"its folder {self.folder} is missing"
            if problem := hnsw_damage(self.folder):
                return problem
        count = self.count()
        if count < chunks:  # every chunk has at least one window vector
            return f"it holds {count} vectors for {chunks} passages" + (" (it is empty)" if not count else "")
        ids = [f"{c}#0" for c in sample]
        if not ids:
            return ""
        got = self._call("get", self._col.get, ids=ids, include=["embeddings"])
        vectors = dict(zip(got["ids"], got["embeddings"]))
        missing = [i for i in ids if i not in vectors]
        if missing:
            return f"{len(missing)} of {len(ids)} passages checked have no vector"
        if len({len(v) for v in vectors.values()}) > 1:
            return "its vectors differ in size"
        for vector in vectors.values():
            row = np.asarray(vector, dtype=np.float32)
            if dimension and row.shape != (dimension,):
                return f"a vector has {row.size} dimensions where the model gives {dimension}"
            if not np.isfinite(row).all() or not np.any(row):
                return "a vector is not a number or all zeros"
        return ""

    def reset(self) -> None:
        """Drop the collection and start an empty one for the configured model (for a rebuild)."""
        self._call("delete collection", self._client.delete_collection, self._name)
        self._col = self._open()
        self._exact = None

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise StoreError(f"Chroma {what} failed ({exc}); check that the store is running and writable; if its "
                             "files are corrupt, delete the store (the chroma folder of an embedded one) and run "
                             "`assistant ingest --rebuild`.") from exc

    def ids(self, doc_ids: Sequence[str] | None = None) -> set[str]:
        """Every vector id in the collection (`<chunk id>#<window>`), or only those of the documents named."""
        if doc_ids is None:
            return set(self._call("get", self._col.get, include=[])["ids"])
        found: set[str] = set()
        for i in range(0, len(doc_ids), 100):  # a filtered read: one changed report need not list every vector
            where = {"doc_id": {"$in": list(doc_ids[i : i + 100])}}
            found.update(self._call("get", self._col.get, where=where, include=[])["ids"])
        return found

    def add(self, windows: Sequence[tuple[Chunk, int, str]], vectors: Sequence[Sequence[float]]) -> None:
        """Add sentence windows (chunk, window number, text) with their vectors."""
        if windows:
            self._exact = None
            self._call("add", self._col.upsert, ids=[f"{c.chunk_id}#{j}" for c, j, _ in windows],
                       embeddings=[list(v) for v in vectors], documents=[t for _, _, t in windows],
                       metadatas=[{"doc_id": c.doc_id, "chunk_id": c.chunk_id} for c, _, _ in windows])

    def delete(self, ids: Iterable[str]) -> None:
        """Remove vectors by id (`<chunk id>#<window>`)."""
        ids = list(ids)
        self._exact = None
        for i in range(0, len(ids), 5000):
            self._call("delete", self._col.delete, ids=ids[i : i + 5000])

    def query(self, vector: Sequence[float], n: int, *, generation: str | None = None,
              active: Container[str] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the `n` nearest windows of `active` chunks (default all), best first.

        Exact search over the stored vectors, not Chroma's HNSW: its graph is approximate, built by several threads
        and, for vectors past its last persisted batch, rebuilt in every process that opens the store; two processes
        over one data directory returned different windows past rank ~15 for half the dataset questions and
        different top-5 passages for 2-3 of 234 (issue #21). The vectors are read once per `generation` (the
        record's; without one, once per count); a chunk may repeat; ties (ranking.py) go to the smaller vector id.
        """
        self._call("heartbeat", self._client.heartbeat)  # a stopped server fails here, as a query to it would
        state = (generation,) if generation is not None else (None, self.count())
        ids, rows = self._vectors(state, active)
        if not ids or n <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32)
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        # einsum without optimize stays out of BLAS (see rerank.py): 1,426 windows take 0.1 ms, 142,878 about 15 ms.
        sims = np.einsum("nd,d->n", rows, query, optimize=False)
        return [(ids[i].split("#", 1)[0], float(sims[i])) for i in top_indices(sims, n)]  # rows in id order

    def _vectors(self, state: tuple, active: Container[str] | None) -> tuple[list[str], np.ndarray]:
        """The ids (sorted) and unit vectors of the active chunks' windows, read from Chroma when `state` changes."""
        self.follow(state[0])
        exact = self._exact
        if exact is not None and exact[0] == state:
            return exact[1], exact[2]
        with self._exact_lock:
            if self._exact is not None and self._exact[0] == state:
                return self._exact[1], self._exact[2]
            self._exact = None  # the old rows go before the new ones are read (memory at 100x)
            ids, rows = self._read_vectors(active)
            self._exact = (state, ids, rows)
            return ids, rows

    def vectors(self, generation: str, active: Container[str] | None) -> tuple[list[str], np.ndarray]:
        """What exact search uses for the record's `generation`: the ids (sorted) and unit vectors of the `active`
        chunks' windows (read from Chroma unless already read or given by `use_vectors`)."""
        return self._vectors((generation,), active)

    def use_vectors(self, generation: str, ids: list[str], rows: np.ndarray) -> None:
        """Search `generation` over these ids (sorted) and unit rows, saved from Chroma earlier, without reading it."""
        self.follow(generation)
        with self._exact_lock:
            self._exact = ((generation,), ids, rows)

    def _read_vectors(self, active: Container[str] | None) -> tuple[list[str], np.ndarray]:
        """Every readable window vector of the `active` chunks, ids sorted, rows scaled to unit length."""
        return self.read(sorted(i for i in self.ids() if active is None or i.split("#", 1)[0] in active))

    def read(self, wanted: list[str]) -> tuple[list[str], np.ndarray]:
        """The readable ones of the `wanted` window vectors (in that order), rows scaled to unit length."""
        ids: list[str] = []
        rows = np.zeros((len(wanted), 0), dtype=np.float32)
        for start in range(0, len(wanted), _READ_PAGE):
            found = self._readable(wanted[start : start + _READ_PAGE])
            if found and not rows.shape[1]:
                rows = np.zeros((len(wanted), len(next(iter(found.values())))), dtype=np.float32)
            page = [i for i in wanted[start : start + _READ_PAGE] if i in found]
            block = rows[len(ids) : len(ids) + len(page)]
            block[:] = [found[i] for i in page]
            block /= np.clip(np.sqrt(np.einsum("nd,nd->n", block, block))[:, None], 1e-12, None)  # no second matrix
            ids += page
        return ids, rows[: len(ids)]

    def _readable(self, ids: list[str]) -> dict:
        """The vectors of those `ids` this process can read, by id.

        Chroma fails a whole read for one id it cannot find: one deleted since the listing, or one that another
        process's ingest wrote to an embedded store after this process loaded it (only a new process reads those;
        measured). They are left out, as Chroma's own search leaves them out; a store that is down still fails.
        """
        try:
            got = self._call("get", self._col.get, ids=ids, include=["embeddings"])
            return dict(zip(got["ids"], got["embeddings"]))
        except StoreError:
            self._call("heartbeat", self._client.heartbeat)
            if len(ids) == 1:
                return {}
            return {k: v for i in ids for k, v in self._readable([i]).items()}

    def count(self) -> int:
        """Number of vectors stored."""
        return int(self._call("count", self._col.count))


class Records:
    """The record of indexed documents and active chunks (SQLite, or PostgreSQL given a URL); one transaction makes
    an ingest visible."""

    def __init__(self, location: Path | str) -> None:
        self.db = Database(location, store="records", migrations=MIGRATIONS, timeout=30)
        self.path = self.db.path
        try:
            with self.db.transaction():
                pass  # opened once here, so the tables exist (and a corrupt file is reported) before any use
        except sqlite3.DatabaseError as exc:
            raise IndexError_(f"The index record {self.db.where} is corrupt ({exc}); delete it and run "
                              "`assistant ingest` (the stored vectors are reused).") from exc
        except ERRORS as exc:
            raise StoreError(f"The index record at {self.db.where} cannot be opened ({exc}). "
                             + self.db.advice("Check that the data directory exists and is writable.")) from exc

    def _connect(self) -> AbstractContextManager[Connection]:
        return self.db.transaction()

    def get_meta(self, key: str) -> str | None:
        """A value from the meta table."""
        with self._connect() as con:
            row = con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def documents(self) -> dict[str, dict]:
        """Indexed documents by id: filename, sha256, metadata and chunk ids."""
        with self._connect() as con:
            rows = con.execute("SELECT doc_id, filename, sha256, meta_json, chunk_ids FROM documents").fetchall()
        return {r[0]: {"filename": r[1], "sha256": r[2], "meta": json.loads(r[3]), "chunk_ids": json.loads(r[4])} for r in rows}

    def chunks(self) -> list[Chunk]:
        """Every active chunk, in document and reading order."""
        with self._connect() as con:
            rows = con.execute("SELECT chunk_id, meta_json FROM chunks").fetchall()
        chunks = [Chunk.from_metadata(cid, json.loads(m)) for cid, m in rows]
        return sorted(chunks, key=lambda c: (c.doc_id, c.position, c.chunk_id))

    def active_ids(self) -> set[str]:
        """Ids of every active chunk (without loading the chunks)."""
        with self._connect() as con:
            return {row[0] for row in con.execute("SELECT chunk_id FROM chunks")}

    def sample_ids(self, n: int) -> list[str]:
        """Up to `n` active chunk ids spread evenly over all of them in id order (the same sample in every process)."""
        ids = sorted(self.active_ids())
        step = max(1, len(ids) // max(n, 1))
        return ids[::step][:n]

    def count(self) -> int:
        """Number of active chunks."""
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def commit(self, upserts: Sequence[tuple[dict, Sequence[Chunk]]], removed: Iterable[str], meta: dict[str, str]) -> None:
        """Replace the changed documents' rows and drop removed ones, atomically."""
        with self._connect() as con:
            for doc_id in removed:
                con.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
                con.execute("DELETE FROM chunks WHERE doc_id=?", (doc_id,))
            for doc, chunks in upserts:
                con.execute("DELETE FROM chunks WHERE doc_id=?", (doc["doc_id"],))
                con.execute(
                    "INSERT INTO documents VALUES (?,?,?,?,?) ON CONFLICT (doc_id) DO UPDATE SET filename = "
                    "excluded.filename, sha256 = excluded.sha256, meta_json = excluded.meta_json, "
                    "chunk_ids = excluded.chunk_ids",
                    (doc["doc_id"], doc["filename"], doc["sha256"], json.dumps(doc["meta"]), json.dumps([c.chunk_id for c in chunks])),
                )
                con.executemany(
                    "INSERT INTO chunks VALUES (?,?,?) ON CONFLICT (chunk_id) DO UPDATE SET doc_id = excluded.doc_id, "
                    "meta_json = excluded.meta_json",
                    [(c.chunk_id, c.doc_id, json.dumps(c.metadata())) for c in chunks],
                )
            for key, value in meta.items():
                con.execute("INSERT INTO meta VALUES (?,?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            (key, value))

    def add_piece_tokens(self, tokens: dict[str, np.ndarray]) -> None:
        """Store int8 word-piece vectors by piece text; content-addressed, so a repeat or an orphan is harmless."""
        with self._connect() as con:
            con.executemany("INSERT INTO piece_tokens VALUES (?,?) ON CONFLICT (key) DO NOTHING",
                            [(piece_key(text), np.ascontiguousarray(v, dtype=np.int8).tobytes()) for text, v in tokens.items()])

    def piece_tokens(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored word-piece vectors of those `texts` that have them, by text."""
        by_key = {piece_key(t): t for t in texts}
        keys = list(by_key)
        found: dict[str, np.ndarray] = {}
        with self._connect() as con:
            for start in range(0, len(keys), 500):  # SQLite caps the number of parameters (PostgreSQL at 65,535)
                part = keys[start : start + 500]
                rows = con.execute(f"SELECT key, vectors FROM piece_tokens WHERE key IN ({','.join('?' * len(part))})", part)
                for key, blob in rows:
                    found[by_key[key]] = np.frombuffer(blob, dtype=np.int8).reshape(-1, MINILM_DIM)
        return found

    def prune_piece_tokens(self, keep: Iterable[str]) -> None:
        """Drop the word-piece vectors of pieces no longer in any active chunk (given the texts to keep)."""
        wanted = {piece_key(t) for t in keep}
        with self._connect() as con:
            stale = [(k,) for (k,) in con.execute("SELECT key FROM piece_tokens") if k not in wanted]
            con.executemany("DELETE FROM piece_tokens WHERE key=?", stale)

    def clear(self) -> None:
        """Forget everything (for a rebuild)."""
        with self._connect() as con:
            for table in ("documents", "chunks", "meta", "piece_tokens"):
                con.execute(f"DELETE FROM {table}")
