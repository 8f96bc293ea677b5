"""Adding uploaded documents: safe names, curated reports never replaced, each file read in a bounded worker
from a staging folder, and moved into the knowledge directory only once indexed; every outcome audited."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.audit import AuditLog
from assistant.errors import InputError, KnowledgeError
from assistant.ingest.entries import save_entry
from assistant.ingest.indexing import IngestReport
from assistant.ingest.loading import (METADATA_FILE, Limits, LoadedDocument, check_size, read_metadata, reserved,
                                      unsupported)
from assistant.ingest.worker import read_isolated
from assistant.settings import Settings

Ingest = Callable[[Sequence[LoadedDocument]], IngestReport]
STALE_BATCH_SECONDS = 24 * 3600  # a batch folder this old was left by a process that died mid-upload


@dataclass
class UploadOutcome:
    """What became of an upload batch: file names added, (name, reason) refused, and the ingest's report."""

    kept: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    report: IngestReport | None = None


def safe_name(raw: str) -> str:
    """The uploaded file's own name reduced to letters, digits, '.', '-' and '_' (no folders; '' when nothing is left)."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    # Accents are dropped rather than the letters they sit on ("Évaluation" -> "Evaluation").
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, suffix = os.path.splitext(name)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:120]
    suffix = suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix) else ""
    return f"{stem}{suffix}" if stem else ""


def _why_not(name: str, *, existing: dict[str, str], uploaded: set[str], entries: dict[str, dict]) -> str | None:
    """Why an upload of this (safe) name cannot go into the library now, or None when it can."""
    if not name:
        return "the file name is not allowed; rename the file"
    if reserved(name):
        return f"{name} is reserved for the library itself; rename the file"
    if reason := unsupported(name):
        return reason
    key = name.lower()
    if key in existing and key not in uploaded:
        return (f"the library's own document {existing[key]} has this name and is never replaced by an upload; "
                "rename your file")
    if name in entries:
        return f"{name} is described in the library's {METADATA_FILE}; rename your file"
    return None


def _screen(paths: Sequence[str | Path], knowledge_dir: Path, uploaded: set[str], limits: Limits,
            rejected: list[tuple[str, str]]) -> list[tuple[str, Path]]:
    """(safe name, path) of the uploads worth reading; the rest go to `rejected` under the name the user gave."""
    given = [(Path(raw).name, Path(raw)) for raw in paths or []]
    counts = Counter(safe_name(name).lower() for name, _ in given)
    existing = _existing(knowledge_dir)
    entries = read_metadata(knowledge_dir)[0] if knowledge_dir.is_dir() else {}
    picked = []
    for name, path in given:
        safe = safe_name(name)
        reason = _why_not(safe, existing=existing, uploaded=uploaded, entries=entries)
        if reason is None and counts[safe.lower()] > 1:
            reason = f"{counts[safe.lower()]} files in this upload are named {safe}; upload one of them"
        if reason is None:
            try:
                check_size(path, limits)
            except KnowledgeError as exc:
                reason = str(exc).split(": ", 1)[-1]
        if reason:
            rejected.append((name, reason))
        else:
            picked.append((safe, path))
    return picked


def _existing(knowledge_dir: Path) -> dict[str, str]:
    """Lower-cased name -> name of every file in the knowledge directory."""
    return {p.name.lower(): p.name for p in knowledge_dir.iterdir()} if knowledge_dir.is_dir() else {}


def _read_staged(picked: list[tuple[str, Path]], batch: Path, settings: Settings, limits: Limits,
                 rejected: list[tuple[str, str]], entry: dict | None = None) -> list[tuple[LoadedDocument, Path]]:
    """Copy each upload into the staging folder under its safe name and read it in a bounded worker."""
    batch.mkdir(parents=True, exist_ok=True)
    read = []
    for safe, path in picked:
        staged = batch / safe
        try:
            shutil.copyfile(path, staged)
            doc = read_isolated(staged, entry, limits, seconds=settings.upload_worker_seconds,
                                memory_mb=settings.upload_worker_memory_mb)
        except OSError as exc:
            rejected.append((path.name, f"could not be staged ({exc.strerror or exc})"))
            continue
        except KnowledgeError as exc:
            rejected.append((path.name, str(exc).removeprefix(f"{safe}: ")))
            staged.unlink(missing_ok=True)
            continue
        read.append((doc, staged))
    return read


def _still_free(read: list[tuple[LoadedDocument, Path]], knowledge_dir: Path, uploaded: set[str],
                documents: Sequence[dict], rejected: list[tuple[str, str]]) -> list[tuple[LoadedDocument, Path]]:
    """The documents whose name and id are still theirs to take, checked again under the ingest lock."""
    existing = _existing(knowledge_dir)
    owner = {d["doc_id"]: d["filename"] for d in documents}
    free = []
    for doc, staged in read:
        name = doc.meta.filename
        if name.lower() in existing and name.lower() not in uploaded:
            rejected.append((name, f"the library's own document {existing[name.lower()]} has this name; rename your file"))
        elif (holder := owner.get(doc.meta.doc_id)) and holder != name:
            rejected.append((name, f"it would have the same document id as {holder}; rename the file"))
        else:
            owner[doc.meta.doc_id] = name
            free.append((doc, staged))
    return free


def _install(staged: Path, knowledge_dir: Path) -> str:
    """Copy a staged file into the knowledge directory atomically (a hidden temporary file, then a rename);
    returns its sha256."""
    knowledge_dir.mkdir(parents=True, exist_ok=True)
    data = staged.read_bytes()
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=knowledge_dir)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, knowledge_dir / staged.name)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()


def _sweep(staging_dir: Path) -> None:
    """Remove batch folders left by a process that died mid-upload (they are never indexed)."""
    if staging_dir.is_dir():
        cutoff = time.time() - STALE_BATCH_SECONDS
        for folder in staging_dir.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)


def add_uploads(paths: Sequence[str | Path], *, settings: Settings, audit: AuditLog, user: str,
                documents: Callable[[], Sequence[dict]], ingest: Ingest, lock: threading.RLock,
                entry: dict | None = None) -> UploadOutcome:
    """Check, read (bounded worker), index and only then install uploaded files; every outcome goes to `audit`.
    `entry`, the details typed in for a single file, is saved as its metadata entry when it is installed."""
    if entry and len(paths or []) > 1:
        raise InputError("Title, publisher, year and kind describe one document; add files with details one at a time.")
    _sweep(settings.staging_dir)
    limits = Limits.from_settings(settings)
    out = UploadOutcome()
    batch = settings.staging_dir / uuid.uuid4().hex
    try:
        read = _read_staged(_screen(paths, settings.knowledge_dir, audit.uploaded(), limits, out.rejected),
                            batch, settings, limits, out.rejected, entry)
        with lock:  # one ingest at a time; reading above runs beside other uploads and questions
            uploaded = audit.uploaded()
            read = _still_free(read, settings.knowledge_dir, uploaded, documents(), out.rejected)
            if read:
                out.report = ingest([doc for doc, _ in read])
            for doc, staged in read:
                name = doc.meta.filename
                replacing = (settings.knowledge_dir / name).exists()
                try:
                    if entry:  # saved with the file, so a later ingest reads the same details
                        save_entry(settings.knowledge_dir, name, entry)
                    digest = _install(staged, settings.knowledge_dir)
                except (OSError, InputError) as exc:
                    out.rejected.append((name, f"indexed but not saved in the library folder "
                                               f"({getattr(exc, 'strerror', None) or exc}); "
                                               "it will leave the index at the next ingest"))
                    continue
                audit.record(user=user, action="replace" if replacing else "add", filename=name, sha256=digest,
                             detail=f"{doc.meta.doc_id}; {sum(len(p) for p in doc.pages)} characters")
                out.kept.append(name)
    finally:
        shutil.rmtree(batch, ignore_errors=True)
        for name, reason in out.rejected:
            audit.record(user=user, action="refused", filename=name, detail=reason)
    return out
