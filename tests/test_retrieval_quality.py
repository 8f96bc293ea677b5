"""On the real reports, the evidence passage of our questions is in the top 5 at least 90% of the time."""

from pathlib import Path

import pytest

from evals.evidence import best_overlap, contains_evidence
from conftest import load_jsonl

pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).resolve().parent.parent / "evals" / "datasets" / "golden.jsonl"


def _relevant(text: str, row: dict) -> bool:
    quotes = [q for q in (row.get("evidence"), row.get("evidence_2")) if q]
    return any(contains_evidence(text, q) or best_overlap(text, q) >= 0.8 for q in quotes)


# Issue #2's target, held by the written quotes alone (0.917 measured with the rerank; see evals/README.md).
HIT_AT_5_FLOOR = 0.90


def test_evidence_passage_is_in_the_top_5_for_most_golden_questions(assistant):
    from assistant.schema import Turn

    rows = [r for r in load_jsonl(GOLDEN) if r["kind"] not in ("out_of_scope", "near_miss")]  # near misses have no evidence
    assert len(rows) >= 20
    assert len({r["source"] for r in rows}) == 5
    misses = []
    for row in rows:
        history = [Turn(m["role"], m["content"]) for m in row["history"]]
        query = assistant.standalone_question(row["question"], history)
        passages = assistant.retrieve(query, 5).passages
        if not any(_relevant(p.chunk.text, row) for p in passages):
            misses.append(row["id"] + ": " + row["question"])
    hit_rate = 1 - len(misses) / len(rows)
    assert hit_rate >= HIT_AT_5_FLOOR, f"hit@5 {hit_rate:.2f}; misses:\n" + "\n".join(misses)


def test_the_conflicts_of_interest_question_cites_the_event_reports_local_policies_passage(assistant):
    answer = assistant.ask("How did the case-study organisations manage conflicts of interest when bidding for new services?")
    assert not answer.refused
    cited = [c for c in answer.citations if c.passage.chunk.doc_id == "nuffield-2013-practical-lessons"]
    assert any(contains_evidence(c.passage.chunk.text, "adhering to explicit local policies to manage conflicts of interest") for c in cited)


def test_a_question_that_names_its_report_lifts_that_reports_passages(assistant):
    retriever, saved = assistant.retriever, (assistant.retriever.doc_weight, assistant.retriever.rerank_weight)
    slides = "nuffield-2013-conclusions-slides"
    try:
        # The prior alone: the late-interaction rerank, which comes after it, is off here. With the rerank
        # on, this question's first slides passage ranks 5th (the rerank trades it for a better MRR overall).
        retriever.rerank_weight = 0.0
        tops = {}
        for weight in (0.0, 0.1):
            retriever.doc_weight = weight
            tops[weight] = [p.chunk.doc_id for p in retriever.retrieve("What do the slides list as the aims of federations?", 5).passages]
    finally:
        retriever.doc_weight, retriever.rerank_weight = saved
    assert tops[0.1][0] == slides != tops[0.0][0]
    assert tops[0.1].count(slides) > tops[0.0].count(slides)


def test_quantity_questions_prefer_passages_with_figures_and_others_are_untouched(assistant):
    from assistant.search.retrieval import QUANTITY_QUESTION

    assert QUANTITY_QUESTION.search("How many practices joined?") and QUANTITY_QUESTION.search("What share of GPs are salaried?")
    assert not QUANTITY_QUESTION.search("How is a federation governed?")
    retriever, saved = assistant.retriever, (assistant.retriever.number_weight, assistant.retriever.rerank_weight)
    try:
        retriever.rerank_weight = 0.0  # the prior alone (the rerank rescales the best passages' scores)

        def scores(question: str, weight: float) -> dict[str, float]:
            retriever.number_weight = weight
            return {p.chunk.chunk_id: p.score for p in retriever.retrieve(question, 10).passages}
        quantity = "How many patients do the Tower Hamlets networks cover?"
        off, on = scores(quantity, 0.0), scores(quantity, 0.1)
        lifted = [cid for cid in set(off) & set(on) if on[cid] > off[cid] + 1e-9]
        assert lifted and all(any(ch.isdigit() for ch in retriever.chunks()[retriever._by_id[c]].text) for c in lifted)
        other = "How is a GP federation governed?"
        assert scores(other, 0.0) == scores(other, 0.1)
    finally:
        retriever.number_weight, retriever.rerank_weight = saved


def test_reference_lists_rank_below_content_that_shares_their_words(assistant):
    passages = assistant.retrieve("What did the 2016 Nuffield survey find about why practices collaborate?", 5).passages
    assert not any(p.chunk.section.lower().startswith(("footnotes", "publications", "additional data sources"))
                   for p in passages[:3])
