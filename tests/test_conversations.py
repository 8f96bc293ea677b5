"""ConversationStore: saved per owner, redacted, listed, renamed, deleted and expired; failures raise StoreError."""

from __future__ import annotations

import os
import time

import pytest

from assistant.conversations import MAX_TITLE_CHARS, ConversationStore
from assistant.errors import InputError, StoreError


def _answer(question: str, text: str = "Boards answer to members [1].") -> dict:
    return {"question": question, "answer": text, "standalone_question": question, "notices": [],
            "citations": [{"n": 1, "chunk_id": "c1", "title": "Is bigger better?", "quote": "Boards answer."}],
            "passages": [{"chunk_id": "c1", "text": "Boards answer to members."}]}


def test_each_owner_sees_only_their_own_conversations(tmp_path):
    store = ConversationStore(tmp_path / "data" / "conversations.sqlite3")
    alice = store.save("user:alice", None, [_answer("How are boards chosen?")])
    bob = store.save("user:bob", None, [_answer("What is a super-partnership?")])
    assert [c["title"] for c in store.listed("user:alice")] == ["How are boards chosen?"]
    assert [c["id"] for c in store.listed("user:bob")] == [bob]
    assert store.load("user:bob", alice) is None  # another owner's id opens nothing ...
    assert not store.delete("user:bob", alice)  # ... deletes nothing ...
    with pytest.raises(InputError, match="Open one of your saved"):
        store.rename("user:bob", alice, "mine now")  # ... and renames nothing
    # Saving under another owner's id starts a new conversation instead of overwriting theirs.
    other = store.save("user:bob", alice, [_answer("Sneaky?")])
    assert other != alice and store.load("user:alice", alice)[0]["question"] == "How are boards chosen?"


def test_save_updates_rename_and_delete(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite3")
    cid = store.save("browser:x", None, [_answer("First?")])
    assert store.save("browser:x", cid, [_answer("First?"), _answer("Second?")]) == cid
    assert [a["question"] for a in store.load("browser:x", cid)] == ["First?", "Second?"]
    store.rename("browser:x", cid, "  Boards\nand members ")
    assert store.listed("browser:x")[0]["title"] == "Boards and members"
    with pytest.raises(InputError, match="maximum"):
        store.rename("browser:x", cid, "x" * (MAX_TITLE_CHARS + 1))
    with pytest.raises(InputError, match="new name"):
        store.rename("browser:x", cid, "  ")
    newer = store.save("browser:x", None, [_answer("Third?")])
    assert [c["id"] for c in store.listed("browser:x")] == [newer, cid]  # most recent first
    assert store.delete("browser:x", cid) and store.load("browser:x", cid) is None
    assert [c["id"] for c in store.listed("browser:x")] == [newer]


def test_personal_data_is_redacted_before_it_is_stored(tmp_path):
    path = tmp_path / "c.sqlite3"
    store = ConversationStore(path)
    question = "Email jo.bloggs@example.com about NHS number 943 476 5919: how do boards work?"
    cid = store.save("browser:x", None, [_answer(question, "Call 020 7946 0958 [1].")])
    saved = store.load("browser:x", cid)[0]
    assert "jo.bloggs" not in saved["question"] and "[EMAIL]" in saved["question"]
    assert "943 476 5919" not in saved["question"] and "[PHONE]" in saved["answer"]
    assert "jo.bloggs" not in store.listed("browser:x")[0]["title"]
    store.rename("browser:x", cid, "Ask jo.bloggs@example.com")
    raw = path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                               if path.with_name(path.name + "-wal").exists() else b"")
    assert b"jo.bloggs" not in raw and b"943 476 5919" not in raw


def test_retention_deletes_conversations_untouched_for_that_many_days(tmp_path):
    store = ConversationStore(tmp_path / "c.sqlite3", retention_days=30)
    old = store.save("browser:x", None, [_answer("Old?")])
    recent = store.save("browser:x", None, [_answer("Recent?")])
    before = {c["id"]: c["updated_at"] for c in store.listed("browser:x")}
    time.sleep(0.01)
    store.save("browser:x", recent, [_answer("Recent?"), _answer("Again?")])  # used again: its clock restarts
    assert store.listed("browser:x")[0]["updated_at"] > before[recent]
    now = time.time()
    assert store.expire(now=now + 29 * 86_400) == 0
    assert store.expire(now=before[recent] + 30 * 86_400 + 0.005) == 1  # the old one only
    assert store.load("browser:x", old) is None and store.load("browser:x", recent)
    assert store.expire(now=now + 31 * 86_400) == 1
    assert ConversationStore(tmp_path / "c.sqlite3", retention_days=0).expire(now=now + 10**9) == 0  # 0 keeps


def test_an_unwritable_store_raises_a_store_error(tmp_path):
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        store = ConversationStore(blocker / "sub" / "c.sqlite3")  # a file where a folder should be
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        store = ConversationStore(locked / "sub" / "c.sqlite3")
    with pytest.raises(StoreError, match="could not be saved"):
        store.save("browser:x", None, [_answer("Q?")])
    with pytest.raises(InputError, match="owner"):
        ConversationStore(tmp_path / "c.sqlite3").save("", None, [])


def test_a_page_load_with_nothing_to_reopen_leaves_the_chat_alone(tmp_path):
    # The load event can run after a question asked while the page was loading: it must not clear that answer.
    import gradio as gr

    from assistant.conversations import ConversationStore
    from conftest import make_settings
    from ui.conversations import Conversations

    saved = Conversations(ConversationStore(tmp_path / "conversations.sqlite3"), make_settings(tmp_path))
    outputs = saved.restore({}, None)
    chat_outputs, browser = outputs[:8], outputs[-1]
    assert all(o == gr.skip() for o in chat_outputs)
    assert browser["id"]  # the browser still gets its id for the next turn to be saved under
