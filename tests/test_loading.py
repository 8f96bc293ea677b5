"""Knowledge files: the five reports load with their metadata; bad files are named and skipped."""

from pathlib import Path

import pytest

from assistant.errors import KnowledgeError
from assistant.ingest.loading import SUPPORTED_NAMES, discover, load_directory, load_file
from docmaker import write_docx, write_pdf

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


def test_the_five_reports_load_with_titles_publishers_and_years():
    docs, skipped = load_directory(KNOWLEDGE)
    assert not skipped
    assert len(docs) == 5
    years = sorted(d.meta.year for d in docs)
    assert years == [2013, 2013, 2013, 2016, 2018]
    assert all(d.meta.publisher != "Unknown publisher" and d.meta.title for d in docs)


def test_empty_binary_and_non_utf8_files_are_reported_by_name_and_skipped(tmp_path):
    (tmp_path / "good.txt").write_text("Federations of practices share back-office staff and governance. " * 5)
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PK\x00" * 50)
    (tmp_path / "latin1.md").write_bytes("Caf\xe9 governance notes for the practice board.".encode("latin-1"))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "broken.docx").write_bytes(b"not a zip at all")
    docs, skipped = load_directory(tmp_path)
    assert [d.meta.filename for d in docs] == ["good.txt"]
    reasons = {s.filename: s.reason for s in skipped}
    assert set(reasons) == {"empty.txt", "binary.txt", "latin1.md", "broken.pdf", "broken.docx"}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.md"]
    assert all(name in reason for name, reason in reasons.items())


def test_a_file_without_metadata_gets_sensible_defaults(tmp_path):
    path = tmp_path / "riverside-collaborative-2021.md"
    path.write_text("# Riverside Collaborative annual review\n\nNine practices formed a federation in 2015 to share staff.")
    doc = load_file(path)
    assert doc.meta.title == "Riverside Collaborative annual review"
    assert doc.meta.year == 2021
    assert doc.meta.doc_id == "riverside-collaborative-2021"
    assert doc.meta.publisher == "Unknown publisher"


def test_pdf_pages_are_read_separately_so_page_numbers_are_known(tmp_path):
    path = write_pdf(tmp_path / "notes.pdf", [["Riverside federation governance board meets monthly."], ["Second page on conflicts of interest registers."]])
    doc = load_file(path)
    assert doc.paged and len(doc.pages) == 2
    assert "conflicts of interest" in doc.pages[1]


def test_docx_paragraphs_and_headings_are_read(tmp_path):
    path = write_docx(tmp_path / "brief.docx", "Governance of the federation", ["The board has six GP directors.", "A register of interests is kept."])
    doc = load_file(path)
    assert "Governance of the federation" in doc.pages[0] and "register of interests" in doc.pages[0]


def test_an_unsupported_type_raises_a_clear_error(tmp_path):
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(b"data")
    with pytest.raises(KnowledgeError, match="unsupported type"):
        load_file(path)


def test_discover_skips_hidden_files_and_the_librarys_own_metadata_and_readme(tmp_path):
    for name in ("a.txt", "README.md", "metadata.json", ".draft.txt", "b.pdf"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in discover(tmp_path)] == ["a.txt", "b.pdf"]


def test_uploads_are_refused_by_the_loaders_rules_for_types_and_reserved_names(tmp_path):
    import threading

    from assistant.audit import AuditLog
    from assistant.ingest.uploads import add_uploads
    from conftest import make_settings

    files = []
    for name in ("sheet.XLSX", "notes", "README.md", "metadata.json"):
        (tmp_path / name).write_text("Practices in the network share a pharmacist and a business manager. " * 3)
        files.append(tmp_path / name)
    settings = make_settings(tmp_path / "site")
    out = add_uploads(files, settings=settings, audit=AuditLog(settings.audit_db), user="tester", documents=list,
                      ingest=lambda docs: pytest.fail("nothing was accepted"), lock=threading.RLock())
    reasons = dict(out.rejected)
    assert out.kept == [] and out.report is None and not settings.knowledge_dir.exists()
    assert reasons["sheet.XLSX"] == "unsupported type .xlsx; use .txt, .md, .pdf or .docx"
    assert reasons["notes"] == f"unsupported type (none); use {SUPPORTED_NAMES}"
    assert "reserved for the library" in reasons["README.md"] and "reserved for the library" in reasons["metadata.json"]


def test_a_broken_metadata_file_is_reported_and_defaults_are_used(tmp_path):
    (tmp_path / "metadata.json").write_text("{not json")
    (tmp_path / "a.txt").write_text("Practices in the network share a pharmacist and a business manager. " * 3)
    docs, skipped = load_directory(tmp_path)
    assert len(docs) == 1 and skipped[0].filename == "metadata.json"
