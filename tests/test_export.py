"""Export of answers, briefing notes and workshop packs to Markdown and DOCX, on hand-made objects."""

from datetime import date

import docx
import pytest

from assistant.collection import Collection
from assistant.documents.briefing import BriefingNote, Section
from assistant.errors import InputError
from assistant.documents.export import to_docx, to_markdown, write
from assistant.schema import Answer, Chunk, Citation, Passage
from assistant.documents.workshop import CardFact, CaseCard, QuizItem, WorkshopPack

DAY = date(2024, 3, 5)
# The library the documents were written from: five documents of 2013-2018, one of them added locally.
LIBRARY = Collection.from_records([{"filename": f"r{k}.txt", "title": f"R{k}", "year": y}
                                   for k, y in enumerate((2013, 2013, 2013, 2016, 2018))])


def _cite(n: int, title: str, quote: str, page=None, section="Governance") -> Citation:
    chunk = Chunk(f"chunk{n}", f"doc{n}", title, 2013 + n, section, page, f"Intro. {quote} More.", "", "Nuffield Trust")
    return Citation(n, Passage(n, chunk, 1.0), quote)


REFS = (_cite(1, "Report One", "Boards answer to member practices.", 12),
        _cite(2, "Report Two", "Conflicts are declared at every meeting.", None, ""))


def _note(refs=REFS) -> BriefingNote:
    sections = (Section("Purpose", "To brief commissioners."),
                Section("Key points", "- Boards answer to members [1].\n- Conflicts are declared [2].", refs))
    return BriefingNote("Briefing note: governance", sections, refs, ("Reports differ on X: 17 [1]; 18 [2].",),
                        "governance", "offline", DAY, LIBRARY)


def _pack() -> WorkshopPack:
    card = CaseCard("Suffolk GP Federation", (CardFact("Legal form", "Community interest company", 1),),
                    "It grew [2].", "Evaluation underway [1].")
    return WorkshopPack("Workshop pack: Suffolk GP Federation", "Suffolk GP Federation", card,
                        ("Boards answer to members [1]. How would you do it?",),
                        (QuizItem("What legal form did it take?", "Community interest company [1]"),),
                        "Key messages: conflicts are declared [2].", REFS, (), "offline", DAY)


def test_markdown_of_a_note_has_title_date_note_sections_and_numbered_references():
    md = to_markdown(_note())
    lines = md.splitlines()
    assert lines[0] == "# Briefing note: governance"
    assert "Prepared 5 March 2024" in md and "2013 to 2018" in md and "integrated care boards (ICBs)" in md
    assert "from its library of five documents (2013 to 2018)" in md
    assert md.index("## Warnings") < md.index("## Purpose") < md.index("## Key points") < md.index("## References")
    refs = [ln for ln in lines if ln[:3] in ("1. ", "2. ")]
    assert refs[0].startswith("1. Report One (Nuffield Trust, 2014), section “Governance”, p. 12. Quote: “Boards")
    assert refs[1].startswith("2. Report Two (Nuffield Trust, 2015). Quote: “Conflicts") and "chunk2" not in refs[1]


def test_markdown_of_a_pack_orders_the_trainers_parts():
    md = to_markdown(_pack())
    order = ["## Case-study card", "- Legal form: Community interest company [1]", "What it did: It grew [2].",
             "## Discussion questions", "1. Boards answer", "## Quiz", "Q1. What legal form", "## Quiz answers",
             "A1. Community interest company [1]", "## Facilitator's note", "## References"]
    assert [md.index(x) for x in order] == sorted(md.index(x) for x in order)


def test_markdown_of_an_answer_lists_its_sources_in_number_order():
    answer = Answer("How are boards held to account?", "Boards answer [1]. Conflicts [2].", citations=REFS[::-1],
                    answerer="offline", notices=("Personal data was removed.",))
    md = to_markdown(answer, today=DAY)
    assert md.startswith("# How are boards held to account?")
    assert md.index("1. Report One") < md.index("2. Report Two") and "Personal data was removed." in md


