"""Find and read knowledge files (.txt, .md, .pdf, .docx) with their metadata; bad files are reported, not fatal."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from assistant.errors import KnowledgeError
from assistant.schema import DocumentMeta

# The one definition of what a knowledge file (and so an upload) may be; the UI imports these.
SUPPORTED = (".txt", ".md", ".pdf", ".docx")
SUPPORTED_NAMES = ", ".join(SUPPORTED[:-1]) + " or " + SUPPORTED[-1]  # ".txt, .md, .pdf or .docx", for messages
METADATA_FILE = "metadata.json"


@dataclass(frozen=True)
class Limits:
    """How big a knowledge file may be and how far it may expand when read (the values come from Settings)."""

    max_bytes: int
    max_unzipped_bytes: int
    max_zip_entries: int
    max_pdf_pages: int
    max_text_chars: int

    @classmethod
    def from_settings(cls, settings=None) -> "Limits":
        """The limits configured in `settings` (ASSISTANT_UPLOAD_MAX_*), or the settings' defaults."""
        from assistant.settings import Settings

        s = settings if settings is not None else Settings.model_construct()  # defaults, no environment read
        return cls(max_bytes=s.upload_max_bytes, max_unzipped_bytes=s.upload_max_unzipped_bytes,
                   max_zip_entries=s.upload_max_zip_entries, max_pdf_pages=s.upload_max_pdf_pages,
                   max_text_chars=s.upload_max_text_chars)


@dataclass(frozen=True)
class LoadedDocument:
    """A readable knowledge file: its metadata, text (per page for PDFs) and content hash."""

    meta: DocumentMeta
    pages: tuple[str, ...]  # one entry for text files; one per page for PDFs
    sha256: str
    paged: bool = False
    given: frozenset[str] = frozenset()  # the fields (title, publisher, year) its entry or file properties gave


@dataclass(frozen=True)
class Skipped:
    """A knowledge file that could not be used, and why."""

    filename: str
    reason: str


def slugify(text: str) -> str:
    """A lower-case id made of letters, digits and hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "document"


def read_metadata(directory: Path) -> tuple[dict[str, dict], list[Skipped]]:
    """The metadata file beside the documents, keyed by file name; a broken one is reported and ignored."""
    path = directory / METADATA_FILE
    if not path.exists():
        return {}, []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("top level must be an object keyed by file name")
        return {k: v for k, v in data.items() if isinstance(v, dict)}, []
    except (ValueError, UnicodeDecodeError) as exc:
        return {}, [Skipped(METADATA_FILE, f"unreadable metadata ({exc}); defaults used for every file")]


def reserved(name: str) -> bool:
    """Whether a file name in the knowledge directory belongs to the library itself (its metadata file, its README)."""
    return name == METADATA_FILE or name.lower() == "readme.md"


def unsupported(name: str) -> str | None:
    """Why a file of this name cannot be read ("unsupported type .exe; use ..."), or None when its type can."""
    suffix = Path(name).suffix.lower()
    return None if suffix in SUPPORTED else f"unsupported type {suffix or '(none)'}; use {SUPPORTED_NAMES}"


def default_meta(path: Path, text: str) -> DocumentMeta:
    """Metadata for a file dropped in without an entry: title from its first line or its name, year from its name."""
    first = next((ln.strip(" #*\t") for ln in text.splitlines() if ln.strip(" #*\t")), "")
    title = first if 3 <= len(first) <= 120 else path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
    year = re.search(r"(?<!\d)(19|20)\d{2}(?!\d)", path.stem)
    return DocumentMeta(
        doc_id=slugify(path.stem),
        filename=path.name,
        title=title,
        publisher="Unknown publisher",
        year=int(year.group(0)) if year else None,
        kind="user document",
        added=date.today().isoformat(),  # no entry in the metadata file: added locally (the index keeps the first date)
    )


def usable_title(title: str | None) -> str:
    """A title from a file's own properties, or '' when it is a converter's placeholder ("Microsoft Word - x.docx")."""
    t = " ".join((title or "").split())
    bad = len(t) < 4 or len(t) > 200 or re.search(r"\.(docx?|pdf|txt|html?)\b|^microsoft word|^untitled|^file:", t, re.I)
    return "" if bad else t


def meta_for(path: Path, entry: dict | None, text: str, title: str = "") -> DocumentMeta:
    """Metadata from the file's entry, else its own title property (`title`), falling back to defaults."""
    base = default_meta(path, text)
    if title:
        base = DocumentMeta(doc_id=base.doc_id, filename=base.filename, title=title, publisher=base.publisher,
                            year=base.year, kind=base.kind, added=base.added)
    if not entry:
        return base
    year = entry.get("year", base.year)
    return DocumentMeta(
        doc_id=slugify(str(entry.get("doc_id") or base.doc_id)),
        filename=path.name,
        title=str(entry.get("title") or base.title),
        publisher=str(entry.get("publisher") or base.publisher),
        year=int(year) if isinstance(year, (int, str)) and str(year).isdigit() else None,
        kind=str(entry.get("kind") or base.kind),
        # An entry without an "added" date is one of the published library's documents.
        added=str(entry.get("added") or ""),
    )


