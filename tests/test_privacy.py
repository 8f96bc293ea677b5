"""Personal data: redaction of NHS numbers, dates of birth and postcodes in every common form (property-based), no
user text in a download's name or path, private export folders that are cleared, raw HTML and links defused, a keyed
question log."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answering.guardrails import find_personal_data, redact
from assistant.documents.export import to_markdown
from assistant.schema import Answer
from conftest import make_settings

FAST = settings(max_examples=150, deadline=None, database=None)
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
LETTERS = "ABCDEFGHJKLMNOPRSTUWYZ"


@st.composite
def nhs_numbers(draw) -> str:
    """Ten digits as 3-3-4 groups, run together or split by spaces, dashes or dots (943 476 5919, 943-476-5919)."""
    digits = draw(st.text("0123456789", min_size=10, max_size=10))
    sep = draw(st.sampled_from(["", " ", "-", " - ", ".", "  "]))
    return f"{digits[:3]}{sep}{digits[3:6]}{sep}{digits[6:]}"


@st.composite
def birth_dates(draw) -> str:
    """A day, month and year in the common ways round: 12/03/1984, 12-03-84, 12 March 1984, 1984-03-12, March 12, 1984."""
    day, month, year = draw(st.integers(1, 28)), draw(st.integers(1, 12)), draw(st.integers(1920, 2024))
    name = MONTHS[month - 1]
    name = draw(st.sampled_from([name, name[:3], name.lower(), name.upper()]))
    dd, mm = draw(st.sampled_from([(f"{day:02d}", f"{month:02d}"), (str(day), str(month))]))
    yy = draw(st.sampled_from([str(year), f"{year % 100:02d}"]))
    sep = draw(st.sampled_from(["/", "-", "."]))
    suffix = draw(st.sampled_from(["", "th"]))
    return draw(st.sampled_from([f"{dd}{sep}{mm}{sep}{yy}", f"{year}-{month:02d}-{day:02d}", f"{day}{suffix} {name} {yy}",
                                 f"{name} {day}, {year}", f"{day} {name}, {year}", f"{year}/{mm}/{dd}"]))


@st.composite
def postcodes(draw) -> str:
    """UK postcodes of every outward shape (A9, A99, AA9, AA99, A9A, AA9A), spaced or not, in any case."""
    shape = draw(st.sampled_from(["A9", "A99", "AA9", "AA99", "A9A", "AA9A"]))
    outward = "".join(draw(st.sampled_from(LETTERS)) if c == "A" else str(draw(st.integers(0, 9))) for c in shape)
    inward = f"{draw(st.integers(0, 9))}{draw(st.sampled_from(LETTERS))}{draw(st.sampled_from(LETTERS))}"
    code = outward + draw(st.sampled_from([" ", "", "  "])) + inward
    return draw(st.sampled_from([code, code.lower(), code.title()]))


CONTEXTS = ["My NHS number is {}; how are federations governed?", "{}", "Patient ({}) asked about the board.",
            "Born {} and registered at the practice", "Details: {}.", "the address is {}, London"]


@FAST
@given(value=st.one_of(nhs_numbers(), birth_dates(), postcodes()), context=st.sampled_from(CONTEXTS))
def test_redaction_removes_every_common_form_of_nhs_number_date_of_birth_and_postcode(value, context):
    text = context.format(value)
    cleaned = redact(text)
    assert value not in cleaned, cleaned
    assert value.lower() not in cleaned.lower(), cleaned
    # Nothing identifying survives in pieces either: no run of 4+ digits from the value, no inward postcode code.
    for piece in value.replace("-", " ").replace("/", " ").replace(".", " ").replace(",", " ").split():
        if len(piece) >= 4 and piece.isdigit():
            assert piece not in cleaned, cleaned


@FAST
@given(value=st.one_of(nhs_numbers(), postcodes()))
def test_personal_data_in_a_question_is_noticed(value):
    assert find_personal_data(f"How do federations work? My details are {value}.")


def test_figures_years_and_report_dates_are_not_redacted():
    text = ("In April 2013, 1,200 practices (2015/16: 36%) and 30,000 to 50,000 patients; the 2016 report, page 12; "
            "Suffolk GP Federation 2014-15; A&E and the CQC; Dr HM Freeman & Partners.")
    assert redact(text) == text


def test_names_after_a_title_are_redacted_where_asked():
    assert redact("Mrs Jones called about Mr Patel", names=True) == "[NAME] called about [NAME]"
    assert redact("my patient called John Smith", names=True) == "my patient [NAME]"


def _answer(question: str) -> Answer:
    return Answer(question=question, text="Federations are governed by a board of member practices.")


def test_downloads_of_an_answer_have_no_user_text_in_their_name_or_path_and_live_in_a_private_folder(tmp_path):
    from ui.turns import answer_files

    settings = make_settings(tmp_path)
    question = "Mrs Jones, NHS number 943 476 5919, asks how federations are governed"
    answers = [_answer("What is a federation?").to_json(), _answer(question).to_json()]
    md, docx = (u["value"] for u in answer_files(answers, None, settings=settings))
    for path in (md, docx):
        assert not any(w in path.lower() for w in ("jones", "943", "5919", "governed", "federations-are")), path
        assert Path(path).name in ("federation-advisor-answer-2.md", "federation-advisor-answer-2.docx")
        assert Path(path).parent.parent == settings.exports_dir
        assert stat.S_IMODE(Path(path).parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(settings.exports_dir.stat().st_mode) == 0o700


def test_briefing_and_pack_downloads_are_named_by_kind_not_by_the_typed_topic(tmp_path, assistant):
    from ui.app import build_app

    app = build_app(assistant, assistant.settings)
    write_note = next(f.fn for f in app.fns.values() if f.name == "write_note")
    *_, last = write_note("Managing conflicts of interest when a GP federation bids for services", "offline")
    _, _, md, docx = last
    assert Path(md["value"]).name == "federation-advisor-briefing-note.md"
    assert not any(w in (md["value"] + docx["value"]).lower() for w in ("managing", "conflicts", "bids"))
    assert Path(md["value"]).parent.parent == assistant.settings.exports_dir


def test_old_export_folders_are_removed_when_the_next_export_is_made(tmp_path):
    from assistant.documents.export import private_folder

    root = tmp_path / "exports"
    first = private_folder(root, keep_s=3600)
    (first / "federation-advisor-answer-1.md").write_text("x")
    second = private_folder(root, keep_s=3600)
    assert first.exists() and second.exists()  # both young
    os.utime(first, (0, 0))  # the first is now old
    private_folder(root, keep_s=3600)
    assert not first.exists() and second.exists()


def test_markdown_downloads_show_raw_html_from_questions_and_documents_as_text():
    answer = Answer(question='<script>alert("q")</script> How are boards run?',
                    text='Boards are elected. <img src=x onerror=alert(1)> <a href="http://evil.example">here</a>')
    text = to_markdown(answer)
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", text), text  # every tag's '<' is escaped, so none is markup
    assert "\\<script>" in text and "\\<img src=x" in text and "Boards are elected." in text


def test_typed_addresses_are_text_and_an_answers_links_show_their_whole_address():
    import html as entities
    import re

    from ui.render import answer_markdown, md_text

    shown = md_text("Email help@evil.example or see https://evil.example/login and www.evil.example.")
    for raw in ("https://", "www.", "@evil"):
        assert raw not in shown, shown
    assert "evil.example" in shown  # the domain is still shown plainly
    # A link in an answer (issue #16 wants them to work) reads as the address it opens, domain and all, in a new
    # tab without the page's context: no link text that hides where it goes.
    html = answer_markdown({"answer": "See https://evil.example/x [1].", "citations": []}, 1)
    links = re.findall(r'<a class="fa-url" href="([^"]+)"[^>]*>(.*?)</a>', html)
    assert links, html
    for href, text in links:
        assert entities.unescape(text) == href == "https://evil.example/x"
    assert 'rel="noopener noreferrer"' in html


def test_the_question_log_hash_is_keyed_with_a_private_key(tmp_path, index_dir):
    import hashlib
    import shutil

    from assistant.pipeline import Assistant
    from conftest import load_jsonl

    shutil.copytree(index_dir, tmp_path / "ix")
    settings = make_settings(tmp_path / "ix")
    question = "How should a GP federation manage conflicts of interest?"
    Assistant.from_settings(settings).ask(question)
    line = load_jsonl(settings.log_file)[-1]
    assert "question_sha256" not in line
    assert line["question_hmac"] != hashlib.sha256(question.encode()).hexdigest()[:16]  # unkeyed: a guess confirms
    assert stat.S_IMODE(settings.log_key_file.stat().st_mode) == 0o600
    key = settings.log_key_file.read_text()
    Assistant.from_settings(settings).ask(question)  # the key is made once and kept
    assert settings.log_key_file.read_text() == key and load_jsonl(settings.log_file)[-1]["question_hmac"] == line["question_hmac"]
