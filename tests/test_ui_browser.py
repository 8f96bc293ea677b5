"""The chat in a real browser (headless Debian Chromium via Playwright): ask, sources, follow-up, feedback, upload, escaping."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from conftest import make_settings

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TIMEOUT_MS = 30_000
RIVERSIDE = """# The Riverside Primary Care Collaborative

The Riverside Primary Care Collaborative is a GP federation of seventeen practices formed in 2019 beside the River Wenlow.
Its board meets every second Thursday in a converted lighthouse, and each member practice holds one voting share.
The Riverside Primary Care Collaborative manages conflicts of interest by asking every director to sign a blue declaration card before each board meeting.
"""


@pytest.fixture(scope="module")
def served(index_dir, tmp_path_factory):
    """The app over a private copy of the index (uploads and feedback change it), on 127.0.0.1."""
    from assistant.pipeline import Assistant
    from ui.app import build_app, launch

    base = tmp_path_factory.mktemp("ui-browser") / "site"
    shutil.copytree(index_dir, base)
    # One person's machine: no login, library changes allowed from 127.0.0.1 (the security tests cover the rest).
    settings = make_settings(base, allow_local_changes=True)
    app = build_app(Assistant.from_settings(settings), settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _, url, _ = launch(app, settings, port=port, prevent_thread_lock=True)
    yield url, settings
    app.close()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def open_page(browser, url, width=1366, height=900):
    """A fresh page (new session) on the app, ready once the question box is there."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(url, wait_until="load")
    page.locator("#fa-question textarea").wait_for()
    return page


def ask(page, question: str, n: int):
    """Type a question, press Enter, and wait for answer n with its citation links."""
    box = page.locator("#fa-question textarea")
    box.fill(question)
    box.press("Enter")
    page.locator(f'#fa-chat a[href^="#ans{n}-src"]').first.wait_for()
    return page.locator('[data-testid="bot"]').nth(n - 1)


def test_ask_sources_follow_up_and_feedback(served, browser):
    from assistant.feedback import FeedbackStore

    url, settings = served
    page = open_page(browser, url)
    assert page.get_by_role("textbox", name="Your question (press Enter to ask)").is_visible()
    status = page.locator("#fa-status").inner_text()
    assert "Offline answers" in status and "5 documents" in status and "passages indexed" in status
    page.screenshot(path=ARTIFACTS / "01-desktop-start.png")

    q1 = "How should conflicts of interest be managed in a GP federation?"
    first = ask(page, q1, 1)
    assert "[1" in first.inner_text()
    source = page.locator("#ans1-src1")
    assert source.locator("h3").inner_text().startswith("[1]")
    assert source.locator(".fa-meta").inner_text().strip()  # publisher and year
    assert source.locator("blockquote mark").count() == 1  # the supporting sentence is highlighted
    page.screenshot(path=ARTIFACTS / "02-desktop-answer.png")

    first.locator('a[href="#ans1-src1"]').first.click()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'ans1-src1'")
    source.get_by_text("Show the full passage").click()
    passage = source.locator(".fa-passage")
    passage.wait_for(state="visible")
    assert len(passage.inner_text()) > 100 and passage.locator("mark").count() == 1
    page.screenshot(path=ARTIFACTS / "03-desktop-source-open.png")

    q2 = "And how should they declare them?"
    second = ask(page, q2, 2)
    assert second.inner_text().strip()
    assert page.locator("#ans2-src1").is_visible()
    assert page.locator("#ans1-src1").count() == 1  # earlier sources are kept, folded away

    # Feedback from the form (latest answer, thumbs down, comment) ...
    page.get_by_role("button", name="Give feedback on an answer").click()
    page.get_by_text("👎 Not helpful").click()
    page.locator("#fa-fb-comment textarea").fill("Please cite the 2016 report too")
    page.locator("#fa-fb-send").click()
    page.locator("#fa-fb-result").get_by_text("saved").wait_for()
    # ... and from the thumb on the first answer, with a comment added afterwards.
    page.locator('#fa-chat button[aria-label="Like"]').first.click()
    page.locator("#fa-fb-result").get_by_text("answer 1 was saved").wait_for()
    page.locator("#fa-fb-comment textarea").fill("Clear and well sourced")
    page.locator("#fa-fb-send").click()
    page.locator("#fa-fb-result").get_by_text("feedback on answer 1 was saved").wait_for()
    page.screenshot(path=ARTIFACTS / "04-desktop-follow-up-feedback.png", full_page=True)

    rows = FeedbackStore(settings.feedback_db).all()
    got = {(r["question"], r["rating"], r["comment"]) for r in rows}
    assert got == {(q2, "down", "Please cite the 2016 report too"), (q1, "up", "Clear and well sourced")}
    assert all(r["answer"] and r["citations_json"].startswith("[{") for r in rows)

    page.get_by_role("tab", name="Library").click()
    page.locator("#fa-export").click()
    link = page.locator("#fa-export-file a").first
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert exported.startswith("id,created_at,rating,comment") and "Clear and well sourced" in exported
    assert page.dialogs == []
    page.close()