def _read_text(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise KnowledgeError(f"{name}: looks binary (NUL bytes); save it as UTF-8 text, PDF or DOCX")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KnowledgeError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start}); re-save it as UTF-8") from exc


def _too_much_text(name: str, limits: Limits) -> KnowledgeError:
    return KnowledgeError(f"{name}: more than {limits.max_text_chars:,} characters of text "
                          "(ASSISTANT_UPLOAD_MAX_TEXT_CHARS); split it")


def _read_pdf(path: Path, limits: Limits) -> tuple[list[str], str]:
    """The text of each page, and the title in the PDF's properties ('' when none)."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        count = len(reader.pages)
        if count > limits.max_pdf_pages:
            raise KnowledgeError(f"{path.name}: {count} pages, more than {limits.max_pdf_pages} "
                                 "(ASSISTANT_UPLOAD_MAX_PDF_PAGES); split it")
        pages, chars = [], 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            if chars > limits.max_text_chars:
                raise _too_much_text(path.name, limits)
        # Only the title is taken from the properties: a creation date is when it was printed or exported
        # (a browser's print of a 2019 page says 2026), and an author is a person, not the publisher.
        title = usable_title(reader.metadata.title if reader.metadata else "")
        return pages, title
    except (KnowledgeError, MemoryError):
        raise
    # A PDF is untrusted input: any parser failure (pypdf's LimitReachedError, a RecursionError in a cyclic
    # page tree, ...) is this file's problem alone, reported by name.
    except Exception as exc:  # noqa: BLE001
        raise KnowledgeError(f"{path.name}: not a readable PDF ({type(exc).__name__}: {exc}); re-export it "
                             "or drop it") from exc


def check_zip(path: Path, limits: Limits) -> None:
    """Refuse a DOCX whose zip directory lists too many entries or too many bytes once unpacked (read before parsing)."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise KnowledgeError(f"{path.name}: not a readable DOCX ({exc}); re-save it from Word") from exc
    if len(entries) > limits.max_zip_entries:
        raise KnowledgeError(f"{path.name}: {len(entries)} parts inside, more than {limits.max_zip_entries} "
                             "(ASSISTANT_UPLOAD_MAX_ZIP_ENTRIES); re-save it from Word")
    unpacked = sum(e.file_size for e in entries)
    if unpacked > limits.max_unzipped_bytes:
        raise KnowledgeError(f"{path.name}: unpacks to {unpacked // 2**20:,} MB, more than "
                             f"{limits.max_unzipped_bytes // 2**20} MB (ASSISTANT_UPLOAD_MAX_UNZIPPED_BYTES); "
                             "re-save it without embedded media or split it")


