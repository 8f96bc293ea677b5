"""Incremental, atomic ingest: only new or changed documents are embedded, and one commit makes them visible."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.ingest.chunking import Chunker, window_parts
from assistant.ingest.cleaning import clean_text
from assistant.search.embeddings import embed_windows, has_token_vectors, vector_layout
from assistant.errors import IndexError_, KnowledgeError
from assistant.ingest.loading import Limits, LoadedDocument, Skipped, load_directory
from assistant.ingest.entries import drop_local_entry
from assistant.ingest.frontmatter import front_matter, year_of
from assistant.ingest.pages import split_pages, strip_running_lines
from assistant.ingest.sections import is_terminal
from assistant.schema import Block, Chunk, DocumentMeta
from assistant.search.generations import Saved, chunk_key, load_vectors, save_vectors
from assistant.search.sparse import build as build_sparse
from assistant.search.sparse import save_sparse
from assistant.search.store import Records, VectorStore

# Bump when cleaning or chunking changes so every document is re-chunked (embeddings of unchanged chunks are reused).
PIPELINE_VERSION = "5"

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class IngestReport:
    """What an ingest did: documents added, updated, removed, unchanged and skipped, and chunks embedded."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    repaired: str = ""  # what was wrong with the vector store when this ingest found it damaged and re-embedded

    def summary(self) -> str:
        """One line for people."""
        repaired = f"The vector store was damaged ({self.repaired}); its vectors were embedded again. " if self.repaired else ""
        return repaired + (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped; "
            f"{self.chunks_embedded} chunks embedded, {self.chunks_total} indexed, in {self.seconds:.1f} s"
        )


def document_blocks(doc: LoadedDocument) -> tuple[DocumentMeta, list[Block]]:
    """Clean one document, and its metadata completed from its front matter.

    A paged one (a PDF, or text with form feeds or "Page N of M" footers) is cleaned as a whole: running headers
    and footers found across all its pages, paragraphs and sections carried over page breaks, printed page numbers."""
    pages = split_pages(doc.pages[0]) if len(doc.pages) == 1 and not doc.paged else list(doc.pages)
    paged = doc.paged or len(pages) > 1
    numbers = None
    if paged:
        pages, numbers = strip_running_lines(pages)
    pages, facts = front_matter(pages, paged=paged)
    meta = with_facts(doc.meta, facts, doc.given)
    blocks = clean_text("\f".join(pages), numbers) if paged else clean_text(pages[0])
    first = blocks[0] if blocks else None
    if first and not first.section and first.text in (meta.title, doc.meta.title) and not is_terminal(first.text):
        blocks = blocks[1:]  # the title line above the text says nothing a passage should quote
    return meta, blocks


def with_facts(meta: DocumentMeta, facts: dict[str, str], given: frozenset[str]) -> DocumentMeta:
    """`meta` with the title, publisher and year the front matter gives, where no entry or property gave them."""
    title = facts.get("Document name") or facts.get("Title")
    year = year_of(facts)
    kept = tuple((k, v) for k, v in facts.items() if k not in ("Title", "Date", "Publisher", "Document name"))
    return replace(meta, title=meta.title if "title" in given or not title else title,
                   publisher=meta.publisher if "publisher" in given or "Publisher" not in facts else facts["Publisher"],
                   year=meta.year if "year" in given or year is None else year, facts=kept)


def document_record(meta: DocumentMeta, sha256: str) -> dict:
    """The record of an indexed document: file, content hash and its metadata (front-matter facts included)."""
    return {"doc_id": meta.doc_id, "filename": meta.filename, "sha256": sha256,
            "meta": {"title": meta.title, "publisher": meta.publisher, "year": meta.year, "kind": meta.kind,
                     **({"added": meta.added} if meta.added else {}), **({"facts": dict(meta.facts)} if meta.facts else {})}}


def document_chunks(doc: LoadedDocument, chunker: Chunker) -> list[Chunk]:
    """Clean and chunk one loaded document."""
    meta, blocks = document_blocks(doc)
    return chunker.chunk(meta, blocks)


