"""Workshop packs: case-study cards checked against the report text, cited questions and quiz, theme and LLM modes."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.answering.citations import marker_numbers

from assistant.errors import InputError
from evals.evidence import contains_evidence, normalise
from assistant.schema import Chunk, Passage
from assistant.pipeline import Assistant
from assistant.documents.workshop import build_workshop, table_rows
from conftest import KNOWLEDGE, make_settings
from fake_openai import Reply, running_fake_openai

BIN = Path(sys.executable).parent / "assistant"
EVENT_REPORT = KNOWLEDGE / "nuffield-2013-new-models-of-primary-care-practical-lessons.txt"
# Row labels as the PDF text of the event report's appendix prints them, and the card lines they fill.
ROWS = {"Legal status": "Legal form", "Date established": "Established", "Number of practices": "Practices",
        "Registered population": "Registered population"}


def appendix_facts(name: str) -> dict[str, str]:
    """The case study's table rows read straight from the report text: {'Legal form': 'Community interest company'}."""
    text = EVENT_REPORT.read_text(encoding="utf-8")
    block = text[text.index(f": {name}"):]
    block = block[:block.index("Identified benefits")]
    found = {}
    for row, card in ROWS.items():
        m = re.search(rf"^{row}\s+(.+?)\s*$", block, re.M)
        if m:
            found[card] = m.group(1).strip().rstrip(".")
    return found


def _cited_values_hold(pack):
    """Every [n] in the pack names a reference; each quiz answer is stated by the passage it cites."""
    refs = {c.n: c for c in pack.references}
    assert list(refs) == list(range(1, len(refs) + 1))
    for ref in pack.references:
        assert contains_evidence(ref.passage.chunk.text, ref.quote)
    for item in pack.quiz:
        numbers = [int(n) for n in re.findall(r"\[(\d+)\]", item.answer)]
        assert numbers, item
        # Multiple choice: the answer is the right option's letter and text ("(B) Partnership [3]").
        value = re.sub(r"^\([A-D]\)\s*", "", re.sub(r"\s*\[\d+\]", "", item.answer).strip())
        chunks = [refs[n].passage.chunk for n in numbers]
        assert any(contains_evidence(c.text, value) or value.startswith(c.title) or value in pack.card.organisation
                   for c in chunks), item


def test_table_rows_join_continuation_lines_and_name_the_model():
    text = ("Federation: Suffolk GP Federation\nLegal status: Community interest company.\n"
            "Service portfolio: Includes:\nDiabetes\nUltrasound\nNumber of practices: 60.")
    chunk = Chunk("c1", "d", "Report", 2013, "Appendix", None, text, "Suffolk GP Federation", "Pub")
    rows = {label: (value, quote) for label, value, quote in table_rows(Passage(1, chunk, 1.0))}
    assert rows["Model"][0] == "Federation" and rows["Legal form"][0] == "Community interest company"
    assert rows["Services"] == ("Diabetes; Ultrasound", "Service portfolio: Includes:\nDiabetes\nUltrasound")
    assert rows["Practices"][0] == "60"


@pytest.mark.slow
def test_cli_suffolk_pack_card_matches_the_event_report_appendix(index_dir):
    environ = {**os.environ, "ASSISTANT_DATA_DIR": str(index_dir / "data"),
               "ASSISTANT_KNOWLEDGE_DIR": str(index_dir / "knowledge")}
    out = subprocess.run([str(BIN), "workshop", "--case", "Suffolk GP Federation", "--answerer", "offline"],
                         capture_output=True, text=True, env=environ, timeout=180)
    assert out.returncode == 0, out.stderr
    card = dict(re.findall(r"^- ([A-Za-z ]+): (.+?) \[\d+\]$", out.stdout, re.M))
    expected = appendix_facts("Suffolk GP Federation")
    assert set(expected) == {"Legal form", "Established", "Practices", "Registered population"}
    for label, value in expected.items():
        assert normalise(card[label]) == normalise(value), label
    for part in ("## Case-study card", "## Discussion questions", "## Quiz", "## Quiz answers", "## Facilitator's note",
                 "## References"):
        assert part in out.stdout


