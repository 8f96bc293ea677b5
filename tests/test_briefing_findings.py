"""Briefing notes carry each topic's central findings, a summary that answers the brief and what the reports recommend.

The quotes below were chosen by reading the reports in knowledge/ before the note generator was changed for issue
#19: for each topic, the sentences a commissioner would expect any note on it to state. Each is a verbatim phrase
of the report (compared without case, punctuation or line breaks).
"""

import re

import pytest

from assistant.answering.citations import MARKER, split_sentences
from assistant.documents.briefing import build_briefing

CENTRAL_FINDINGS = {
    "Managing conflicts of interest when a GP federation bids for community services": (
        # Is bigger better? (2016), Relationships with CCGs
        "either stood down from one role or declared their conflicts",
        # New models of primary care: practical lessons (2013), Barriers to progress
        "had adopted either a provider or commissioner role to create separation within their own organisation",
        "adhering to explicit local policies to manage conflicts of interest",
    ),
    "Choosing a legal form for a GP federation": (
        # Securing the future of general practice (2013), Networks or federations
        "the legal structures for federations vary and include community interest companies companies limited by "
        "guarantee limited liability partnerships and informal networks",
        # Is bigger better? (2016), Organisational structure and governance arrangements
        "although standard legal structures exist for large-scale organisations there are no off the shelf governance "
        "plans",
    ),
    "Governance of a GP federation's board": (
        # Is bigger better? (2016), Organisational structure and governance arrangements / Recommendations
        "develop the simplest governance arrangements possible",
        "criteria for new appointments were not always transparent which could cause distrust among members",
        "the board must secure the skills and resources to meet organisational objectives and enable growth",
    ),
    "Workforce in large-scale general practice": (
        # Is bigger better? (2016), Summary / Enhancing financial and organisational sustainability
        "create a more sustainable workforce by broadening skills creating role flexibility and role enhancement "
        "through peer support",
        "enabling them to cover each other across member practices",
    ),
    "Working with commissioners as a GP provider organisation": (
        # Is bigger better? (2016), Relationships with CCGs / Recommendations
        "relationships with ccgs developed over time and appeared to be strengthened if the general practice "
        "organisation could address population health need",
        "work collaboratively with ccgs to address population health needs and commissioning priorities",
        "perceived the large-scale general practice organisation as a private company motivated by profit",
    ),
}


def _plain(text: str) -> str:
    """Lower case, markers, punctuation and line breaks removed, so a report's phrase matches however it was cut."""
    text = MARKER.sub(" ", text.lower()).replace("’", "'").replace("‘", "'")
    return " ".join(re.sub(r"[^a-z0-9'-]+", " ", text).replace("'", "").split())


@pytest.fixture(scope="module")
def notes(assistant):
    return {topic: build_briefing(assistant, topic, "offline") for topic in CENTRAL_FINDINGS}


# All 13 quotes are in their notes (2 were before issue #19). The last, the governance finding "Emerging organisations
# must invest the time ... and then develop the simplest governance arrangements possible", came in once what the
# reports say bodies must or should do led the key findings. (The commissioners note reached its 'private company
# motivated by profit' sentence once "Conversely, ..." was quoted with the sentence it answers.)
@pytest.mark.parametrize("topic", list(CENTRAL_FINDINGS))
def test_note_states_the_topics_central_findings(notes, topic):
    body = _plain(" ".join(s.text for s in notes[topic].sections))
    missing = [q for q in CENTRAL_FINDINGS[topic] if _plain(q) not in body]
    assert not missing, f"{topic}: missing {missing}"


@pytest.mark.parametrize("topic", list(CENTRAL_FINDINGS))
def test_note_opens_with_a_short_cited_summary_and_says_what_the_reports_recommend(notes, topic):
    note = notes[topic]
    headings = [s.heading for s in note.sections]
    assert headings[0] == "Summary", headings
    summary = note.sections[0]
    sentences = split_sentences(summary.text)
    assert 2 <= len(sentences) <= 6 and summary.citations, summary.text
    recommend = next(s for s in note.sections if s.heading == "What the reports recommend")
    assert recommend.citations, recommend.text
    # Drawn from the reports' recommendations, lessons and conclusions, not from anywhere.
    kinds = re.compile(r"recommend|lesson|learning|conclu|implication|key (?:points|messages)|what next|where next|"
                       r"next steps|ingredients for success|best way|summary", re.I)
    for c in recommend.citations:
        assert kinds.search(c.passage.chunk.section or ""), (c.passage.chunk.section, c.quote)