class Indexer:
    """Brings the store and the record in line with the knowledge directory."""

    def __init__(self, *, store: VectorStore, records: Records, embeddings: Embeddings, embedding_name: str,
                 chunker: Chunker, fingerprint: str, saved: Saved | None = None) -> None:
        self._store, self._records, self._emb = store, records, embeddings
        self._saved = saved  # where each committed generation's sparse index and vector matrix go (None: nowhere)
        self._model = embedding_name
        self._chunker = chunker
        self._fingerprint = f"{PIPELINE_VERSION}:{fingerprint}"

    def check_model(self) -> None:
        """Raise IndexError_ when the store or the record was built by another embedding model."""
        self._store.check_model()
        built = self._records.get_meta("embedding_model")
        if built and built != self._model:
            raise IndexError_(
                f"The index was built with {built!r} but {self._model!r} is configured; run `assistant ingest --rebuild`."
            )

    def ingest(self, directory, progress: Progress | None = None, *, embed_batch: int, limits: Limits | None = None,
               extra: Sequence[LoadedDocument] = ()) -> IngestReport:
        """Index `directory` plus `extra` documents already read (uploads still in staging), `embed_batch` windows
        embedded a step; until the final commit, the old index answers."""
        started = time.perf_counter()
        self.check_model()
        report = IngestReport()
        docs, report.skipped = load_directory(directory, limits, extra)
        known = self._records.documents()
        self._store.follow(self._records.get_meta("generation"))
        # A lost or emptied store under a full record: every document is chunked again and its missing vectors embedded
        # (it used to report "0 chunks embedded, 564 indexed" and leave every question "not covered").
        report.repaired = self._store.damage(self._records.sample_ids(24), chunks=self._records.count(),
                                             dimension=None) if known else ""
        same_pipeline = self._records.get_meta("fingerprint") == self._fingerprint and not report.repaired
        # Window vectors made another way than the index's (see embeddings.vector_layout) mean re-embedding all.
        layout = vector_layout(self._emb)
        same_layout = not known or self._records.get_meta("vectors") == layout
        changes = self._changes(docs, known, same_pipeline and same_layout, report, progress)
        current = {d.meta.doc_id for d in docs}
        removed = [doc_id for doc_id in known if doc_id not in current]
        report.removed = [known[d]["filename"] for d in removed]
        embedded = self._embed(changes, same_layout, progress, embed_batch)
        report.chunks_embedded = len(embedded)
        if changes or removed or not same_pipeline or not same_layout:
            # Saved vectors of the previous generation are reused unless the store was found damaged or re-embedded.
            self._commit(changes, removed, layout, embedded if same_layout and not report.repaired else None)
        report.chunks_total = self._records.count()
        report.seconds = time.perf_counter() - started
        return report

    def _changes(self, docs: list[LoadedDocument], known: dict[str, dict], reusable: bool, report: IngestReport,
                 progress: Progress | None) -> list[tuple[dict, list[Chunk]]]:
        """Record and chunks of each new or changed document; `report` learns which were added, updated, unchanged."""
        changes: list[tuple[dict, list[Chunk]]] = []
        for i, doc in enumerate(docs):
            old = known.get(doc.meta.doc_id)
            if old and reusable and old["sha256"] == doc.sha256 and old["filename"] == doc.meta.filename:
                report.unchanged.append(doc.meta.filename)
                continue
            if doc.meta.added and old and old["meta"].get("added"):  # a local document keeps the date it was first added
                doc = replace(doc, meta=replace(doc.meta, added=old["meta"]["added"]))
            try:
                meta, blocks = document_blocks(doc)
                chunks = self._chunker.chunk(meta, blocks)
            except Exception as exc:  # noqa: BLE001 - one document's failure is reported, the rest indexed
                report.skipped.append(Skipped(doc.meta.filename, f"{doc.meta.filename}: could not be split into "
                                                                 f"passages ({type(exc).__name__}: {exc})"))
                continue
            (report.updated if old else report.added).append(doc.meta.filename)
            changes.append((document_record(meta, doc.sha256), chunks))
            if progress:
                progress("chunk", i + 1, len(docs))
        return changes

    def _embed(self, changes: list[tuple[dict, list[Chunk]]], same_layout: bool, progress: Progress | None,
               embed_batch: int) -> set[str]:
        """Embed and store the windows of the changed chunks not already stored; returns those chunks' ids."""
        # Content-derived ids mean a chunk already in the store never needs embedding again, unless
        # window vectors are now made another way (then every window is embedded afresh).
        touched = [record["doc_id"] for record, _ in changes]
        if not changes or not same_layout:
            stored: set[str] = set()
        else:
            stored = self._store.ids(touched) if len(touched) <= 100 else self._store.ids()
        parts = {c.chunk_id: window_parts(c) for _, chunks in changes for c in chunks}
        # A chunk is done only when every one of its windows is stored: an ingest killed mid-batch
        # can leave some of a chunk's windows behind.
        todo = [c for _, chunks in changes for c in chunks
                if any(f"{c.chunk_id}#{j}" not in stored for j in range(len(parts[c.chunk_id])))]
        # Vectors are per sentence window: a question usually paraphrases one or two sentences, and
        # the best window of a chunk matched the golden questions far better than the whole chunk.
        # Windows go in document order so that neighbours, which share sentences, share a batch.
        windows = [(c, j, pieces) for c in todo for j, pieces in enumerate(parts[c.chunk_id])]
        self._store_windows(windows, progress, embed_batch)
        return {c.chunk_id for c in todo}

    def _store_windows(self, windows: list[tuple[Chunk, int, tuple[str, ...]]], progress: Progress | None,
                       embed_batch: int) -> None:
        """Embed the windows `embed_batch` at a time and store each batch's vectors (and word-piece vectors)."""
        tokens = has_token_vectors(self._emb)
        for start in range(0, len(windows), embed_batch):
            batch = windows[start : start + embed_batch]
            piece_tokens: dict | None = {} if tokens else None
            vectors = embed_windows(self._emb, [pieces for _, _, pieces in batch], piece_tokens)
            if piece_tokens:
                # Before the window vectors: a chunk the store can return always has its word-piece vectors.
                self._records.add_piece_tokens(piece_tokens)
            self._store.add([(c, j, " ".join(pieces)) for c, j, pieces in batch], vectors)
            if progress:
                progress("embed", min(start + embed_batch, len(windows)), len(windows))

    def remove(self, directory: Path, filename: str) -> IngestReport:
        """Take one document out: its file is hidden from ingest, one commit drops its passages, then the file goes.

        Until the commit the previous index answers; if the commit fails the file is put back as it was."""
        started = time.perf_counter()
        self.check_model()
        known = self._records.documents()
        doc_id = next((d for d, r in sorted(known.items()) if r["filename"] == filename), None)
        if doc_id is None:
            names = ", ".join(sorted(r["filename"] for r in known.values())) or "none"
            raise KnowledgeError(f"{filename} is not an indexed document (indexed: {names}); give its file name")
        path, hidden = directory / filename, directory / f".removing-{filename}"
        if path.exists():
            os.replace(path, hidden)  # hidden files are never ingested: a crash after this leaves it out
        try:
            previous, generation = self._records.get_meta("generation"), str(time.time_ns())
            self._save_generation(generation, previous, [], [doc_id], set())
            self._records.commit([], [doc_id], {"generation": generation})
        except BaseException:
            if hidden.exists():
                os.replace(hidden, path)
            raise
        hidden.unlink(missing_ok=True)
        drop_local_entry(directory, filename)
        self._prune(generation, previous)
        return IngestReport(removed=[filename], chunks_total=self._records.count(),
                            seconds=time.perf_counter() - started)

    def _commit(self, changes: list[tuple[dict, list[Chunk]]], removed: list[str], layout: str,
                embedded: set[str] | None) -> None:
        """Save what the new generation's first question needs, make the changes visible in one commit, then drop
        the vectors, word pieces and saved files nothing active uses."""
        previous, generation = self._records.get_meta("generation"), str(time.time_ns())
        self._save_generation(generation, previous, changes, removed, embedded)
        self._records.commit(changes, removed, {"embedding_model": self._model, "fingerprint": self._fingerprint,
                                                "vectors": layout, "generation": generation})
        self._prune(generation, previous)

    def _save_generation(self, generation: str, previous: str | None, changes: list[tuple[dict, list[Chunk]]],
                         removed: list[str], embedded: set[str] | None) -> None:
        """Build the sparse index and the exact-search matrix of the record as the commit will leave it, and save
        them as `generation`'s before the commit, so that a process answering from it loads them (at 100x on 2 busy
        cores, 23-25 s to build the sparse index, 0.65 s to load it). Rows of the previous generation's matrix are
        reused except for the `embedded` chunks' (None: none reused)."""
        if self._saved is None:
            return
        gone = set(removed) | {record["doc_id"] for record, _ in changes}
        documents = {d: r for d, r in self._records.documents().items() if d not in gone}
        # As the record will hold them: through JSON (as Records stores them), a repeated id replacing the earlier.
        documents.update({record["doc_id"]: json.loads(json.dumps(record)) for record, _ in changes})
        before = self._records.chunks()
        chunks = {c.chunk_id: c for c in before if c.doc_id not in gone}
        chunks.update({c.chunk_id: Chunk.from_metadata(c.chunk_id, json.loads(json.dumps(c.metadata())))
                       for _, new in changes for c in new})
        # Records.chunks()'s order (document, then reading order); a serving process rebuilds if this ever differs.
        ordered = sorted(chunks.values(), key=lambda c: (c.doc_id, c.position, c.chunk_id))
        index = build_sparse(ordered, documents)
        save_sparse(self._saved.sparse, generation, index)
        old = None
        if embedded is not None and previous is not None:
            old = load_vectors(self._saved.vectors, previous, key=chunk_key([c.chunk_id for c in before]))
        ids, rows = self._matrix(sorted(i for i in self._store.ids() if i.split("#", 1)[0] in chunks), old,
                                 embedded or set())
        save_vectors(self._saved.vectors, generation, key=index.key, ids=ids, rows=rows)

    def _matrix(self, wanted: list[str], old: tuple[list[str], np.ndarray] | None,
                embedded: set[str]) -> tuple[list[str], np.ndarray]:
        """The exact-search matrix of the `wanted` window ids: rows of `old` (ids, rows) where a window was not
        embedded again, the rest read from the store (as VectorStore.read gives them: readable ones, unit rows)."""
        at = {i: n for n, i in enumerate(old[0])} if old is not None else {}
        fresh = [i for i in wanted if i not in at or i.split("#", 1)[0] in embedded]
        read_ids, read_rows = self._store.read(fresh)
        got = dict(zip(read_ids, read_rows))
        ids = [i for i in wanted if i in got or (i in at and i.split("#", 1)[0] not in embedded)]
        if old is None or not at:
            return ids, read_rows
        rows = np.zeros((len(ids), old[1].shape[1]), dtype=np.float32)
        take = np.array([-1 if i in got else at[i] for i in ids], dtype=np.int64)
        reused = take >= 0
        rows[reused] = old[1][take[reused]]
        if not reused.all():
            rows[~reused] = [got[i] for i in ids if i in got]
        return ids, rows

    def _prune(self, generation: str, previous: str | None) -> None:
        """Drop the vectors and word pieces no active chunk uses, and the sparse indexes of generations before
        `previous` (a serving process may still be switching from it), after the commit of `generation`."""
        if self._saved is not None:
            self._saved.prune({generation, previous})
        # Only after the commit do stale vectors go; a crash before this leaves harmless orphans.
        active = self._records.active_ids()
        # Vectors of removed chunks, and any of an older layout (whole-chunk ids without '#'), go.
        self._store.delete(sorted(i for i in self._store.ids() if "#" not in i or i.split("#", 1)[0] not in active))
        if has_token_vectors(self._emb):
            self._records.prune_piece_tokens(p for c in self._records.chunks() for w in window_parts(c) for p in w)