def test_upload_a_document_then_ask_about_it(served, browser, tmp_path):
    url, settings = served
    good = tmp_path / "riverside-collaborative.txt"
    good.write_text(RIVERSIDE, encoding="utf-8")
    bad = tmp_path / "empty-notes.txt"
    bad.write_text("x y", encoding="utf-8")
    page = open_page(browser, url)
    page.get_by_role("tab", name="Library").click()
    table = page.locator("#fa-docs")
    table.get_by_text("Is bigger better?").first.wait_for()
    page.locator("#fa-upload input[type=file]").set_input_files([str(good), str(bad)])
    page.locator("#fa-upload").get_by_text("empty-notes", exact=True).wait_for()  # shown once uploaded
    page.locator("#fa-add").click()
    result = page.locator("#fa-upload-result")
    result.get_by_text("Added: riverside-collaborative.txt").wait_for(timeout=60_000)
    assert "Not added empty-notes.txt" in result.inner_text() and "no readable text" in result.inner_text()
    table.get_by_text("The Riverside Primary Care Collaborative").wait_for()
    assert "6 documents" in page.locator("#fa-status").inner_text()
    assert (settings.knowledge_dir / "riverside-collaborative.txt").exists()
    assert not (settings.knowledge_dir / "empty-notes.txt").exists()
    page.screenshot(path=ARTIFACTS / "05-library-upload.png", full_page=True)

    page.get_by_role("tab", name="Ask").click()
    answer = ask(page, "How does the Riverside Primary Care Collaborative manage conflicts of interest?", 1)
    assert "blue declaration card" in answer.inner_text()
    titles = page.locator("#ans1 .fa-source h3").all_inner_texts()
    assert any("Riverside Primary Care Collaborative" in t for t in titles)
    page.screenshot(path=ARTIFACTS / "06-answer-from-upload.png")
    page.close()


def test_html_in_a_question_is_shown_as_text(served, browser):
    url, _ = served
    page = open_page(browser, url)
    question = "<script>alert(1)</script> <b>x</b> How are GP federations governed? Reply to jo.bloggs@example.com"
    answer = ask(page, question, 1)
    assert "Note:" in answer.inner_text() and "personal data" in answer.inner_text()  # the notice is shown
    user = page.locator('[data-testid="user"]').first
    assert "<script>alert(1)</script> <b>x</b>" in user.inner_text()
    assert user.locator("b, script").count() == 0
    assert "<script>alert(1)</script>" in page.locator("#ans1 .fa-for").inner_text()
    assert page.dialogs == []
    page.screenshot(path=ARTIFACTS / "07-escaped-question.png")

    # A question the library refuses (too long) gives a plain message; the app stays up, the text is kept.
    too_long = "How are federations governed? " * 80
    page.locator("#fa-question textarea").fill(too_long)
    page.locator("#fa-ask").click()
    page.locator("#fa-error").get_by_text("Could not answer").wait_for()
    assert "maximum is 2000" in page.locator("#fa-error").inner_text()
    assert page.locator("#fa-question textarea").input_value() == too_long
    assert page.locator('[data-testid="user"]').count() == 1
    page.close()


def test_phone_width_starter_question_and_source(served, browser):
    url, _ = served
    page = open_page(browser, url, width=390, height=844)
    page.get_by_role("button", name="What legal forms can a GP federation take?").click()
    page.locator('#fa-chat a[href^="#ans1-src"]').first.wait_for()
    page.wait_for_function("document.getElementById('fa-chat').getBoundingClientRect().top < 100")  # brought into view
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 392, f"page is {width}px wide at a 390px viewport"
    page.screenshot(path=ARTIFACTS / "08-phone-answer.png")
    page.locator('#fa-chat a[href="#ans1-src1"]').first.click()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'ans1-src1'")
    # The source scrolls (smoothly) to the top of the screen.
    page.wait_for_function("(() => { const r = document.getElementById('ans1-src1').getBoundingClientRect();"
                           " return r.top >= 0 && r.top < 60; })()")
    page.screenshot(path=ARTIFACTS / "09-phone-source.png")
    page.close()


def test_upload_with_details_is_marked_added_locally_and_can_be_removed(served, browser, tmp_path):
    url, settings = served
    notes = tmp_path / "wenlow-pcn-notes.txt"
    notes.write_text(RIVERSIDE.replace("Riverside Primary Care Collaborative", "Wenlow Valley PCN"), encoding="utf-8")
    page = open_page(browser, url)
    page.get_by_role("tab", name="Library").click()
    table = page.locator("#fa-docs")
    table.get_by_text("Is bigger better?").first.wait_for()
    page.locator("#fa-upload input[type=file]").set_input_files([str(notes)])
    page.locator("#fa-upload").get_by_text("wenlow-pcn-notes", exact=True).wait_for()
    page.get_by_text("Details of the document").click()
    page.locator("#fa-up-title textarea").fill("Wenlow Valley PCN board notes")
    page.locator("#fa-up-year textarea, #fa-up-year input").first.fill("2021")
    page.locator("#fa-add").click()
    page.locator("#fa-upload-result").get_by_text("Added: wenlow-pcn-notes.txt").wait_for(timeout=60_000)
    table.get_by_text("Wenlow Valley PCN board notes").wait_for()
    page.wait_for_function("document.querySelector('#fa-up-title textarea').value === ''")  # cleared for the next file
    assert "added locally" in table.inner_text() and "(2013 to 2021)" in page.locator("#fa-status").inner_text()
    choice = page.locator("#fa-remove-choice input")
    choice.click()
    page.get_by_role("option", name="wenlow-pcn-notes.txt").click()
    page.locator("#fa-remove").click()
    page.locator("#fa-remove-result").get_by_text("Removed wenlow-pcn-notes.txt").wait_for(timeout=60_000)
    table.get_by_text("Wenlow Valley PCN board notes").wait_for(state="detached")
    assert "(2013 to 2018)" in page.locator("#fa-status").inner_text()
    assert not (settings.knowledge_dir / "wenlow-pcn-notes.txt").exists()
    page.screenshot(path=ARTIFACTS / "09-library-remove.png", full_page=True)
    page.close()
