"""The Library tab's work: validate uploaded files, copy the good ones into the knowledge directory, re-index."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from assistant.errors import InputError, KnowledgeError
from assistant.ingest.entries import save_entry
from assistant.ingest.indexing import IngestReport
from assistant.ingest.loading import load_file, read_metadata, reserved, unsupported

_STAGES = {"chunk": "Reading and splitting documents", "embed": "Indexing passages"}


def stage_label(stage: str) -> str:
    """Plain-English name of an ingest stage for the progress bar."""
    return _STAGES.get(stage, stage.capitalize())


def _check_name(name: str) -> str | None:
    """Why a file name cannot go into the knowledge directory, or None when it can."""
    if not name or name.startswith(".") or name != Path(name).name:
        return "the file name is not allowed; rename the file"
    if reserved(name):
        return f"{name} is reserved for the library itself; rename the file"
    return unsupported(name)


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _copy_atomic(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a hidden temporary file, so ingest never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_files(paths: Sequence[str | Path], knowledge_dir: Path, documents: Sequence[dict],
              ingest: Callable[[], IngestReport], entry: dict | None = None
              ) -> tuple[list[str], list[tuple[str, str]], IngestReport | None]:
    """Validate and copy uploads, then ingest; returns (file names kept, (name, reason) rejected, report).

    `entry` (assistant.ingest.entries.upload_entry: title, publisher, year, kind typed in) is for one file only."""
    kept: list[str] = []
    rejected: list[tuple[str, str]] = []
    owner = {d["doc_id"]: d["filename"] for d in documents}
    entries = read_metadata(knowledge_dir)[0] if knowledge_dir.is_dir() else {}
    if entry and len(paths or []) > 1:
        raise InputError("Title, publisher, year and kind describe one document; add files with details one at a time.")
    for raw in paths or []:
        path = Path(raw)
        name = path.name
        if reason := _check_name(name):
            rejected.append((name, reason))
            continue
        try:
            loaded = load_file(path, entry or entries.get(name))
        except KnowledgeError as exc:
            rejected.append((name, str(exc).removeprefix(f"{name}: ")))
            continue
        holder = owner.get(loaded.meta.doc_id)
        if holder and holder != name:
            rejected.append((name, f"it would have the same document id as {holder}; rename the file"))
            continue
        target = knowledge_dir / name
        try:
            if entry:  # the details typed in are saved first: the ingest below reads them with the file
                save_entry(knowledge_dir, name, entry)
        except (InputError, OSError) as exc:
            rejected.append((name, str(exc)))
            continue
        if target.exists() and _same_bytes(path, target):
            kept.append(name)
            continue
        try:
            _copy_atomic(path, target)
        except OSError as exc:
            rejected.append((name, f"could not be saved in the library folder ({exc.strerror or exc})"))
            continue
        owner[loaded.meta.doc_id] = name
        kept.append(name)
    if not kept:
        return kept, rejected, None
    return kept, rejected, ingest()

