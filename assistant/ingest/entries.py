"""Metadata entries of locally added documents: checked when given at upload, written and dropped atomically; the
published library's own entries (those without an "added" date) are never changed here."""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import date
from pathlib import Path

from assistant.errors import InputError
from assistant.ingest.loading import METADATA_FILE, read_metadata

FIRST_YEAR = 1948  # the NHS's first year: no NHS document is older
KINDS = ("guidance", "policy", "report", "contract specification", "case study", "minutes", "user document")


def upload_entry(*, title: str = "", publisher: str = "", year: str | int | None = None, kind: str = "",
                 today: date | None = None) -> dict:
    """The metadata entry of an uploaded document from what the user typed, checked; InputError says what to fix.

    Empty fields are left out (the file's own properties or front matter fill them); `added` is today's date."""
    day = today or date.today()
    entry: dict = {"added": day.isoformat()}
    for name, value, longest in (("title", title, 200), ("publisher", publisher, 120), ("kind", kind, 60)):
        value = " ".join(str(value or "").split())
        if len(value) > longest:
            raise InputError(f"The {name} is {len(value)} characters long; shorten it to {longest} or fewer.")
        if value and not re.search(r"[^\W\d_]", value):
            raise InputError(f"The {name} {value!r} has no letters; type it in words or leave it empty.")
        if value:
            entry[name] = value
    text = str(year if year is not None else "").strip()
    if text:
        if not re.fullmatch(r"\d{4}", text) or not FIRST_YEAR <= int(text) <= day.year:
            raise InputError(f"The year {text!r} is not a year of publication; give four digits from {FIRST_YEAR} "
                             f"to {day.year}, or leave it empty.")
        entry["year"] = int(text)
    return entry


def _write(directory: Path, entries: dict[str, dict]) -> None:
    """Replace the metadata file in one step (a temporary file renamed over it), so a reader never sees half."""
    fd, tmp = tempfile.mkstemp(prefix=".metadata-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(entries, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, directory / METADATA_FILE)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_entry(directory: Path, filename: str, entry: dict) -> None:
    """Record `entry` for a locally added file; InputError when the name belongs to the published library."""
    entries, skipped = read_metadata(directory)
    if skipped:
        raise InputError(f"{METADATA_FILE} in {directory} cannot be read; fix it before adding details to a document.")
    old = entries.get(filename)
    if old and not old.get("added"):
        raise InputError(f"{filename} is one of the published library's documents; its details are not changed here.")
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory, {**entries, filename: entry})


def drop_local_entry(directory: Path, filename: str) -> None:
    """Forget the entry of a locally added file that was removed (the published library's entries stay)."""
    entries, skipped = read_metadata(directory)
    if not skipped and entries.get(filename, {}).get("added"):
        _write(directory, {k: v for k, v in entries.items() if k != filename})
