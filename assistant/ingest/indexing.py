"""Incremental, atomic ingest: only new or changed documents are embedded, and one commit makes them visible."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from langchain_core.embeddings import Embeddings

from assistant.ingest.chunking import Chunker, window_parts
from assistant.ingest.cleaning import clean_text
from assistant.search.embeddings import embed_windows, has_token_vectors, vector_layout
from assistant.errors import IndexError_
from assistant.ingest.loading import Limits, LoadedDocument, Skipped, load_directory
from assistant.schema import Block, Chunk
from assistant.search.store import Records, VectorStore

# Bump when cleaning or chunking changes so every document is re-chunked (embeddings of unchanged chunks are reused).
PIPELINE_VERSION = "4"

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


def document_chunks(doc: LoadedDocument, chunker: Chunker) -> list[Chunk]:
    """Clean and chunk one loaded document; PDF pages give each block its page number."""
    blocks: list[Block] = []
    for number, page_text in enumerate(doc.pages, start=1):
        for block in clean_text(page_text):
            if doc.paged and block.page is None:
                block = Block(text=block.text, section=block.section, page=number, case_study=block.case_study)
            blocks.append(block)
    return chunker.chunk(doc.meta, blocks)


class Indexer:
    """Brings the store and the record in line with the knowledge directory."""

    def __init__(self, *, store: VectorStore, records: Records, embeddings: Embeddings, embedding_name: str,
                 chunker: Chunker, fingerprint: str) -> None:
        self._store, self._records, self._emb = store, records, embeddings
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
        report.chunks_embedded = self._embed(changes, same_layout, progress, embed_batch)
        if changes or removed or not same_pipeline or not same_layout:
            self._commit(changes, removed, layout)
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
            try:
                chunks = document_chunks(doc, self._chunker)
            except Exception as exc:  # noqa: BLE001 - one document's failure is reported, the rest indexed
                report.skipped.append(Skipped(doc.meta.filename, f"{doc.meta.filename}: could not be split into "
                                                                 f"passages ({type(exc).__name__}: {exc})"))
                continue
            (report.updated if old else report.added).append(doc.meta.filename)
            record = {"doc_id": doc.meta.doc_id, "filename": doc.meta.filename, "sha256": doc.sha256,
                      "meta": {"title": doc.meta.title, "publisher": doc.meta.publisher, "year": doc.meta.year,
                               "kind": doc.meta.kind}}
            changes.append((record, chunks))
            if progress:
                progress("chunk", i + 1, len(docs))
        return changes

    def _embed(self, changes: list[tuple[dict, list[Chunk]]], same_layout: bool, progress: Progress | None,
               embed_batch: int) -> int:
        """Embed and store the windows of the changed chunks not already stored; returns how many chunks that was."""
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
        return len(todo)

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

    def _commit(self, changes: list[tuple[dict, list[Chunk]]], removed: list[str], layout: str) -> None:
        """Make the changes visible in one commit, then drop the vectors and word pieces no active chunk uses."""
        self._records.commit(changes, removed, {"embedding_model": self._model, "fingerprint": self._fingerprint,
                                                "vectors": layout, "generation": str(time.time_ns())})
        # Only after the commit do stale vectors go; a crash before this leaves harmless orphans.
        active = self._records.active_ids()
        # Vectors of removed chunks, and any of an older layout (whole-chunk ids without '#'), go.
        self._store.delete(sorted(i for i in self._store.ids() if "#" not in i or i.split("#", 1)[0] not in active))
        if has_token_vectors(self._emb):
            self._records.prune_piece_tokens(p for c in self._records.chunks() for w in window_parts(c) for p in w)
