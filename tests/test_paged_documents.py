"""Documents a commissioner adds, cleaned as a whole: real NHS England texts laid out as PDFs by fpdf2 (running
headers, footers, page numbers, a paragraph over a page break), page-numbered text, a reader box, Markdown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.ingest.chunking import Chunker
from assistant.ingest.indexing import document_blocks, document_chunks
from assistant.ingest.loading import load_file
from docmaker import fixture, write_paged_pdf

DES = fixture("nhse-2020-network-contract-des-excerpt.txt")
DES_HEADINGS = {"Equalities and health inequalities statement", "1. Introduction"}
# The publisher's running header and footer, and a browser's print header and footer ('{nb}': number of pages).
PUBLISHER = dict(header=lambda n: "Network Contract DES specification 2020/21", footer=lambda n: f"Page {n} of {{nb}}")
BROWSER = dict(header=lambda n: "12/1/26, 4:11 AM   Network Contract DES specification",
               footer=lambda n: f"file:///home/user/Downloads/des-2020-21.html {n}/{{nb}}", plain_first_page=False)
FURNITURE = re.compile(r"Page \d+ of|file:///|4:11 AM|\b\d/\d\b|DES specification 2020/21|Publishing approval|"
                       r"Version number|Prepared by|alternative formats|\.{5}")


def _chunks(path: Path):
    return document_chunks(load_file(path), Chunker(lambda t: len(t.split()), 180, 40, 60))


@pytest.fixture(params=["publisher", "browser"])
def des_pdf(request, tmp_path) -> Path:
    """The DES excerpt printed on small pages with the publisher's or a browser's running header and footer."""
    layout = PUBLISHER if request.param == "publisher" else BROWSER
    return write_paged_pdf(tmp_path / f"des-{request.param}.pdf", DES, **layout)


def test_a_printed_pdf_keeps_no_header_footer_or_page_number_text_in_any_passage(des_pdf):
    chunks = _chunks(des_pdf)
    assert chunks and not [c.text for c in chunks if FURNITURE.search(c.text)]


def test_every_passage_of_a_printed_pdf_sits_under_one_of_its_real_headings(des_pdf):
    assert {c.section for c in _chunks(des_pdf)} == DES_HEADINGS


def test_a_paragraph_running_over_a_page_break_is_one_sentence_with_its_first_page_and_page_range(des_pdf):
    chunks = _chunks(des_pdf)
    pages = load_file(des_pdf).pages
    assert "eliminate\n" in pages[1] + "\n" and pages[2].lstrip().split("\n")[1].startswith("discrimination")
    crossing = [c for c in chunks if "need to eliminate discrimination, harassment and victimisation" in c.text]
    assert len(crossing) == 1 and crossing[0].page == 2 and crossing[0].pages == "2-3"


def test_page_numbers_of_passages_match_the_printed_ones(des_pdf):
    (intro,) = [c for c in _chunks(des_pdf) if "with effect from 1 July 2019" in c.text]
    assert "Page 5 of 5" in load_file(des_pdf).pages[4] or "5/5" in load_file(des_pdf).pages[4]
    assert intro.page == 5 and intro.section == "1. Introduction"


def test_front_matter_becomes_metadata_not_passages(des_pdf):
    meta, blocks = document_blocks(load_file(des_pdf))
    facts = dict(meta.facts)
    assert meta.title.startswith("Network Contract Directed Enhanced Service Contract specification 2020/21")
    assert (meta.publisher, meta.year) == ("NHS England and NHS Improvement", 2020)
    assert facts["Publishing approval number"] == "001681" and facts["First published"] == "31 March 2020"
    assert not [b.text for b in blocks if "Contents" in b.text or "March 2020" in b.text]


def test_a_metadata_entry_outranks_what_the_front_matter_says(tmp_path):
    path = write_paged_pdf(tmp_path / "des.pdf", DES, **PUBLISHER)
    meta, _ = document_blocks(load_file(path, {"title": "DES 2020/21", "publisher": "NHS England", "year": 2021}))
    assert (meta.title, meta.publisher, meta.year) == ("DES 2020/21", "NHS England", 2021)


def test_a_pdfs_own_title_property_names_it_when_there_is_no_entry(tmp_path):
    path = write_paged_pdf(tmp_path / "des.pdf", DES, title="Network Contract DES: contract specification 2020/21",
                           **PUBLISHER)
    assert load_file(path).meta.title == "Network Contract DES: contract specification 2020/21"


def test_page_numbered_text_gets_the_printed_page_numbers(tmp_path):
    paras = [p.strip() for p in DES.split("<<<page>>>")[-1].split("\n\n")]  # the heading, then 1.1 to 1.4
    head = "Network Contract DES specification 2020/21"
    text = "\n".join([head, paras[0][3:], "", paras[1], "", paras[2], "Page 3 of 4",
                      head, paras[3], "", paras[4], "Page 4 of 4"])
    path = tmp_path / "des.txt"
    path.write_text(text, encoding="utf-8")
    assert not [c.text for c in _chunks(path) if FURNITURE.search(c.text)]
    _, blocks = document_blocks(load_file(path))
    (first,) = [b for b in blocks if "with effect from 1 July 2019" in b.text]
    (last,) = [b for b in blocks if "Investment and Evolution" in b.text]
    assert (first.page, last.page) == (3, 4) and first.section == last.section == "1. Introduction"
    (passage,) = [c for c in _chunks(path) if "Investment and Evolution" in c.text]
    assert passage.page == 4 or passage.pages.endswith("-4")  # its first page, and the page range it runs to


def test_a_reader_box_is_kept_out_of_sections_and_passages_and_its_facts_are_kept(tmp_path):
    box = fixture("nhse-2014-reader-box-excerpt.txt")
    # Real reader box and contents entries; the two body paragraphs are written for this test.
    text = ("Commissioning Intentions 2015/16 for Prescribed Specialised Services\n<<<page>>>\n" + box
            + "\n<<<page>>>\nContents\nExecutive summary ..................... 3\nPurpose ..................... 3\n"
            "<<<page>>>\n## Executive summary\nCommissioners will use these intentions to shape contracts for "
            "2015/16 with providers of specialised services.\n## Purpose\nThe document tells providers how "
            "specialised services will be commissioned in the coming year.")
    path = write_paged_pdf(tmp_path / "intentions.pdf", text, header=lambda n: "Commissioning Intentions 2015/16",
                           footer=lambda n: str(n))
    meta, blocks = document_blocks(load_file(path))
    assert {b.section for b in blocks} == {"Executive summary", "Purpose"}
    fields = re.compile(r"READER BOX|Gateway|Target Audience|Circulation|controlled document|Skipton|Directorate", re.I)
    assert not [b.text for b in blocks if fields.search(b.text)]
    assert (meta.publisher, meta.year) == ("NHS England", 2014)


def test_markdown_and_numbered_headings_name_the_sections_of_plain_text(tmp_path):
    path = tmp_path / "riverside.md"
    path.write_text("# Riverside GP Federation\n\n## About the federation\n\nRiverside GP Federation brings together "
                    "twelve practices. It was formed as a company limited by guarantee.\n\n3.2 Managing conflicts\n\n"
                    "Board members declare their interests at every meeting. The register is published.\n")
    sections = [(c.section, c.text) for c in _chunks(path)]
    assert {s for s, _ in sections} <= {"About the federation", "3.2 Managing conflicts"}
    assert not [t for _, t in sections if "About the federation: About the federation" in t or t.startswith("#")]
    assert "3.2 Managing conflicts" in {s for s, _ in sections}


def test_a_reader_box_in_plain_text_is_kept_out_and_gives_the_publisher(tmp_path):
    path = tmp_path / "intentions.txt"
    path.write_text("Commissioning Intentions 2015/16 for Prescribed Specialised Services\n\n"
                    + fixture("nhse-2014-reader-box-excerpt.txt")
                    + "\n\nExecutive summary\n\nCommissioners will use these intentions to shape the contracts they "
                    "agree for 2015/16 with providers of specialised services.\n", encoding="utf-8")
    meta, blocks = document_blocks(load_file(path))
    assert [b.section for b in blocks] == ["Executive summary"] and blocks[0].text.startswith("Commissioners will")
    assert meta.publisher == "NHS England" and meta.year == 2014


def test_a_heading_wrapped_over_a_page_break_is_whole_and_names_the_text_after_it(tmp_path):
    text = ("## Registers of interests\nNetworks should keep a register of the interests of every board member and "
            "publish it at least once a year.\n<<<fill>>>\n## Declaring interests when the network bids for new "
            "services\nWhen the network bids to provide a service, members with an interest leave the room.")
    path = write_paged_pdf(tmp_path / "guide.pdf", text, header=lambda n: "Managing conflicts: a guide",
                           footer=lambda n: str(n), plain_first_page=False)
    pages = load_file(path).pages
    assert "Declaring interests when the network\n" in pages[0] and "bids for new services" in pages[1]
    _, blocks = document_blocks(load_file(path))
    assert [(b.section, b.page) for b in blocks] == [("Registers of interests", 1),
                                                     ("Declaring interests when the network bids for new services", 2)]