def _read_docx(path: Path, limits: Limits) -> tuple[str, str]:
    """The paragraphs (headings on lines of their own), and the title in the document's properties."""
    import docx

    check_zip(path, limits)
    try:
        document = docx.Document(str(path))
        lines = []
        for para in document.paragraphs:
            style = (para.style.name or "") if para.style is not None else ""
            # Keep headings on their own line so cleaning recognises them as section titles.
            lines.append(("\n" + para.text + "\n") if style.startswith("Heading") else para.text)
    except MemoryError:
        raise
    # Untrusted input, as for PDFs: any parser failure is reported against this file.
    except Exception as exc:  # noqa: BLE001
        raise KnowledgeError(f"{path.name}: not a readable DOCX ({type(exc).__name__}: {exc}); re-save it "
                             "from Word") from exc
    return "\n\n".join(lines), usable_title(document.core_properties.title)


def check_size(path: Path, limits: Limits) -> None:
    """Refuse a file over the byte limit before reading it."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise KnowledgeError(f"{path.name}: cannot be read ({exc.strerror})") from exc
    if size > limits.max_bytes:
        raise KnowledgeError(f"{path.name}: {size / 2**20:.1f} MB, larger than {limits.max_bytes / 2**20:.0f} MB "
                             "(ASSISTANT_UPLOAD_MAX_BYTES); split it")


def load_file(path: Path, entry: dict | None = None, limits: Limits | None = None) -> LoadedDocument:
    """Read one knowledge file within `limits` (default: the settings' defaults); KnowledgeError names the file."""
    if reason := unsupported(path.name):
        raise KnowledgeError(f"{path.name}: {reason}")
    limits = limits or Limits.from_settings()
    suffix = path.suffix.lower()
    check_size(path, limits)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KnowledgeError(f"{path.name}: cannot be read ({exc.strerror})") from exc
    if not data.strip():
        raise KnowledgeError(f"{path.name}: empty file")
    paged, title = False, ""
    if suffix == ".pdf":
        pages, title = _read_pdf(path, limits)
        paged = True
    elif suffix == ".docx":
        body, title = _read_docx(path, limits)
        pages = [body]
    else:
        pages = [_read_text(data, path.name)]
    text = "\n".join(pages)
    if len(text) > limits.max_text_chars:
        raise _too_much_text(path.name, limits)
    if len(re.findall(r"[A-Za-z]{2,}", text)) < 5:
        raise KnowledgeError(f"{path.name}: no readable text found (scanned PDF or empty document?)")
    digest = hashlib.sha256(data + json.dumps(entry or {}, sort_keys=True).encode()).hexdigest()
    given = frozenset(k for k in ("title", "publisher", "year") if (entry or {}).get(k) or (k == "title" and title))
    return LoadedDocument(meta=meta_for(path, entry, text, title), pages=tuple(pages), sha256=digest, paged=paged,
                          given=given)


def discover(directory: Path) -> list[Path]:
    """Supported files directly in `directory` (sorted), hidden files and the metadata file excluded."""
    if not directory.is_dir():
        raise KnowledgeError(f"Knowledge directory {directory} not found; create it or set ASSISTANT_KNOWLEDGE_DIR")
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and not p.name.startswith(".") and not reserved(p.name)
    )


def load_directory(directory: Path, limits: Limits | None = None,
                   extra: Sequence[LoadedDocument] = ()) -> tuple[list[LoadedDocument], list[Skipped]]:
    """Every usable document in `directory` plus `extra` (already read; they replace files of the same name),
    and the files skipped and why: one file's failure, whatever it is, never stops the others."""
    entries, skipped = read_metadata(directory)
    docs: list[LoadedDocument] = list(extra)
    seen: dict[str, str] = {d.meta.doc_id: d.meta.filename for d in extra}
    given = {d.meta.filename for d in extra}
    for path in discover(directory):
        if path.name in given:
            continue
        try:
            doc = load_file(path, entries.get(path.name), limits)
        except KnowledgeError as exc:
            skipped.append(Skipped(path.name, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - any loader failure is this file's alone (issue #18)
            skipped.append(Skipped(path.name, f"{path.name}: could not be read ({type(exc).__name__}: {exc})"))
            continue
        if doc.meta.doc_id in seen:
            skipped.append(Skipped(path.name, f"same document id as {seen[doc.meta.doc_id]}; rename one"))
            continue
        seen[doc.meta.doc_id] = path.name
        docs.append(doc)
    return docs, skipped
