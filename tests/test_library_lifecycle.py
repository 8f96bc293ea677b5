"""A real 2020 NHS England text added to the library answers questions about its years, marked as added locally;
`assistant remove` takes it out again, atomically, and the same question is declined as beyond the library's dates."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from typer.testing import CliRunner

from assistant.errors import KnowledgeError
from assistant.pipeline import Assistant
from conftest import make_settings
from docmaker import fixture, write_paged_pdf

pytestmark = pytest.mark.slow

QUESTION = "What did the Network Contract DES place on practices and commissioners from 1 July 2019?"
TITLE = "Network Contract Directed Enhanced Service: Contract specification 2020/21"


@pytest.fixture()
def library(index_dir, tmp_path):
    """A copy of the session index with the DES 2020/21 excerpt added as a PDF, with its metadata entry."""
    base = tmp_path / "ix"
    shutil.copytree(index_dir, base)
    knowledge = base / "knowledge"
    write_paged_pdf(knowledge / "nhse-2020-network-contract-des.pdf", fixture("nhse-2020-network-contract-des-excerpt.txt"),
                    header=lambda n: "Network Contract DES specification 2020/21", footer=lambda n: f"Page {n} of {{nb}}")
    entries = json.loads((knowledge / "metadata.json").read_text(encoding="utf-8"))
    entries["nhse-2020-network-contract-des.pdf"] = {"title": TITLE, "publisher": "NHS England and NHS Improvement",
                                                     "year": 2020, "kind": "contract specification",
                                                     "added": "2026-12-01"}
    (knowledge / "metadata.json").write_text(json.dumps(entries), encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(base))
    assert assistant.ingest().added == ["nhse-2020-network-contract-des.pdf"]
    return base


def test_a_question_naming_a_year_of_the_added_document_is_answered_from_it(library):
    assistant = Assistant.from_settings(make_settings(library))
    assert assistant.collection().span() == "2013 to 2020" and len(assistant.collection().documents) == 6
    answer = assistant.ask(QUESTION)
    assert not answer.refused, answer.text
    cited = [c.passage.chunk for c in answer.citations if c.passage.chunk.title == TITLE]
    assert cited and all(c.section == "1. Introduction" and c.page == 5 for c in cited)
    assert "1 July 2019" in answer.text
    # Marked as added locally, with its date, wherever sources are listed.
    source = next(c for c in answer.to_json()["citations"] if c["title"] == TITLE)
    assert source["added_locally"] == "2026-12-01" and source["page"] == 5


def test_removed_the_same_question_is_declined_as_beyond_the_librarys_dates(library):
    from cli.main import app

    env = {"ASSISTANT_KNOWLEDGE_DIR": str(library / "knowledge"), "ASSISTANT_DATA_DIR": str(library / "data"),
           "ASSISTANT_TIKTOKEN_CACHE_DIR": str(library / "tiktoken")}
    result = CliRunner().invoke(app, ["remove", "nhse-2020-network-contract-des.pdf"], env=env)
    assert result.exit_code == 0, result.output
    assert "Removed: nhse-2020-network-contract-des.pdf" in result.output
    assert not (library / "knowledge" / "nhse-2020-network-contract-des.pdf").exists()
    assistant = Assistant.from_settings(make_settings(library))
    answer = assistant.ask(QUESTION)
    assert answer.refused and "2013 to 2018" in answer.text and "2019" in answer.text
    assert all(p.chunk.title != TITLE for p in answer.passages)
    assert assistant.ingest().added == []  # the file is gone, so the next ingest does not bring it back


def test_removing_a_file_that_is_not_indexed_says_which_are_and_changes_nothing(library):
    assistant = Assistant.from_settings(make_settings(library))
    before = assistant.status()["chunks"]
    with pytest.raises(KnowledgeError, match="not an indexed document.*nhse-2020-network-contract-des.pdf"):
        assistant.remove("no-such-file.pdf")
    assert assistant.status()["chunks"] == before


def test_a_remove_whose_commit_fails_puts_the_file_back_and_the_document_keeps_answering(library, monkeypatch):
    from assistant.search.store import Records

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Records, "commit", broken)
    assistant = Assistant.from_settings(make_settings(library))
    with pytest.raises(OSError):
        assistant.remove("nhse-2020-network-contract-des.pdf")
    monkeypatch.undo()
    assert (library / "knowledge" / "nhse-2020-network-contract-des.pdf").exists()
    assert not Assistant.from_settings(make_settings(library)).ask(QUESTION).refused


def test_a_reader_box_line_is_never_quoted_in_an_answer(index_dir, tmp_path):
    base = tmp_path / "ix"
    shutil.copytree(index_dir, base)
    box = fixture("nhse-2014-reader-box-excerpt.txt")
    # The real reader box of NHS England's Commissioning Intentions 2015/16; the body is written for this test.
    text = (f"Commissioning Intentions 2015/16 for Prescribed Specialised Services\n<<<page>>>\n{box}\n<<<page>>>\n"
            "## Executive summary\nCommissioners will use these intentions to shape the contracts they agree for "
            "2015/16 with providers of specialised services.\n## Purpose\nThe document tells providers how "
            "specialised services will be commissioned in the coming year.")
    write_paged_pdf(base / "knowledge" / "intentions.pdf", text, header=lambda n: "Commissioning Intentions",
                    footer=lambda n: str(n))
    assistant = Assistant.from_settings(make_settings(base))
    assistant.ingest()
    fields = re.compile(r"READER BOX|Gateway|Target Audience|Circulation|controlled document|Document Status", re.I)
    for question in ("What is the target audience and document purpose of the commissioning intentions?",
                     "Who are the contact details for further information on specialised commissioning?",
                     "What will commissioners use the commissioning intentions for in 2015/16?"):
        answer = assistant.ask(question)
        assert not [c.quote for c in answer.citations if fields.search(c.quote)], answer.text
        assert not [p.chunk.section for p in answer.passages if fields.search(p.chunk.section)]


def test_the_library_tab_lists_only_local_documents_for_removal_and_removes_them(library):
    import gradio as gr

    from ui import render
    from ui.handlers import Library

    assistant = Assistant.from_settings(make_settings(library))
    sources = render.sources_html([assistant.ask(QUESTION).to_json()])
    assert "added locally on 2026-12-01" in sources and "page 5" in sources
    from types import SimpleNamespace

    from ui.access import Access

    tab = Library(assistant, Access(make_settings(library, allow_local_changes=True)))
    here = SimpleNamespace(username=None, client=SimpleNamespace(host="127.0.0.1"))  # a request from this machine
    assert tab.removable() == ["nhse-2020-network-contract-des.pdf"]
    rows = {r[4]: r[5] for r in tab.library_rows()}
    assert rows["nhse-2020-network-contract-des.pdf"] == "added locally 2026-12-01"
    assert rows["nuffield-2016-is-bigger-better-large-scale-general-practice.txt"] == "published library"
    with pytest.raises(gr.Error, match="not a document added here"):
        tab.remove_document("nuffield-2016-is-bigger-better-large-scale-general-practice.txt", here)
    with pytest.raises(gr.Error, match="cannot remove documents"):  # from another computer, without a login
        tab.remove_document("nhse-2020-network-contract-des.pdf", SimpleNamespace(username=None, client=SimpleNamespace(
            host="192.0.2.7")))
    message, rows_after, status, _ = tab.remove_document("nhse-2020-network-contract-des.pdf", here)
    assert "Removed" in message and len(rows_after) == 5 and "(2013 to 2018)" in status
    assert tab.removable() == []
