"""The chat people come back to, in a real browser: saved conversations, regenerate, edit and resend, copy,
any answer downloaded, sources in a drawer on a phone, two users apart, and axe-core on every tab."""

from __future__ import annotations

import shutil
from pathlib import Path

import docx
import pytest

from conftest import make_settings
from test_ui_browser import ARTIFACTS, TIMEOUT_MS, ask, browser, served  # noqa: F401 (shared fixtures)
from tests.servers import free_port

pytestmark = [pytest.mark.slow, pytest.mark.browser]

Q1 = "What legal forms can a GP federation take?"
Q2 = "How should the board of a GP federation be set up?"
TABS = ("Ask", "Briefing note", "Workshop pack", "Library")


def open_in(context, url: str):
    """A page of the app in this browser context (its localStorage and cookies), ready once the question box is."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url, wait_until="load")
    page.locator("#fa-question textarea").wait_for()
    return page


def questions(page) -> list[str]:
    """The questions shown in the chat, in order."""
    return [t.strip() for t in page.locator('#fa-chat [data-testid="user"]').all_inner_texts()]


def open_saved(page) -> None:
    """Unfold the saved-conversations panel (folded by default)."""
    if not page.locator("#fa-conv-pick input").is_visible():
        page.locator("#fa-convs").get_by_text("Your saved conversations").click()
    page.locator("#fa-conv-pick input").wait_for()


def saved_titles(page) -> list[str]:
    """The saved conversations listed in the panel (opening the panel and the list)."""
    open_saved(page)
    page.locator("#fa-conv-pick input").click()
    page.get_by_role("option").first.wait_for()
    titles = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    page.locator("#fa-conv-pick input").blur()  # the list opens again on the next click
    return [t.strip().splitlines()[-1].strip() for t in titles]  # the chosen one is marked "✓" on a line above


def choose_saved(page, title_start: str) -> None:
    """Reopen the saved conversation whose title starts with `title_start`."""
    page.locator("#fa-conv-pick input").click()
    page.get_by_role("option").filter(has_text=title_start).first.click()


def serious_or_critical(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (axe.min.js bundled: offline)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"resultTypes": ["violations"]})
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_a_conversation_survives_a_reload_and_is_listed_reopened_renamed_and_deleted(served, browser):
    from assistant.conversations import ConversationStore

    url, settings = served
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = open_in(context, url)
    ask(page, Q1, 1)
    page.locator("#fa-starters").get_by_role("button", name=Q1).wait_for(state="hidden")  # starters folded
    page.reload(wait_until="load")
    page.locator('#fa-chat a[href^="#ans1-src"]').first.wait_for()  # the answer is back, with its sources
    assert questions(page) == [Q1] and page.locator("#ans1-src1").count() == 1

    page.get_by_role("button", name="New conversation").click()
    page.locator('#fa-chat [data-testid="user"]').first.wait_for(state="detached")
    ask(page, Q2, 1)
    open_saved(page)
    page.wait_for_function("document.querySelector('#fa-conv-pick input').value.startsWith('How should the board')")
    assert saved_titles(page)[0].startswith(Q2) and saved_titles(page)[1].startswith(Q1)  # newest first
    choose_saved(page, Q1)
    page.wait_for_function(f"[...document.querySelectorAll('#fa-chat [data-testid=user]')].map(e => e.innerText.trim()).join('|') === {Q1!r}")
    assert page.locator("#ans1 .fa-for").inner_text().endswith(f"“{Q1}”")

    page.locator("#fa-conv-name textarea, #fa-conv-name input").first.fill("Legal forms for the board paper")
    page.locator("#fa-conv-rename").click()
    page.wait_for_function("document.querySelector('#fa-conv-pick input').value.startsWith('Legal forms for the board')")
    page.locator("#fa-conv-delete").click()
    page.locator('#fa-chat [data-testid="user"]').first.wait_for(state="detached")
    page.wait_for_timeout(300)
    titles = saved_titles(page)
    assert len(titles) == 1 and titles[0].startswith(Q2)
    page.screenshot(path=ARTIFACTS / "20-saved-conversations.png")
    page.reload(wait_until="load")
    page.locator("#fa-question textarea").wait_for()
    assert questions(page) == []  # the deleted one is not restored
    owners = {r[0] for r in ConversationStore(settings.conversations_db)._run("read", "SELECT owner FROM conversations")}
    assert all(o.startswith("browser:") and len(o) > 20 for o in owners)
    context.close()


def test_regenerate_edit_and_resend_copy_and_download_any_answer(served, browser):
    url, _ = served
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = open_in(context, url)
    ask(page, Q1, 1)
    first = page.locator('#fa-chat [data-testid="bot"]').first.inner_text()
    ask(page, Q2, 2)
    assert page.locator('#fa-chat [data-testid="bot"]').nth(1).locator("li").count() >= 2  # its bullets are a list

    page.locator("#fa-regen").click()  # the last answer asked again in its place: still two turns
    page.locator('#fa-chat [data-testid="bot"]').nth(1).get_by_text("Searching the reports").wait_for(state="detached")
    page.locator('#fa-chat a[href^="#ans2-src"]').first.wait_for()
    assert questions(page) == [Q1, Q2]

    # Any answer downloads, not only the latest: answer 1 of 2.
    page.locator("#fa-pick input").click()
    page.get_by_role("option", name=f"Answer 1: {Q1}").click()
    page.wait_for_function("(document.querySelector('#fa-answer-docx') || {}).innerText?.includes('answer 1')")
    with page.expect_download() as info:
        page.locator("#fa-answer-docx").click()
    assert info.value.suggested_filename == "federation-advisor-answer-1.docx"  # numbered, not named by the question
    assert docx.Document(str(Path(info.value.path()))).paragraphs[0].text == Q1

    # Copy answer 1 with its sources as plain text.
    page.locator("#fa-copy").click()
    page.locator("#fa-copy-text textarea").wait_for()
    page.wait_for_function("navigator.clipboard.readText().then(t => t.includes('Sources:'))")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert first.split("[")[0].strip()[:40] in copied and "\n[1] " in copied and "<" not in copied

    # Edit the first question and send it again: the answers after it go, the new question is answered.
    edited = "What legal form did Suffolk GP Federation take?"
    page.locator('#fa-chat [data-testid="user"]').first.hover()
    page.locator('#fa-chat button[aria-label="Edit"]').first.click()
    page.locator("#fa-chat textarea.edit-textarea").fill(edited)
    page.locator('#fa-chat button[aria-label="Submit"]').click()
    page.wait_for_function(f"[...document.querySelectorAll('#fa-chat [data-testid=user]')].map(e => e.innerText.trim()).join('|') === {edited!r}")
    page.locator('#fa-chat a[href^="#ans1-src"]').first.wait_for()
    assert "Suffolk" in page.locator("#ans1 .fa-for").inner_text()
    page.screenshot(path=ARTIFACTS / "21-edited-question.png")
    # At desktop width the sources sit beside the chat: axe checks them (cards, highlights, links) as well.
    assert serious_or_critical(page) == []
    context.close()


def test_phone_sources_open_beside_the_answer_and_every_tab_passes_axe(served, browser):
    url, _ = served
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = open_in(context, url)
    page.get_by_role("button", name=Q1).click()
    page.locator('#fa-chat a[href^="#ans1-src"]').first.wait_for()
    sources = page.locator("#fa-sources-col")
    assert not sources.is_visible()  # not 1,500 px below the chat: a drawer opened from the answer
    page.locator('#fa-chat a[href="#ans1-src1"]').first.click()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'ans1-src1'")
    box = sources.bounding_box()
    assert box and box["x"] == 0 and box["width"] <= 390 and box["y"] == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=ARTIFACTS / "22-phone-sources-drawer.png")
    page.get_by_role("button", name="Back to the answer").click()
    sources.wait_for(state="hidden")
    page.wait_for_function("document.activeElement && document.activeElement.getAttribute('href') === '#ans1-src1'")

    # Every folded panel of the Ask tab unfolded, so axe sees their contents too.
    open_saved(page)
    for panel in ("Starter questions", "Give feedback on an answer"):
        page.get_by_role("button", name=panel).click()
    page.locator("#fa-fb-send").wait_for()
    page.locator("#fa-starters").get_by_role("button", name=Q1).wait_for()
    found = {}
    for tab in TABS:
        page.get_by_role("tab", name=tab).click()
        page.wait_for_timeout(300)
        found[tab] = serious_or_critical(page)
    assert found == {tab: [] for tab in TABS}
    footer = page.evaluate("getComputedStyle(document.querySelector('footer a, footer button')).color")
    assert footer == "rgb(66, 85, 99)"  # "Use via API": NHS dark grey, 7.4:1 on white
    context.close()


@pytest.fixture()
def two_logins(index_dir, tmp_path):
    """The app with a login for alice and bob, over a private copy of the index."""
    from assistant.pipeline import Assistant
    from ui.app import build_app, launch

    base = tmp_path / "site"
    shutil.copytree(index_dir, base)
    settings = make_settings(base, auth="alice:alice-pass-1,bob:bob-pass-2")
    app = build_app(Assistant.from_settings(settings), settings)
    _, url, _ = launch(app, settings, port=free_port(), prevent_thread_lock=True)
    yield url
    app.close()


def test_two_signed_in_users_see_only_their_own_conversations(two_logins, browser):
    url = two_logins
    pages = {}
    for user, password in (("alice", "alice-pass-1"), ("bob", "bob-pass-2")):
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        assert context.request.post(url + "login", form={"username": user, "password": password}).ok
        pages[user] = open_in(context, url)
    ask(pages["alice"], Q1, 1)
    ask(pages["bob"], Q2, 1)
    for user in pages:
        pages[user].reload(wait_until="load")
        pages[user].locator('#fa-chat a[href^="#ans1-src"]').first.wait_for()
    assert [t.split(" (")[0] for t in saved_titles(pages["alice"])] == [Q1]
    assert [t.split(" (")[0] for t in saved_titles(pages["bob"])] == [Q2]
    # Alice signed in from another browser finds her conversation listed, and not Bob's.
    other = browser.new_context(viewport={"width": 1366, "height": 900})
    assert other.request.post(url + "login", form={"username": "alice", "password": "alice-pass-1"}).ok
    fresh = open_in(other, url)
    assert questions(fresh) == [] and [t.split(" (")[0] for t in saved_titles(fresh)] == [Q1]
    for page in (*pages.values(), fresh):
        page.context.close()
