"""Cleaning repairs PDF-extraction artefacts and yields paragraphs with their heading, page and case study."""

from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path

import pytest

from assistant.ingest.cleaning import clean_text
from assistant.schema import Block

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
EVENT = "nuffield-2013-new-models-of-primary-care-practical-lessons.txt"
REPORT = "nuffield-kingsfund-2013-securing-the-future-of-general-practice.txt"
SLIDES = "nuffield-2013-securing-the-future-conclusions-slides.txt"
BIGGER = "nuffield-2016-is-bigger-better-large-scale-general-practice.txt"
LONDON = "hlp-2018-next-steps-strategic-commissioning-framework-london.txt"
ALL = [EVENT, REPORT, SLIDES, BIGGER, LONDON]


@lru_cache(maxsize=None)
def blocks_of(name: str) -> tuple[Block, ...]:
    return tuple(clean_text((KNOWLEDGE / name).read_text(encoding="utf-8")))


def flat(name: str) -> str:
    return " ".join(" ".join(b.text for b in blocks_of(name)).split())


def block_with(name: str, phrase: str) -> Block:
    return next(b for b in blocks_of(name) if phrase in " ".join(b.text.split()))


# --- synthetic inputs -------------------------------------------------------------------------------------------


def test_line_end_hyphenation_is_joined_and_real_compounds_keep_their_hyphen():
    text = ("The federation improved its organisa-\ntion of care and set up peer-\nreview of referrals "
            "across the whole network of member practices.")
    [block] = clean_text(text)
    assert "organisation of care" in block.text
    assert "peer-review of referrals" in block.text


def test_wrapped_lines_are_reflowed_into_paragraphs():
    text = ("Governance of the federation\n"
            "Practices that join the federation keep their own contracts and\n"
            "their own lists, but share a board and a chief executive.\n"
            "\n"
            "The board meets monthly and reports to all member practices.\n")
    blocks = clean_text(text)
    assert blocks[0].section == "Governance of the federation"
    assert "contracts and their own lists, but share a board" in blocks[0].text
    assert "\n" not in blocks[0].text.split("The board")[0].strip()


def test_running_footer_and_page_number_lines_are_removed_and_the_page_is_kept():
    para = "Federations share back-office staff across practices and pool their purchasing of supplies. " * 3
    text = f"{para}\n\n3 Working at scale: a report\n\n{para}\n\n4 Working at scale: a report\n\n{para}\n\n12\n\n{para}"
    blocks = clean_text(text)
    assert all("Working at scale: a report" not in b.text for b in blocks)
    assert all(not re.search(r"(^|\n)\d+($|\n)", b.text) for b in blocks)
    assert [b.page for b in blocks] == [2, 3, 4, 12]


def test_lone_bullet_lines_are_removed_and_the_items_kept():
    text = ("Primary care fulfils a range of functions including:\n•\n•\n•\n\n"
            "prevention and screening\ndiagnosis\ntriage and onward referral.\n")
    [block] = clean_text(text)
    assert "•" not in block.text
    assert block.text.splitlines()[1:] == ["prevention and screening", "diagnosis", "triage and onward referral."]


def test_footnote_digits_glued_to_words_are_removed():
    [block] = clean_text("The super-partnership1 is already delivering services, said the Trust.1 It grew (2013)2.")
    assert block.text == "The super-partnership is already delivering services, said the Trust. It grew (2013)."


def test_ligatures_and_replacement_characters_are_repaired():
    [block] = clean_text("The \ufb01nancial risk was a \ufffdreat to the Quali\ufffded Provider and to its in\ufffduence.")
    assert block.text == "The financial risk was a threat to the Qualified Provider and to its influence."


