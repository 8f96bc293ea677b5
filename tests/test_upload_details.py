"""Details typed in for an upload (title, publisher, year, kind) are checked, saved beside the library's own
entries without touching them, used for the document, and forgotten when the document is removed."""

from __future__ import annotations

import json
from datetime import date

import pytest

from assistant.errors import InputError
from assistant.ingest.entries import drop_local_entry, save_entry, upload_entry
from assistant.ingest.loading import load_directory

DAY = date(2026, 12, 1)
TEXT = "The network's practices share a clinical pharmacist and a business manager across four sites. " * 3


def test_details_are_trimmed_dated_and_empty_ones_left_out():
    entry = upload_entry(title="  Network  Contract DES ", publisher="", year="2020", kind="guidance", today=DAY)
    assert entry == {"added": "2026-12-01", "title": "Network Contract DES", "year": 2020, "kind": "guidance"}


@pytest.mark.parametrize("year", ["20x0", "1900", "2027", "19", "2020/21"])
def test_a_year_that_cannot_be_a_year_of_publication_is_refused_saying_what_to_give(year):
    with pytest.raises(InputError, match="four digits from 1948 to 2026"):
        upload_entry(title="DES", year=year, today=DAY)


def test_a_title_without_letters_or_too_long_is_refused():
    with pytest.raises(InputError, match="no letters"):
        upload_entry(title="2020/21", today=DAY)
    with pytest.raises(InputError, match="shorten it to 200"):
        upload_entry(title="x" * 201, today=DAY)


@pytest.mark.slow
def test_an_upload_with_details_is_indexed_under_them_and_the_curated_entries_stay(tmp_path):
    from assistant.pipeline import Assistant
    from conftest import make_settings

    library = tmp_path / "knowledge"
    library.mkdir()
    curated = {"report.txt": {"title": "A published report", "year": 2016}}
    (library / "metadata.json").write_text(json.dumps(curated))
    (library / "report.txt").write_text(TEXT)
    assistant = Assistant.from_settings(make_settings(tmp_path / "data", knowledge_dir=library))
    assistant.ingest()
    upload = tmp_path / "pcn-notes.txt"
    upload.write_text(TEXT.replace("four", "five"))
    entry = upload_entry(title="PCN notes", publisher="Riverside PCN", year="2021", kind="minutes", today=DAY)
    out = assistant.add_documents([upload], user="tester", entry=entry)
    assert (out.kept, out.rejected) == (["pcn-notes.txt"], [])
    indexed = {d["filename"]: d for d in assistant.documents()}
    assert (indexed["pcn-notes.txt"]["title"], indexed["pcn-notes.txt"]["year"]) == ("PCN notes", 2021)
    docs = {d.meta.filename: d.meta for d in load_directory(library)[0]}  # what the next ingest reads
    assert (docs["pcn-notes.txt"].title, docs["pcn-notes.txt"].year, docs["pcn-notes.txt"].added) == (
        "PCN notes", 2021, "2026-12-01")
    assert docs["report.txt"].title == "A published report" and docs["report.txt"].added == ""
    # A published document is never replaced by an upload of the same name, nor its details overwritten.
    replacement = tmp_path / "upload" / "report.txt"
    replacement.parent.mkdir()
    replacement.write_text(TEXT)
    out = assistant.add_documents([replacement], user="tester", entry=entry)
    assert out.kept == [] and "library's own document" in dict(out.rejected)["report.txt"]
    drop_local_entry(library, "pcn-notes.txt")
    drop_local_entry(library, "report.txt")
    assert json.loads((library / "metadata.json").read_text()) == curated


def test_details_for_several_files_at_once_are_refused(tmp_path):
    from assistant.audit import AuditLog
    from assistant.ingest.uploads import add_uploads
    from conftest import make_settings

    paths = []
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(TEXT)
        paths.append(tmp_path / name)
    settings = make_settings(tmp_path / "data")
    with pytest.raises(InputError, match="one at a time"):
        add_uploads(paths, settings=settings, audit=AuditLog(settings.audit_db), user="tester", documents=list,
                    ingest=lambda docs: None, lock=__import__("threading").RLock(),
                    entry=upload_entry(title="A", today=DAY))


def test_an_unreadable_metadata_file_is_not_overwritten(tmp_path):
    (tmp_path / "metadata.json").write_text("{broken")
    with pytest.raises(InputError, match="cannot be read"):
        save_entry(tmp_path, "a.txt", {"added": "2026-12-01"})
    assert (tmp_path / "metadata.json").read_text() == "{broken"


def test_a_docx_title_property_names_the_document_but_a_converters_placeholder_does_not(tmp_path):
    import docx

    from assistant.ingest.loading import load_file

    for title, expected in (("Riverside PCN workforce plan", "Riverside PCN workforce plan"),
                            ("Microsoft Word - plan.docx", "Riverside notes")):
        document = docx.Document()
        document.core_properties.title = title
        document.add_paragraph("Riverside notes")
        document.add_paragraph(TEXT)
        path = tmp_path / "plan.docx"
        document.save(str(path))
        assert load_file(path).meta.title == expected