def test_docx_has_headings_paragraphs_and_references_as_a_numbered_list(tmp_path):
    path = to_docx(_note(), tmp_path / "out" / "note.docx")
    document = docx.Document(str(path))
    styles = [(p.style.name, p.text) for p in document.paragraphs]
    assert styles[0] == ("Title", "Briefing note: governance")
    assert any("5 March 2024" in t for _, t in styles) and any("CCGs" in t and "ICBs" in t for _, t in styles)
    headings = [t for s, t in styles if s == "Heading 1"]
    assert headings == ["Warnings", "Purpose", "Key points", "References"]
    bullets = [t for s, t in styles if s == "List Bullet"]
    assert "Boards answer to members [1]." in bullets and "Conflicts are declared [2]." in bullets
    numbered = [t for s, t in styles if s == "List Number"]
    assert len(numbered) == 2 and numbered[0].startswith("Report One") and numbered[1].startswith("Report Two")
    assert styles[-2:] == [("List Number", numbered[0]), ("List Number", numbered[1])]  # the only numbered list
    assert document.core_properties.title == "Briefing note: governance"


def test_docx_of_a_pack_and_of_an_answer(tmp_path):
    pack = docx.Document(str(to_docx(_pack(), tmp_path / "pack.docx")))
    texts = [p.text for p in pack.paragraphs]
    assert "A1. Community interest company [1]" in texts
    card = [[c.text for c in row.cells] for row in pack.tables[0].rows]
    assert ["Legal form", "Community interest company [1]"] in card and ["What it did", "It grew [2]."] in card
    answer = Answer("Q?", "Boards answer [1].", citations=REFS[:1])
    doc = docx.Document(str(to_docx(answer, tmp_path / "answer.docx", today=DAY)))
    assert [p.text[:10] for p in doc.paragraphs if p.style.name == "List Number"] == ["Report One"]


def test_write_chooses_the_format_from_the_suffix_and_rejects_others(tmp_path):
    assert write(_note(), tmp_path / "n.md").read_text(encoding="utf-8").startswith("# Briefing note")
    assert write(_note(), tmp_path / "n.docx").stat().st_size > 0
    with pytest.raises(InputError, match=".md or .docx"):
        write(_note(), tmp_path / "n.pdf")


def test_references_that_do_not_run_from_one_are_refused():
    gap = (REFS[0], Citation(3, REFS[1].passage, REFS[1].quote))
    with pytest.raises(InputError, match="numbered"):
        to_markdown(_note(gap))
    with pytest.raises(InputError, match="Cannot export"):
        to_markdown("plain text")


def test_docx_is_board_ready_a4_header_page_numbers_references_without_ids_card_table(tmp_path):
    fused = _cite(3, "Report Three", "The college supported practices RCGP.1 In this project 17 practices joined.")
    refs = REFS + (fused,)
    sections = (Section("Key points", "Boards answer [1]. The college supported practices RCGP.1 In this project "
                                      "17 practices joined in 2016.3 [3]", refs),)
    library = Collection.from_records([{"filename": "a.txt", "year": 2013}, {"filename": "b.txt", "year": 2018}])
    note = BriefingNote("Briefing note: boards", sections, refs, (), "boards", "offline", DAY, library=library)
    document = docx.Document(str(to_docx(note, tmp_path / "board.docx")))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4, not US Letter
    assert round(section.left_margin.mm) == 20
    assert section.header.paragraphs[0].text == "Briefing note: boards · 5 March 2024"
    footer = section.footer._element.xml
    assert "<w:instrText" in footer and " PAGE " in footer and " NUMPAGES " in footer
    assert section.footer.paragraphs[0].text.startswith("Page ")
    body = [p.text for p in document.paragraphs]
    # Footnote digits go; figures (17, 2016) stay.
    assert "Boards answer [1]. The college supported practices RCGP. In this project 17 practices joined in 2016.3 [3]" in body
    numbered = [p.text for p in document.paragraphs if p.style.name == "List Number"]
    assert len(numbered) == 3 and not any("passage" in r or "chunk" in r for r in numbered)
    assert numbered[2] == ("Report Three (Nuffield Trust, 2016), section “Governance”. "
                           "Quote: “The college supported practices RCGP. In this project 17 practices joined.”")
    note_para = next(p for p in document.paragraphs if p.text.startswith("Note: The documents date from 2013 to 2018"))
    assert 'w:fill="E8F1FA"' in note_para._p.xml and "<w:pBdr>" in note_para._p.xml  # the currency note is a callout
    pack = docx.Document(str(to_docx(_pack(), tmp_path / "pack.docx")))
    assert len(pack.tables) == 1 and pack.tables[0].rows[0].cells[0].text == "Organisation"
    assert pack.sections[0].header.paragraphs[0].text.startswith("Workshop pack: Suffolk GP Federation · ")
