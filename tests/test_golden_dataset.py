"""Checks on the golden evaluation dataset and the evidence-matching helper."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

from evals.evidence import best_overlap, contains_evidence, normalise

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "evals" / "datasets" / "golden.jsonl"
KNOWLEDGE = ROOT / "knowledge"

SLIDES = "nuffield-2013-securing-the-future-conclusions-slides.txt"
EVENT_REPORT = "nuffield-2013-new-models-of-primary-care-practical-lessons.txt"
REPORT_2013 = "nuffield-kingsfund-2013-securing-the-future-of-general-practice.txt"
BIGGER_BETTER = "nuffield-2016-is-bigger-better-large-scale-general-practice.txt"
LONDON_2018 = "hlp-2018-next-steps-strategic-commissioning-framework-london.txt"
SOURCES = (SLIDES, EVENT_REPORT, REPORT_2013, BIGGER_BETTER, LONDON_2018)

REQUIRED_FIELDS = ("id", "question", "history", "answer", "evidence", "source", "kind", "persona", "topic")
KINDS = {"factual", "synthesis", "followup", "out_of_scope", "near_miss", "two_part"}
# Kinds with no evidence quote: out_of_scope (not about the reports) and near_miss (about something the reports
# discuss, asking a fact they don't give).
NO_EVIDENCE_KINDS = {"out_of_scope", "near_miss"}
PERSONAS = {"gp", "commissioner", "trainer"}
TOPICS = {
    "forming_federation", "governance", "conflicts_of_interest", "case_studies", "workforce",
    "quality", "finance", "commissioning", "technology", "out_of_scope",
}
KIND_MINIMUMS = {"factual": 60, "synthesis": 12, "followup": 12, "out_of_scope": 22, "near_miss": 16, "two_part": 10}
HOLDOUT_KIND_MINIMUMS = {"near_miss": 6, "two_part": 5}
FACTUAL_MINIMUMS = {SLIDES: 6, EVENT_REPORT: 12, REPORT_2013: 12, BIGGER_BETTER: 12, LONDON_2018: 12}


@lru_cache(maxsize=None)
def _records() -> tuple[dict, ...]:
    """Parse every non-blank line of the dataset."""
    lines = DATASET.read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


@lru_cache(maxsize=None)
def _source_text(name: str) -> str:
    """Raw text of one knowledge file."""
    return (KNOWLEDGE / name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _knowledge_texts() -> tuple[str, ...]:
    """Every knowledge file read whole and normalised (lower case, whitespace collapsed, line-end hyphens joined)."""
    return tuple(normalise(p.read_text(encoding="utf-8")) for p in sorted(KNOWLEDGE.glob("*.txt")))


def _with_evidence() -> list[dict]:
    return [r for r in _records() if r["kind"] not in NO_EVIDENCE_KINDS]


# --------------------------------------------------------------------------- dataset shape


def test_every_line_parses_as_a_json_object():
    for n, line in enumerate(DATASET.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"blank line {n}"
        assert isinstance(json.loads(line), dict), f"line {n} is not an object"


def test_every_record_has_all_required_fields_with_string_values():
    for r in _records():
        missing = [f for f in REQUIRED_FIELDS if f not in r]
        assert not missing, f"{r.get('id')}: missing {missing}"
        for f in REQUIRED_FIELDS:
            if f != "history":
                assert isinstance(r[f], str), f"{r['id']}: {f} must be a string"
        assert r["question"].strip() and r["answer"].strip(), r["id"]
        assert isinstance(r["history"], list), r["id"]


def test_kind_persona_and_topic_use_valid_values():
    for r in _records():
        assert r["kind"] in KINDS, r["id"]
        assert r["persona"] in PERSONAS, r["id"]
        assert r["topic"] in TOPICS, r["id"]
        assert (r["topic"] == "out_of_scope") == (r["kind"] == "out_of_scope"), r["id"]


def test_ids_are_unique_and_well_formed():
    ids = [r["id"] for r in _records()]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("q") and i[1:].isdigit() for i in ids)


def test_questions_are_unique():
    questions = [normalise(r["question"]) for r in _records()]
    assert len(questions) == len(set(questions))


def test_dataset_has_at_least_100_questions():
    assert len(_records()) >= 100


def test_each_kind_meets_its_minimum_count():
    counts = Counter(r["kind"] for r in _records())
    for kind, minimum in KIND_MINIMUMS.items():
        assert counts[kind] >= minimum, f"{kind}: {counts[kind]} < {minimum}"


def test_factual_questions_are_spread_across_all_five_reports():
    counts = Counter(r["source"] for r in _records() if r["kind"] == "factual")
    for source, minimum in FACTUAL_MINIMUMS.items():
        assert counts[source] >= minimum, f"{source}: {counts[source]} < {minimum}"


def test_every_knowledge_file_is_used_as_a_source():
    used = {r["source"] for r in _records()} | {r.get("source_2", "") for r in _records()}
    assert set(SOURCES) <= used
    assert {p.name for p in KNOWLEDGE.glob("*.txt")} == set(SOURCES)


def test_sources_name_existing_knowledge_files():
    metadata = json.loads((KNOWLEDGE / "metadata.json").read_text(encoding="utf-8"))
    for r in _with_evidence():
        assert r["source"] in metadata and (KNOWLEDGE / r["source"]).is_file(), r["id"]
        if "source_2" in r:
            assert r["source_2"] in metadata and (KNOWLEDGE / r["source_2"]).is_file(), r["id"]


def test_personas_and_topics_are_all_represented():
    assert {r["persona"] for r in _records()} == PERSONAS
    assert {r["topic"] for r in _records()} == TOPICS


# --------------------------------------------------------------------------- evidence


@pytest.mark.parametrize("record", _with_evidence(), ids=lambda r: r["id"])
def test_evidence_quote_occurs_in_its_source_file(record):
    assert record["evidence"].strip(), "in-scope items need evidence"
    assert contains_evidence(_source_text(record["source"]), record["evidence"])


@pytest.mark.parametrize("record", [r for r in _records() if "evidence_2" in r or "source_2" in r],
                         ids=lambda r: r["id"])
def test_second_evidence_quote_occurs_in_its_second_source_file(record):
    assert record.get("evidence_2", "").strip() and record.get("source_2", "").strip()
    assert contains_evidence(_source_text(record["source_2"]), record["evidence_2"])


def test_evidence_quotes_are_between_8_and_40_words():
    for r in _with_evidence():
        for key in ("evidence", "evidence_2"):
            if key in r:
                assert 8 <= len(r[key].split()) <= 40, f"{r['id']} {key}"


def test_out_of_scope_items_have_empty_evidence_and_source():
    for r in _records():
        if r["kind"] == "out_of_scope":
            assert r["evidence"] == "" and r["source"] == "", r["id"]
            assert "evidence_2" not in r and "source_2" not in r, r["id"]
            assert r["history"] == [], r["id"]


def test_synthesis_items_cite_two_different_reports():
    for r in _records():
        if r["kind"] == "synthesis":
            assert r.get("source_2") and r["source_2"] != r["source"], r["id"]


def test_synthesis_covers_the_known_disagreements_between_reports():
    answers = [r["answer"] for r in _records() if r["kind"] == "synthesis"]
    assert any("18" in a and "17" in a and "Hurley" in a for a in answers), "Hurley 18 vs 17"
    assert any("2008" in a and "2006" in a and "Tower Hamlets" in a for a in answers), "Tower Hamlets 2008 vs 2006"
    assert any("51,000" in a and ("87,556" in a or "300,000" in a) for a in answers), "Vitality/Modality size"


def test_conflicts_of_interest_bidding_item_uses_the_event_report_passage():
    matches = [
        r for r in _records()
        if r["kind"] == "factual"
        and r["source"] == EVENT_REPORT
        and "explicit local policies to manage conflicts of interest" in normalise(r["evidence"])
    ]
    assert matches, "missing the must-have conflicts-of-interest bidding question"


# --------------------------------------------------------------------------- history


def test_followups_and_other_rows_with_history_have_a_previous_user_question_and_assistant_answer():
    for r in (*_records(), *_holdout()):
        if r["kind"] == "followup" or r["history"]:
            history = r["history"]
            assert len(history) >= 2, r["id"]
            assert history[0]["role"] == "user" and history[-1]["role"] == "assistant", r["id"]
            for turn in history:
                assert set(turn) == {"role", "content"}, r["id"]
                assert turn["role"] in {"user", "assistant"} and turn["content"].strip(), r["id"]


def test_only_followups_and_near_misses_carry_history():
    for r in _records():
        if r["kind"] not in {"followup", "near_miss"}:
            assert r["history"] == [], r["id"]


# --------------------------------------------------------------------------- contains_evidence


def test_contains_evidence_tolerates_reflowed_text():
    text = "The case study\norganisations actively   managed this\n\nwith commissioning colleagues."
    assert contains_evidence(text, "The case study organisations actively managed this with commissioning colleagues.")


def test_contains_evidence_joins_line_end_hyphenation():
    assert contains_evidence("practices into groups that work together to peer-\nreview clinical care",
                             "work together to peer-review clinical care")
    assert contains_evidence("the new organisa-\n  tion was formed", "the new organisation was formed")


def test_contains_evidence_tolerates_hyphens_lost_or_kept_in_cleaned_text():
    assert contains_evidence("improve access to high-quality out-ofhours primary care", "out-of-hours primary care")
    assert contains_evidence("work together to peerreview clinical care", "to peer-review clinical care")
    assert contains_evidence("work together to peer-review clinical care", "to peer-\nreview clinical care")


def test_contains_evidence_ignores_case():
    assert contains_evidence("STATUS QUO IS NOT AN OPTION", "Status quo is not an option")


def test_contains_evidence_ignores_bullets_markup_and_curly_quotes():
    text = "- **restore joy** – by supporting our teams\n• an internal \u2018turnaround team\u2019 to ensure"
    assert contains_evidence(text, "restore joy - by supporting our teams an internal 'turnaround team' to ensure")


def test_contains_evidence_rejects_a_quote_that_is_not_there():
    text = _source_text(EVENT_REPORT)
    assert not contains_evidence(text, "The Hurley Group now runs 25 practices across Manchester.")
    assert not contains_evidence(text, "")


def test_contains_evidence_rejects_reordered_words():
    assert not contains_evidence("status quo is not an option", "status quo is an option not")


# --------------------------------------------------------------------------- normalise / best_overlap


def test_normalise_lowercases_joins_hyphens_and_collapses_space():
    assert normalise("  Organisa-\n tion  OF\n\nPractices ( big ) , ok \u00ad") == "organisation of practices (big), ok"


def test_best_overlap_is_one_for_a_present_quote_and_zero_for_an_absent_one():
    text = "Networked and federated practices had to manage the tensions"
    assert best_overlap(text, "federated practices had to manage") == 1.0
    assert best_overlap(text, "zebra giraffe hippo") == 0.0
    assert best_overlap(text, "") == 0.0


def test_best_overlap_gives_partial_credit_in_order_or_at_all():
    text = "the cat sat on the mat"
    assert best_overlap(text, "the dog sat on the mat") == pytest.approx(5 / 6)
    assert best_overlap("mat the on sat cat", "cat sat on mat") == pytest.approx(1 / 4)
    assert best_overlap("mat the on sat cat", "cat sat on mat", ordered=False) == 1.0


# --------------------------------------------------------------------------- held-out set

HOLDOUT = ROOT / "evals" / "datasets" / "holdout.jsonl"


@lru_cache(maxsize=None)
def _holdout() -> tuple[dict, ...]:
    return tuple(json.loads(line) for line in HOLDOUT.read_text(encoding="utf-8").splitlines() if line.strip())


@pytest.mark.parametrize("record", [r for r in _holdout() if r["kind"] != "out_of_scope"], ids=lambda r: r["id"])
def test_holdout_evidence_quotes_occur_in_their_source_files(record):
    for quote, source in ((record["evidence"], record["source"]), (record.get("evidence_2"), record.get("source_2"))):
        if quote or source:
            assert quote and source and contains_evidence(_source_text(source), quote), record["id"]


def test_holdout_shares_no_question_or_evidence_with_golden():
    golden_questions = {normalise(r["question"]) for r in _records()}
    golden_quotes = [normalise(r[k]) for r in _records() for k in ("evidence", "evidence_2") if r.get(k)]
    for r in _holdout():
        assert set(r) >= set(REQUIRED_FIELDS) and r["kind"] in KINDS and r["persona"] in PERSONAS
        assert normalise(r["question"]) not in golden_questions, r["id"]
        for key in ("evidence", "evidence_2"):
            quote = normalise(r.get(key) or "")
            assert not quote or not any(quote in g or g in quote for g in golden_quotes), f"{r['id']} {key}"
    assert {r["kind"] for r in _holdout()} == KINDS
    assert {r["source"] for r in _holdout() if r["source"]} == set(SOURCES)


def test_holdout_meets_the_minimum_count_of_each_new_kind():
    counts = Counter(r["kind"] for r in _holdout())
    for kind, minimum in HOLDOUT_KIND_MINIMUMS.items():
        assert counts[kind] >= minimum, f"{kind}: {counts[kind]} < {minimum}"


# --------------------------------------------------------------------------- near misses and two-part questions


def _of_kind(kind: str) -> list[dict]:
    return [r for r in (*_records(), *_holdout()) if r["kind"] == kind]


def test_kind_specific_fields_appear_only_on_their_kind():
    for r in (*_records(), *_holdout()):
        assert ("subject" in r or "absent" in r) == (r["kind"] == "near_miss"), r["id"]
        assert ("parts" in r) == (r["kind"] == "two_part"), r["id"]


@pytest.mark.parametrize("record", _of_kind("near_miss"), ids=lambda r: r["id"])
def test_near_miss_asks_a_fact_the_reports_do_not_give_about_a_subject_they_discuss(record):
    # `absent` holds 1-3 lower-case patterns that would match if the reports gave the fact: a row whose fact is
    # in fact given (now, or after a knowledge file changes) fails here.
    assert record["evidence"] == "" and record["source"] == "", record["id"]
    assert "evidence_2" not in record and "source_2" not in record and "also_evidence" not in record
    texts = _knowledge_texts()
    assert isinstance(record["subject"], str) and any(normalise(record["subject"]) in t for t in texts), \
        f"subject {record['subject']!r} is not in the reports"
    assert isinstance(record["absent"], list) and 1 <= len(record["absent"]) <= 3
    for pattern in record["absent"]:
        assert pattern == pattern.lower(), pattern
        found = [m.group(0) for t in texts if (m := re.search(pattern, t))]
        assert not found, f"{pattern!r} finds the fact in the reports: {found[0]!r}"


def test_near_miss_patterns_catch_a_sentence_that_gives_the_fact():
    # The check above is only as good as the patterns: this one must catch the fact when it is stated.
    suffolk = next(r for r in _records() if r["kind"] == "near_miss" and r["subject"] == "Suffolk GP Federation"
                   and "cqc" in r["question"].lower())
    stated = normalise("Suffolk GP Federation was rated Good by the CQC in its 2016 inspection.")
    assert any(re.search(p, stated) for p in suffolk["absent"])


def test_holdout_near_misses_are_about_other_subjects_than_the_golden_ones():
    golden = {normalise(r["subject"]) for r in _records() if r["kind"] == "near_miss"}
    for r in _holdout():
        if r["kind"] == "near_miss":
            assert normalise(r["subject"]) not in golden, r["id"]


@pytest.mark.parametrize("record", _of_kind("two_part"), ids=lambda r: r["id"])
def test_two_part_question_has_two_parts_each_answered_by_its_own_quote(record):
    parts = record["parts"]
    assert isinstance(parts, list) and len(parts) == 2 and all(isinstance(p, str) and p.strip() for p in parts)
    assert normalise(parts[0]) != normalise(parts[1])
    assert normalise(record["evidence"]) != normalise(record["evidence_2"])
    for quote, source in ((record["evidence"], record["source"]), (record["evidence_2"], record["source_2"])):
        assert source in SOURCES and 8 <= len(quote.split()) <= 40, record["id"]
        assert contains_evidence(_source_text(source), quote), f"{record['id']}: {quote!r}"


# --------------------------------------------------------------------------- also_evidence (pooled judgments)


@pytest.mark.parametrize("record", [r for r in (*_records(), *_holdout()) if "also_evidence" in r],
                         ids=lambda r: r["id"])
def test_alternative_evidence_quotes_occur_in_their_source_files(record):
    assert record["kind"] != "out_of_scope" and record["also_evidence"], record["id"]
    for alt in record["also_evidence"]:
        assert set(alt) == {"quote", "source"} and alt["source"] in SOURCES, record["id"]
        assert len(alt["quote"].split()) >= 8 and contains_evidence(_source_text(alt["source"]), alt["quote"])


def _judgments(pattern: str) -> list[dict]:
    return [json.loads(line) for path in sorted((ROOT / "evals" / "judging").glob(pattern))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_alternative_evidence_is_what_the_judges_accepted_and_nothing_else():
    # also_evidence must be exactly the passages judged relevant (judgments*.jsonl, every round) that no
    # second judge rejected (second_judgments*.jsonl).
    vetoed = {j["cid"] for j in _judgments("second_judgments*.jsonl") if not j["relevant"]}
    judged: dict[str, list[str]] = {}
    for j in _judgments("judgments*.jsonl"):
        if j["relevant"] and j["cid"] not in vetoed:
            judged.setdefault(j["cid"].rsplit("-c", 1)[0], []).append(j["quote"])
    recorded = {r["id"]: [a["quote"] for a in r["also_evidence"]] for r in (*_records(), *_holdout())
                if "also_evidence" in r}
    assert {k: sorted(set(v)) for k, v in recorded.items()} == {k: sorted(set(v)) for k, v in judged.items()}


def test_every_pooled_candidate_was_judged_once():
    pooled = [c["cid"] for q in _judgments("*_pool*.jsonl") for c in q["candidates"]]
    judged = [j["cid"] for j in _judgments("judgments*.jsonl")]
    assert len(pooled) == len(set(pooled)) and sorted(pooled) == sorted(judged)
