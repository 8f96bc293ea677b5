"""Files derived from one record generation (the sparse index, the exact-search vector matrix), saved beside the
record under one folder per generation, each written whole or not at all, so a restart loads instead of rebuilding."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from assistant.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

_MANIFEST = "manifest.json"
_STALE_TEMP_S = 3600  # a temporary folder this old is a killed save, not one being written now


class GenerationFolders:
    """One folder per record generation under `root`: written under a temporary name and renamed into place, so a
    reader sees all of it or none; read only when its manifest says what the reader expects (which build, which
    chunks); a folder that says otherwise, or cannot be read, is removed so that it is saved again."""

    def __init__(self, root: Path, what: str) -> None:
        self.root, self.what = root, what

    def folder(self, generation: str) -> Path:
        """Where `generation`'s files are saved (a generation that is not a plain name is hashed)."""
        plain = re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}", generation)
        return self.root / (generation if plain else hashlib.sha1(generation.encode()).hexdigest())

    def read(self, generation: str, expected: dict, reader: Callable[[Path, dict], T]) -> T | None:
        """`reader` applied to `generation`'s folder and manifest when the manifest holds `expected`; else None
        (nothing saved, or a folder from other code or another record, or a damaged one, which is removed; `reader`
        raises ValueError for a folder it finds wrong)."""
        folder = self.folder(generation)
        if not folder.is_dir():
            return None
        try:
            manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
            if {**manifest, **expected, "generation": generation} == manifest:
                return reader(folder, manifest)
            log.info("the %s in %s is from other code or another record; it is built again", self.what, folder)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # damaged: built again, never trusted
            log.warning("the %s in %s is unreadable (%s: %s); it is built again", self.what, folder,
                        type(exc).__name__, exc)
        self._discard(folder)
        return None

    def write(self, generation: str, manifest: dict, writer: Callable[[Path], None]) -> bool:
        """`writer` fills a temporary folder that becomes `generation`'s; False when it could not be written (then
        only this process has what it built: a read-only or full data directory must not stop answering)."""
        target = self.folder(generation)
        temp = self.root / f".tmp-{target.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            temp.mkdir(parents=True)
            writer(temp)
            manifest = {**manifest, "generation": generation}
            (temp / _MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")  # last: it vouches for the rest
            try:
                os.rename(temp, target)
            except OSError:
                if not target.is_dir():
                    raise
                # Another process saved this generation meanwhile, from the same record: its folder is as good.
            return True
        except OSError as exc:
            log.warning("could not save the %s to %s (%s); it is kept in memory only", self.what, target, exc)
            return False
        finally:
            shutil.rmtree(temp, ignore_errors=True)

    def _discard(self, folder: Path) -> None:
        """Move `folder` aside (one rename: a reader sees it whole or not at all) and delete it."""
        aside = self.root / f".tmp-old-{folder.name}-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(folder, aside)
        except OSError:
            return  # gone already, or moved by another process
        shutil.rmtree(aside, ignore_errors=True)

    def prune(self, keep: Collection[str | None]) -> None:
        """Remove the folders of every generation but `keep` (the current and the previous one, which a serving
        process may still be switching from), and temporary folders left by killed saves."""
        names = {self.folder(g).name for g in keep if g}
        try:
            entries = list(self.root.iterdir())
        except OSError:
            return
        now = time.time()
        for path in entries:
            try:
                if path.name.startswith(".tmp-"):
                    if now - path.stat().st_mtime < _STALE_TEMP_S:
                        continue  # another process may be writing it now
                elif path.name in names or not path.is_dir():
                    continue
            except OSError:
                continue
            shutil.rmtree(path, ignore_errors=True)


def chunk_key(chunk_ids: list[str]) -> str:
    """A fingerprint of the active chunks in index order: what is saved serves only the chunks it was made from."""
    return hashlib.sha1("\n".join(chunk_ids).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Saved:
    """Where each generation's derived files are saved, beside the record in the data directory."""

    sparse: GenerationFolders  # the sparse index (sparse.py)
    # The exact-search matrix: every window vector of the active chunks, ids sorted, rows of unit length (what
    # VectorStore reads from Chroma in 6-7.7 s at 100x; float32, 219 MB for 142,878 vectors). Memory-mapped: 0.02 s
    # to open where reading it whole takes 0.32 s, for 16.7 instead of 14.2 ms a search (measured at 100x), and
    # its pages are shared by the processes of one machine.
    vectors: GenerationFolders

    @classmethod
    def beside_record(cls, settings: Settings) -> "Saved":
        """The folders beside the record file (the data directory, or the shared folder ASSISTANT_RECORDS_PATH is
        in, so that replicas sharing a record share what was saved with it); with the record in PostgreSQL, the data
        directory (a replica with its own builds and saves them once, at its first question)."""
        record = settings.records_db
        folder = record.parent if isinstance(record, Path) else settings.data_dir
        return cls(GenerationFolders(folder / "sparse", "sparse index"), GenerationFolders(folder / "vectors", "vector matrix"))

    def prune(self, keep: Collection[str | None]) -> None:
        """Remove what was saved for generations other than `keep`."""
        self.sparse.prune(keep)
        self.vectors.prune(keep)


def save_vectors(folders: GenerationFolders, generation: str, *, key: str, ids: list[str], rows: np.ndarray) -> bool:
    """Save the exact-search matrix of `generation` (its chunks named by `key`); False when it could not be."""
    def write(folder: Path) -> None:
        np.save(folder / "rows.npy", np.ascontiguousarray(rows, dtype=np.float32), allow_pickle=False)
        (folder / "ids.json").write_text(json.dumps(ids), encoding="utf-8")

    return bool(ids) and folders.write(generation, {"key": key}, write)


def load_vectors(folders: GenerationFolders, generation: str, *, key: str) -> tuple[list[str], np.ndarray] | None:
    """The saved exact-search matrix of `generation` for the chunks `key` names, memory-mapped; None when none."""
    def read(folder: Path, manifest: dict) -> tuple[list[str], np.ndarray]:
        ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        rows = np.load(folder / "rows.npy", mmap_mode="r", allow_pickle=False)
        if rows.ndim != 2 or rows.shape[0] != len(ids) or rows.dtype != np.float32:
            raise ValueError(f"{rows.shape} {rows.dtype} rows for {len(ids)} ids")
        return ids, rows

    return folders.read(generation, {"key": key}, read)
