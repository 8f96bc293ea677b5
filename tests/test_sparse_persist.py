"""The sparse index is saved at ingest for the generation it commits, loaded (not rebuilt) by a fresh process, and
rebuilt with the same ranking when its folder is missing, damaged or from other code."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import assistant.search.retrieval as retrieval
from assistant.pipeline import Assistant
from assistant.search.generations import GenerationFolders, Saved, chunk_key, load_vectors
from assistant.search.sparse import build
from assistant.search.store import Records, VectorStore
from conftest import load_jsonl, make_settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "evals" / "datasets" / "golden.jsonl"
SLIDES = "nuffield-2013-securing-the-future-conclusions-slides.txt"


@pytest.fixture()
def private_index(index_dir, tmp_path):
    """A copy of the session index (its saved sparse index included) that a test may change."""
    shutil.copytree(index_dir, tmp_path / "ix")
    return tmp_path / "ix"


def _generation(base: Path) -> str:
    generation = Records(base / "data" / "records.sqlite3").get_meta("generation")
    assert generation is not None
    return generation


def _saved(base: Path) -> Saved:
    return Saved.beside_record(make_settings(base))


def _folders(base: Path) -> GenerationFolders:
    return _saved(base).sparse


def _matrix_matches_chroma(base: Path) -> None:
    """The saved exact-search matrix of the current generation is what a process reading Chroma would search."""
    generation = _generation(base)
    assistant = Assistant.from_settings(make_settings(base))
    chunks = assistant._records.chunks()
    saved = load_vectors(_saved(base).vectors, generation, key=chunk_key([c.chunk_id for c in chunks]))
    assert saved is not None
    ids, rows = assistant._store.vectors(generation, {c.chunk_id for c in chunks})  # read from Chroma
    assert saved[0] == ids and saved[1].shape == rows.shape and np.array_equal(saved[1], rows)


def _questions(n: int = 30) -> list[str]:
    return [r["question"] for r in load_jsonl(GOLDEN) if not r["history"]][:n]


def _ranking(assistant: Assistant, questions: list[str]) -> list[list[tuple[str, float]]]:
    return [[(p.chunk.chunk_id, round(p.score, 12)) for p in assistant.retrieve(q, 8).passages] for q in questions]


def _no_build(monkeypatch) -> None:
    """Building the sparse index, or reading the vectors from Chroma, in the serving process fails the test: both
    must be loaded."""
    def refuse(*args, **kwargs):
        raise AssertionError("built or read instead of loaded")

    monkeypatch.setattr(retrieval, "build_sparse", refuse)
    monkeypatch.setattr(VectorStore, "_read_vectors", refuse)


def _counting_build(monkeypatch) -> list[int]:
    """Builds in the serving process, counted."""
    calls: list[int] = []

    def counted(chunks, documents):
        calls.append(len(chunks))
        return build(chunks, documents)

    monkeypatch.setattr(retrieval, "build_sparse", counted)
    return calls


def test_ingest_saves_the_sparse_index_of_the_generation_it_commits(index_dir):
    folder = _folders(index_dir).folder(_generation(index_dir))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["generation"] == _generation(index_dir)
    assert (folder / "chunks" / "params.index.json").exists() and (folder / "windows" / "params.index.json").exists()
    assert [p.name for p in folder.parent.iterdir() if not p.name.startswith(".")] == [folder.name]
    _matrix_matches_chroma(index_dir)


def test_a_fresh_process_loads_the_saved_index_and_ranks_as_a_rebuilt_one(private_index, monkeypatch):
    questions = _questions()
    _no_build(monkeypatch)
    fresh = Assistant.from_settings(make_settings(private_index))
    loaded = _ranking(fresh, questions)
    assert fresh.chunks() == Records(private_index / "data" / "records.sqlite3").chunks()  # the saved chunks
    monkeypatch.undo()
    shutil.rmtree(_saved(private_index).sparse.root)
    shutil.rmtree(_saved(private_index).vectors.root)
    calls = _counting_build(monkeypatch)
    rebuilt = _ranking(Assistant.from_settings(make_settings(private_index)), questions)
    assert calls and loaded == rebuilt and all(loaded)


def test_a_separate_python_process_loads_the_index_the_ingest_saved(private_index):
    script = (
        "import sys, assistant.search.retrieval as r\n"
        "from assistant.pipeline import Assistant\n"
        "sys.path.insert(0, 'tests'); from conftest import make_settings\n"
        "def refuse(*a, **k): raise SystemExit('built or read instead of loaded')\n"
        "r.build_sparse = refuse\n"
        "from assistant.search.store import Records, VectorStore\n"
        "Records.chunks = VectorStore._read_vectors = refuse\n"
        "a = Assistant.from_settings(make_settings(__import__('pathlib').Path(sys.argv[1])))\n"
        "print(a.retrieve('Who sits on a federation board?', 3).passages[0].chunk.chunk_id)\n"
    )
    run = subprocess.run([sys.executable, "-c", script, str(private_index)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip()


@pytest.mark.parametrize("damage", ["missing folder", "truncated matrix", "garbled metadata", "other build",
                                    "other chunks"])
def test_a_missing_damaged_or_foreign_folder_is_rebuilt_saved_and_ranks_the_same(private_index, monkeypatch, damage):
    questions = _questions(12)
    expected = _ranking(Assistant.from_settings(make_settings(private_index)), questions)
    folder = _folders(private_index).folder(_generation(private_index))
    saved = (folder / "manifest.json").read_text()
    manifest = json.loads(saved)
    if damage == "missing folder":
        shutil.rmtree(folder)
    elif damage == "truncated matrix":
        (folder / "windows" / "data.csc.index.npy").write_bytes(b"\x93NUMPY")
    elif damage == "garbled metadata":
        (folder / "meta.json").write_text('{"doc_ids": [')
    elif damage == "other chunks":
        columns = json.loads((folder / "chunks.json").read_text())
        columns["columns"] = [column[1:] for column in columns["columns"]]  # one chunk short of the record
        (folder / "chunks.json").write_text(json.dumps(columns))
        fake = {**manifest, "key": chunk_key(columns["columns"][columns["fields"].index("chunk_id")])}
        (folder / "manifest.json").write_text(json.dumps(fake))  # consistent in itself
    else:
        manifest["build"] = "0" * 16
        (folder / "manifest.json").write_text(json.dumps(manifest))
    calls = _counting_build(monkeypatch)
    assert _ranking(Assistant.from_settings(make_settings(private_index)), questions) == expected
    assert len(calls) == 1
    assert (folder / "manifest.json").read_text() == saved
    _no_build(monkeypatch)  # saved again: the next process loads it
    assert _ranking(Assistant.from_settings(make_settings(private_index)), questions) == expected


def test_a_reingest_saves_the_new_generation_which_a_serving_process_picks_up(private_index, monkeypatch):
    serving = Assistant.from_settings(make_settings(private_index))
    first = _generation(private_index)
    question = "Which pilot pooled pharmacists across nine practices?"
    assert "Riverside pilot" not in serving.retrieve(question, 3).passages[0].chunk.text
    path = private_index / "knowledge" / SLIDES
    original = path.read_text()
    path.write_text(original + "\n\nRiverside pilot: nine practices pooled their pharmacists in 2019.\n")
    Assistant.from_settings(make_settings(private_index)).ingest()  # another process's ingest, as the CLI runs it
    second = _generation(private_index)
    folders = _folders(private_index)
    assert second != first and (folders.folder(second) / "manifest.json").exists()
    assert folders.folder(first).exists()  # kept: a serving process may still be switching from it
    _no_build(monkeypatch)
    assert "Riverside pilot" in serving.retrieve(question, 3).passages[0].chunk.text
    path.write_text(original)
    Assistant.from_settings(make_settings(private_index)).ingest()
    third = _generation(private_index)
    assert "Riverside pilot" not in serving.retrieve(question, 3).passages[0].chunk.text
    for kept in (folders, _saved(private_index).vectors):  # older generations go
        assert {p.name for p in kept.root.iterdir()} == {kept.folder(g).name for g in (second, third)}
    monkeypatch.undo()
    _matrix_matches_chroma(private_index)  # the rows the previous matrix gave, and those read for the change


def test_removing_a_document_saves_the_index_of_the_generation_without_it(private_index, monkeypatch):
    assistant = Assistant.from_settings(make_settings(private_index))
    assistant.remove(SLIDES)
    _no_build(monkeypatch)
    fresh = Assistant.from_settings(make_settings(private_index))
    hits = fresh.retrieve("conclusions and new models slides", 10).passages
    assert hits and all(p.chunk.doc_id != "nuffield-2013-conclusions-slides" for p in hits)
    monkeypatch.undo()
    _matrix_matches_chroma(private_index)


def test_a_read_only_sparse_folder_still_answers_from_memory(private_index):
    for root in (_saved(private_index).sparse.root, _saved(private_index).vectors.root):
        shutil.rmtree(root, ignore_errors=True)
        root.write_text("not a folder")  # nothing can be saved under it
    assistant = Assistant.from_settings(make_settings(private_index))
    assert assistant.retrieve("Who sits on a federation board?", 3).passages


def test_an_ingest_killed_before_its_commit_leaves_the_previous_generation_loading(private_index, monkeypatch):
    first = _generation(private_index)
    path = private_index / "knowledge" / SLIDES
    path.write_text(path.read_text() + "\n\nRiverside pilot: nine practices pooled their pharmacists in 2019.\n")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed between saving and committing")

    monkeypatch.setattr(Records, "commit", killed)
    with pytest.raises(KeyboardInterrupt):
        Assistant.from_settings(make_settings(private_index)).ingest()
    monkeypatch.undo()
    assert _generation(private_index) == first
    folders = _folders(private_index)
    orphans = [p.name for p in folders.root.iterdir() if p.name != folders.folder(first).name]
    assert len(orphans) == 1  # saved for a generation that was never committed
    _no_build(monkeypatch)
    assert Assistant.from_settings(make_settings(private_index)).retrieve("Who sits on a federation board?", 3).passages
    monkeypatch.undo()
    Assistant.from_settings(make_settings(private_index)).ingest()  # the next ingest commits, and clears the orphan
    names = {p.name for p in folders.root.iterdir()}
    assert orphans[0] not in names and names == {folders.folder(g).name for g in (first, _generation(private_index))}