def test_markdown_markup_is_stripped():
    text = ("**Our commitment**\n\n- We will give practices the *resources* they need.\n"
            "- See <https://www.healthylondon.org/> for details.\n\nForeword\t4\nGlossary\t52\n")
    blocks = clean_text(text)
    joined = "\n".join(b.text for b in blocks)
    assert "**" not in joined and "*" not in joined and "<" not in joined and "\t" not in joined
    assert "We will give practices the resources they need." in joined
    assert "https://www.healthylondon.org/" in joined
    assert "Glossary" not in joined and "Foreword" not in joined  # contents lines are dropped
    assert blocks[0].section == "Our commitment"


@pytest.mark.parametrize("raw", ["", " ", "\n\n\t\n", "\x00\x01\x1b", "•", "-", "**", "\ufffd", "19", "\f\f", "\ud800x"])
def test_empty_or_degenerate_input_gives_no_empty_blocks(raw):
    blocks = clean_text(raw)
    assert all(isinstance(b, Block) and b.text.strip() for b in blocks)
    assert clean_text("") == []


def test_random_garbage_and_very_long_lines_never_raise():
    rng = random.Random(7)
    pieces = ["\n", " ", "\n\n", " •", "- ", "Legal status ", "Appendix 1: Case studies", "The vital statistics:",
              "Box 1: X", "19", "Is bigger better? Lessons", "word.", "organisa-", "**b**", "\t3", "(", "\ufffd"]
    inputs = ["x" * 100_000, "word " * 20_000, "\n".join(str(i) for i in range(3000))]
    inputs += ["".join(chr(rng.choice([rng.randint(0, 0x2FFFF), rng.randint(32, 126), 10, 32, 0x2022, 0xFFFD, 12]))
                       for _ in range(rng.randint(0, 300))) for _ in range(150)]
    inputs += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 200))) for _ in range(150)]
    for raw in inputs:
        blocks = clean_text(raw)
        assert all(b.text.strip() for b in blocks)
        assert clean_text(raw) == blocks  # deterministic


# --- the five reports ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_every_report_gives_non_empty_blocks_with_non_decreasing_pages(name):
    blocks = blocks_of(name)
    assert len(blocks) > 8
    assert all(b.text.strip() and b.text == b.text.strip() for b in blocks)
    pages = [b.page for b in blocks if b.page is not None]
    assert pages == sorted(pages)


def test_real_hyphenation_and_reflow_keep_source_sentences_whole():
    assert "Many have clustered member practices into groups that work together to peer-review clinical care" \
        in flat(EVENT)
    assert ("General practice understands partnerships very well and so the concept of a local super-partnership "
            "was relatively easy to put forward") in flat(EVENT)
    assert "improve access to high-quality out-of-hours primary care services" in flat(REPORT)


def test_real_running_footers_are_removed_and_pages_recovered():
    assert "Is bigger better? Lessons for large-scale general practice" not in flat(BIGGER)
    assert "Securing the future of general practice: new models of primary care" not in flat(REPORT)
    assert block_with(BIGGER, "The case study sites routinely used quality improvement methods").page == 5
    assert block_with(BIGGER, "dilemma for CCGs about the acceptability of investing").page == 14  # runs over a footer
    assert block_with(REPORT, "This chapter explores the range of existing models").page == 19
    assert block_with(REPORT, "Successful health care organisations are able to ensure").page == 48
    assert block_with(REPORT, "ZIO is an umbrella organisation for all 89 GPs").page == 42  # "see page 42" in the text
    assert all(b.page is None for b in blocks_of(EVENT) + blocks_of(LONDON))  # no printed page numbers


def test_real_lone_bullets_are_gone_and_items_are_lines():
    assert "•" not in flat(REPORT) and "•" not in flat(BIGGER) and "\uf0b7" not in flat(EVENT)
    listing = block_with(REPORT, "Four organisational types showed greatest promise:").text.splitlines()
    assert listing[1:5] == ["networks or federations", "super-partnerships",
                            "regional and national multi-practice organisations", "community health organisations."]


