"""The chat's turn actions without a browser: plain-text copy, web addresses in answers, which answerer regenerates."""

from __future__ import annotations

import html
import re

from conftest import make_settings

ANSWER = {
    "question": "What legal forms?", "answer": "Federations take several forms [1]. See https://example.org/a_b/]. "
                                             "Boards **vary** [2].",
    "notices": ["Personal data was removed."], "answerer": "offline",
    "citations": [{"n": 2, "chunk_id": "c2", "title": "Is bigger better?", "publisher": "Nuffield Trust", "year": 2016,
                   "section": "Governance", "page": 7, "quote": "Boards vary.", "supported": False},
                  {"n": 1, "chunk_id": "c1", "title": "Securing the future", "publisher": "The King's Fund",
                   "year": 2013, "section": "", "page": None, "quote": "Federations take several forms.", "supported": True}],
    "passages": [{"chunk_id": "c1", "text": "Federations take several forms."}, {"chunk_id": "c2", "text": "Boards vary."}],
}


def test_an_answer_copies_as_plain_text_with_its_numbered_sources():
    from ui.turns import plain_text

    text = plain_text(ANSWER)
    assert text.splitlines()[0] == "Note: Personal data was removed."
    assert "Federations take several forms [1]." in text and "<" not in text and "&#" not in text
    sources = text.split("Sources:\n")[1].splitlines()
    assert sources == ["[1] Securing the future (The King's Fund, 2013). “Federations take several forms.”",
                       "[2] Is bigger better? (Nuffield Trust, 2016), section “Governance”, p. 7. “Boards vary.” "
                       "(not verified)"]


def test_a_web_address_in_an_answer_is_a_link_without_the_bracket_after_it():
    from ui.render import answer_markdown

    md = answer_markdown(ANSWER, 1)
    assert '<a class="fa-url" href="https://example.org/a_b/" target="_blank" rel="noopener noreferrer">' in md
    # The link reads as its whole address (escaped so Markdown makes no second link of it); the "]" is text after it.
    text = re.search(r'<a class="fa-url" href="https://example.org/a_b/"[^>]*>(.*?)</a>&#93;\.', md)
    assert text and html.unescape(text.group(1)) == "https://example.org/a_b/"
    assert "<strong>vary</strong>" in md and 'href="#ans1-src2"' in md
    hostile = answer_markdown({"answer": 'Go to https://x.org/"onmouseover=alert(1) now', "citations": []}, 1)
    assert 'href="https://x.org/" target' in hostile and '</a>"onmouseover=alert(1) now' in hostile  # text, not an attribute


def test_regenerate_uses_the_other_answerer_only_when_a_model_is_configured(tmp_path):
    from assistant.pipeline import Assistant
    from ui.handlers import Chat
    from ui.turns import Turns

    offline = Turns(Chat(Assistant.from_settings(make_settings(tmp_path / "a"))))
    assert offline.other_answerer("offline") is None
    model = make_settings(tmp_path / "b", openai_api_key="sk-test", openai_base_url="http://127.0.0.1:9/v1")
    with_model = Turns(Chat(Assistant.from_settings(model)))
    assert with_model.other_answerer("offline") == "llm"
    assert with_model.other_answerer("llm:gpt-4o-mini") == "offline"


def test_bullet_lines_of_an_answer_are_a_list_and_other_markup_stays_text():
    from ui.render import answer_markdown

    md = answer_markdown({"answer": "Forms:\n- Companies [1]\n- Partnerships\n# not a heading\n-no space", "citations": [
        {"n": 1, "supported": True}]}, 1)
    assert "\n- Companies <a" in md and "\n- Partnerships" in md
    assert "\n&#35; not a heading" in md and "\n&#45;no space" in md


def test_a_regenerate_that_cannot_be_answered_keeps_the_answer_it_was_to_replace(tmp_path):
    from assistant.pipeline import Assistant
    from ui.handlers import FAILED, Chat
    from ui.turns import Turns

    # A conversation at its length limit: asking the last question again is refused before anything is read.
    chat = Chat(Assistant.from_settings(make_settings(tmp_path, max_history_turns=2)))
    answers = [dict(ANSWER, question="First?"), dict(ANSWER, question="Second?")]
    outputs = list(Turns(chat).regenerate([], answers))
    messages, _, kept, *_, error = outputs[-1]
    assert str(error).startswith(FAILED)
    assert [a["question"] for a in kept] == ["First?", "Second?"]
    assert len(messages) == 4
