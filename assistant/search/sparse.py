"""The lexical side of one record generation (BM25 over chunks and over sentence windows, the words and names the
passages use, document terms): built from the chunks, saved beside the record at ingest, loaded at start-up."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import bm25s
import numpy as np

from assistant.ingest.chunking import sentence_windows
from assistant.schema import Chunk
from assistant.search.generations import GenerationFolders, chunk_key
from assistant.text import split_words, stem, tokenize

# Sections that list sources rather than say anything: they rank below content (still findable by name).
REFERENCE_SECTION = re.compile(
    r"^\s*(foot ?notes|end ?notes|references|bibliography|publications|additional data sources|further reading)\b", re.I)
REFERENCE_WEIGHT = 0.5
_FIGURE = re.compile(r"\b\d[\d,.]*\s*(%|per ?cent|k\b|patients|practices|staff|GPs|sites|years|months|000)|\b\d{2,}[\d,]*\b", re.I)

FORMAT = "1"  # what the folder holds; the sources below are hashed in too, so a change to tokenising rebuilds it
_SOURCES = ("text.py", "search/sparse.py", "ingest/chunking.py")


def build_version() -> str:
    """What built a saved index: the format, bm25s's version and the code that tokenises and windows the chunks."""
    digest = hashlib.sha1(f"{FORMAT}:{bm25s.__version__}".encode())
    root = Path(__file__).resolve().parent.parent
    for name in _SOURCES:
        try:
            digest.update((root / name).read_bytes())
        except OSError:  # an installation without sources: the format and bm25s's version still tell
            digest.update(name.encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class SparseIndex:
    """What lexical retrieval needs for one set of active chunks (row i of every array is chunk i)."""

    key: str  # chunk_key of the chunks it was built from
    chunks: list[Chunk]  # the active chunks in the record's order
    bm25: bm25s.BM25  # one document per chunk (its index text)
    windows: bm25s.BM25  # one document per sentence window; each chunk's windows are contiguous
    starts: np.ndarray  # where each chunk's windows start, for a per-chunk maximum
    doc_ids: list[str]  # sorted
    doc_index: np.ndarray  # each chunk's position in doc_ids
    doc_terms: dict[str, dict[str, float]]  # per document, its title/publisher/year/kind words and their weights
    vocabulary: frozenset[str]  # every word as written (case kept: "Fuller" the review is not "fuller")
    lower_stems: frozenset[str]  # every word lower-cased and stemmed
    section_factor: np.ndarray  # REFERENCE_WEIGHT for reference lists, else 1
    figures: np.ndarray  # how many figures a chunk quotes (capped at 5), over 5


def build(chunks: Sequence[Chunk], documents: dict[str, dict]) -> SparseIndex:
    """The sparse index of `chunks` (in the record's order) and their `documents` (the record's, by id)."""
    bm25, windows = bm25s.BM25(), bm25s.BM25()
    starts: list[int] = []
    if chunks:
        bm25.index([tokenize(c.index_text()) or ["_"] for c in chunks], show_progress=False)
        texts: list[list[str]] = []
        for chunk in chunks:
            starts.append(len(texts))
            texts += [tokenize(window) or ["_"] for window in sentence_windows(chunk)]
        windows.index(texts, show_progress=False)
    doc_ids = sorted({c.doc_id for c in chunks})
    doc_number = {d: i for i, d in enumerate(doc_ids)}
    # Chunk by chunk: one string of the whole corpus, and a list of all its words, cost hundreds of MB at scale.
    words: set[str] = set()
    lowered: set[str] = set()
    for c in chunks:
        text = f"{c.title} {c.section} {c.case_study} {c.text}"
        words.update(re.findall(r"[A-Za-z0-9]+", text))
        lowered.update(split_words(text))
    return SparseIndex(
        key=chunk_key([c.chunk_id for c in chunks]), chunks=list(chunks), bm25=bm25, windows=windows,
        starts=np.array(starts, dtype=np.int64), doc_ids=doc_ids,
        doc_index=np.array([doc_number[c.doc_id] for c in chunks], dtype=np.int64),
        doc_terms=document_terms(documents), vocabulary=frozenset(words),
        lower_stems=frozenset(stem(w) for w in lowered),
        section_factor=np.array([REFERENCE_WEIGHT if REFERENCE_SECTION.match(c.section or "") else 1.0 for c in chunks]),
        figures=np.array([min(len(_FIGURE.findall(c.text)), 5) / 5 for c in chunks]),
    )


def document_terms(documents: dict[str, dict]) -> dict[str, dict[str, float]]:
    """For each document, the words of its title, publisher, year and kind, weighted by how few documents share them."""
    bags = {
        doc_id: set(tokenize(" ".join(str(d["meta"].get(f) or "") for f in ("title", "publisher", "year", "kind"))))
        for doc_id, d in documents.items()
    }
    n = len(bags)
    df: dict[str, int] = {}
    for bag in bags.values():
        for t in bag:
            df[t] = df.get(t, 0) + 1
    return {doc_id: {t: float(np.log((n + 1) / df[t])) for t in bag if df[t] < n} for doc_id, bag in bags.items()}


_ARRAYS = ("starts", "doc_index", "section_factor", "figures")


def load_sparse(folders: GenerationFolders, generation: str, *, active: Collection[str]) -> SparseIndex | None:
    """The saved sparse index of `generation` built by this code from the `active` chunks (their ids); None when
    there is none."""
    def read(folder: Path, manifest: dict) -> SparseIndex:
        chunks = _read_chunks(folder / "chunks.json")
        ids = [c.chunk_id for c in chunks]
        if chunk_key(ids) != manifest["key"] or len(ids) != len(active) or not all(i in active for i in ids):
            raise ValueError("its chunks are not the record's")
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        arrays = {name: np.load(folder / f"{name}.npy", allow_pickle=False) for name in _ARRAYS}
        # Memory-mapped: a question touches only its own terms' columns, and the pages are shared by processes.
        bm25 = bm25s.BM25.load(folder / "chunks", mmap=True, show_progress=False)
        windows = bm25s.BM25.load(folder / "windows", mmap=True, show_progress=False)
        if not len(ids) == bm25.scores["num_docs"] == len(arrays["starts"]) == len(arrays["doc_index"]):
            raise ValueError("its parts disagree in length")
        return SparseIndex(key=manifest["key"], chunks=chunks, bm25=bm25, windows=windows, doc_ids=meta["doc_ids"],
                           doc_terms=meta["doc_terms"], vocabulary=frozenset(meta["vocabulary"]),
                           lower_stems=frozenset(meta["lower_stems"]), **arrays)

    return folders.read(generation, {"build": build_version()}, read)


def save_sparse(folders: GenerationFolders, generation: str, index: SparseIndex) -> bool:
    """Save `index` as `generation`'s (atomically); False when it could not be, or has no chunks to save."""
    def write(folder: Path) -> None:
        index.bm25.save(folder / "chunks", show_progress=False)
        index.windows.save(folder / "windows", show_progress=False)
        for name in _ARRAYS:
            np.save(folder / f"{name}.npy", getattr(index, name), allow_pickle=False)
        meta = {"doc_ids": index.doc_ids, "doc_terms": index.doc_terms,
                "vocabulary": sorted(index.vocabulary), "lower_stems": sorted(index.lower_stems)}
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        _write_chunks(folder / "chunks.json", index.chunks)

    # No chunks: nothing that takes time to build (and bm25s cannot save an empty index).
    return bool(index.chunks) and folders.write(generation, {"build": build_version(), "key": index.key}, write)


# The chunks, column by column: the record's rows took 1.1-1.3 s to read and decode at 100x (56,333 JSON objects,
# Chunk.from_metadata each); the whole saved index, these columns included, loads in 0.65 s (2 busy cores).
def _write_chunks(path: Path, chunks: Sequence[Chunk]) -> None:
    """Save `chunks` as one JSON object of columns, one per Chunk field."""
    names = [f.name for f in fields(Chunk)]
    path.write_text(json.dumps({"fields": names, "columns": [[getattr(c, n) for c in chunks] for n in names]}),
                    encoding="utf-8")


def _read_chunks(path: Path) -> list[Chunk]:
    """The chunks `_write_chunks` saved (ValueError when Chunk's fields have changed since)."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    if saved["fields"] != [f.name for f in fields(Chunk)]:
        raise ValueError("saved with other chunk fields")
    return [Chunk(*row) for row in zip(*saved["columns"])]