def test_real_footnote_digits_are_removed():
    text = flat(EVENT)
    assert "The super-partnership is already delivering a range of specialist and diagnostic services" in text
    assert "the Suffolk Federation (another case study organisation" in text
    assert "super-partnership1" not in text and "Federation2" not in text


def test_broken_characters_of_the_2016_report_are_repaired():
    text = flat(BIGGER)
    assert "\ufffd" not in text
    assert "Threat from alternative GP contracts" in text
    assert "Any Qualified Provider contracts" in text
    assert "expand role and influence" in text


def test_markdown_of_the_2018_report_is_stripped():
    blocks = blocks_of(LONDON)
    assert not any("**" in b.text or "\t" in b.text or "<https" in b.text for b in blocks)
    assert not any(line.startswith("- ") for b in blocks for line in b.text.splitlines())
    assert not any("Table of contents" in b.text or "Section one" in b.text for b in blocks)
    assert "restore joy – by supporting our teams and improving their working lives." in flat(LONDON)
    assert "Dr Sunando Ghosh" in flat(LONDON)


@pytest.mark.parametrize(("name", "phrase", "section"), [
    (EVENT, "The case studies demonstrate some common characteristics", "Ingredients for change and sustainability"),
    (EVENT, "Participants described how difficult it is to find time", "Barriers to progress"),
    (REPORT, "There are examples in the NHS (although by no means widespread)",
     "Design principle 2: Using technology to enhance access"),
    (REPORT, "What Vitality and Nairn both demonstrate", "Sustained clinical and managerial leadership"),
    (BIGGER, "Relationships with commissioners and providers influenced", "Working with the local health economy"),
    (BIGGER, "Responses were received from 94 CCGs", "Survey findings: extent of collaboration and current activities"),
    (SLIDES, "Need a coherent national strategy for primary care", "Where next?"),
    (LONDON, "If organisations want their teams and patients to commit to collaboration", "Strategy"),
])
def test_headings_are_detected_and_carried_to_the_paragraphs_below(name, phrase, section):
    assert block_with(name, phrase).section == section


def test_captions_and_contents_lines_are_not_headings():
    sections = {b.section for name in ALL for b in blocks_of(name)}
    assert not any(s.startswith(("Figure", "Table", "Source")) for s in sections)
    assert not any("\t" in s or re.search(r"\s\d+$", s) for s in sections)


def test_suffolk_gp_federation_case_study_is_labelled_with_readable_facts():
    suffolk = [b for b in blocks_of(EVENT) if b.case_study == "Suffolk GP Federation"]
    text = "\n".join(b.text for b in suffolk)
    assert suffolk and all(b.section == "Appendix: Case studies" for b in suffolk)
    assert "Legal status: Community interest company." in text.splitlines()
    assert "Date established: April 2013." in text.splitlines()
    assert "Registered population: 539,000 combined." in text.splitlines()


def test_other_case_studies_are_labelled_where_they_are_described():
    assert block_with(EVENT, "Legal status: Network 2 formed as a company limited by shares.").case_study \
        == "Tower Hamlets Network 2"
    assert block_with(EVENT, "We now run 18 practices in ten London boroughs").case_study == "Hurley Group"
    assert block_with(EVENT, "established the Vitality Partnership in Birmingham in June 2009").case_study \
        == "Vitality Partnership"
    assert block_with(EVENT, "The case study organisations each had ambitions").case_study == ""
    assert block_with(REPORT, "The Hurley Group is a partnership of 17 practices").case_study == "Hurley Group"
    assert block_with(REPORT, "Vitality has had extensive facilitation support").case_study == "Vitality Partnership"
    assert block_with(BIGGER, "AT Medics Ltd: a multi-site provider").case_study == "AT Medics"
    assert block_with(LONDON, "now has over 35 sites, serving more than 300,000").case_study == "Modality Partnership"
    assert block_with(LONDON, "Happier GPs with less admin").case_study == "Modality Partnership"
    assert block_with(LONDON, "At scale has to be built with people").case_study == ""