@pytest.mark.slow
def test_suffolk_pack_items_are_all_cited(assistant):
    pack = build_workshop(assistant, case="Suffolk GP Federation", answerer="offline")
    assert pack.card.organisation == "Suffolk GP Federation"
    # Every statement is about Suffolk or general (issue #13: no other organisation's facts), so fewer than five
    # may be found: the reports hold only so many Suffolk statements on the five discussion themes.
    assert 3 <= len(pack.discussion) <= 5 and all(re.search(r"\[\d+\].*\?$", q) for q in pack.discussion)
    refs = {c.n: c for c in pack.references}
    assert {refs[n].passage.chunk.case_study for q in pack.discussion for n in marker_numbers(q)} <= {
        "", "Suffolk GP Federation"}
    assert 4 <= len(pack.quiz) <= 5
    assert re.search(r"\[\d+\]", pack.facilitator_note) and re.search(r"\[\d+\]", pack.card.did)
    facts = {f.label: f for f in pack.card.facts}
    source = {c.n: c for c in pack.references}[facts["Legal form"].n].passage.chunk
    assert source.case_study == "Suffolk GP Federation" and source.year == 2013
    _cited_values_hold(pack)


@pytest.mark.slow
def test_a_theme_pack_picks_a_case_study_and_quizzes_on_the_theme(assistant):
    pack = build_workshop(assistant, theme="conflicts of interest", answerer="offline")
    assert pack.card.facts and pack.card.fact("Legal form")
    # Multiple-choice questions need plausible options from other case studies: three to five of them.
    assert len(pack.discussion) == 5 and 3 <= len(pack.quiz) <= 5
    assert any("conflict" in q.lower() for q in pack.discussion)
    assert any("chosen" in w for w in pack.warnings)
    _cited_values_hold(pack)


@pytest.mark.slow
def test_packs_on_organisations_the_reports_disagree_about_warn(assistant):
    pack = build_workshop(assistant, case="Hurley Group", answerer="offline")
    assert any(w.startswith("Reports differ on Hurley Group") and "17" in w and "18" in w for w in pack.warnings)


@pytest.mark.slow
def test_unknown_case_and_missing_choice_are_clear_errors(assistant):
    with pytest.raises(InputError, match="Suffolk GP Federation"):
        build_workshop(assistant, case="Atlantis Health Federation")
    with pytest.raises(InputError, match="either"):
        build_workshop(assistant)
    with pytest.raises(InputError, match="either"):
        build_workshop(assistant, case="Hurley Group", theme="governance")


@pytest.mark.slow
def test_llm_pack_keeps_checked_items_and_drops_unsupported_ones(index_dir):
    reply = ("DISCUSSION\n"
             "1. Suffolk GP Federation was established in April 2013 as a community interest company [1]. "
             "How would you choose a legal form locally?\n"
             "2. Suffolk GP Federation employs five thousand surgeons on Mars [1]. Why?\n"
             "QUIZ\nQ: What legal form did Suffolk GP Federation take?\nA: Community interest company [1]\n"
             "Q: How many dentists work on the moon?\nA: Twelve thousand lunar dentists [1]\n"
             "NOTE\nThe Suffolk GP Federation registered population was 539,000 combined [1].")
    with running_fake_openai(default=Reply(reply)) as fake:
        llm = Assistant.from_settings(make_settings(index_dir, openai_api_key="x", openai_base_url=fake.url,
                                                    llm_max_retries=0, llm_timeout_s=10))
        pack = build_workshop(llm, case="Suffolk GP Federation", answerer="llm")
    prompt = fake.completions[-1].messages[-1]["content"]
    assert "Legal form: Community interest company [1]" in prompt and "DISCUSSION" in prompt
    assert pack.answerer.startswith("llm:")
    assert "community interest company" in pack.discussion[0] and pack.discussion[0].endswith("legal form locally?")
    # The model's checked item, then the offline statements about Suffolk (fewer than four may exist: issue #13).
    assert not any("Mars" in d for d in pack.discussion) and 4 <= len(pack.discussion) <= 5
    assert pack.quiz[0].question == "What legal form did Suffolk GP Federation take?"
    assert not any("lunar" in q.answer for q in pack.quiz)
    assert "539,000" in pack.facilitator_note
    _cited_values_hold(pack)


@pytest.mark.slow
def test_a_theme_packs_quiz_opens_on_the_theme_and_lists_cases_by_statements_on_it(assistant):
    from assistant.documents.selection import on_theme
    pack = build_workshop(assistant, theme="workforce and skill mix", answerer="offline")
    assert pack.related and all(on_theme("workforce and skill mix", line.split(": ", 1)[1]) for line in pack.related)
    assert pack.quiz[0].question.startswith("Which case study said this about workforce and skill mix")


@pytest.mark.slow
def test_a_case_pack_the_reports_say_little_about_says_so_and_warns_only_about_its_own_figures(assistant):
    pack = build_workshop(assistant, case="Midlands Health Network", answerer="offline")
    assert pack.warnings and pack.warnings[0].startswith("The reports say little about Midlands Health Network")
    assert not any("Tower Hamlets" in w for w in pack.warnings if w.startswith("Reports differ"))
    full = build_workshop(assistant, case="Hurley Group", answerer="offline")
    assert not any("say little" in w for w in full.warnings)
