"""Shared fixtures: a real index of the five reports, built once per test session in a temporary place."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"


@pytest.fixture(scope="session", autouse=True)
def offline_environment(tmp_path_factory):
    """Fresh HOME and tiktoken cache, telemetry off: caches on this machine must not hide install steps."""
    home = tmp_path_factory.mktemp("home")
    saved = {k: os.environ.get(k) for k in ("HOME", "TIKTOKEN_CACHE_DIR")}
    os.environ.update(HOME=str(home), TIKTOKEN_CACHE_DIR=str(home / "tiktoken"), ANONYMIZED_TELEMETRY="False",
                      GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    for key in [k for k in os.environ if k.startswith("ASSISTANT_") or k.startswith("OPENAI_")]:
        del os.environ[key]
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def make_settings(base: Path, **overrides):
    """Settings rooted in `base`, ignoring any .env file."""
    from assistant.settings import Settings

    values = dict(knowledge_dir=base / "knowledge", data_dir=base / "data", tiktoken_cache_dir=base / "tiktoken")
    values.update(overrides)
    return Settings(_env_file=None, **values)


def copy_knowledge(target: Path) -> Path:
    """A private copy of the knowledge directory that a test may change."""
    shutil.copytree(KNOWLEDGE, target)
    return target


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    """A directory holding a real index of the five reports (built once)."""
    from assistant.pipeline import Assistant

    base = tmp_path_factory.mktemp("index")
    copy_knowledge(base / "knowledge")
    assistant = Assistant.from_settings(make_settings(base))
    report = assistant.ingest()
    assert not report.skipped, report.skipped
    return base


@pytest.fixture(scope="session")
def assistant(index_dir):
    """The offline Assistant over the session's index."""
    from assistant.pipeline import Assistant

    return Assistant.from_settings(make_settings(index_dir))


def load_jsonl(path: Path) -> list[dict]:
    """Rows of a JSON-lines file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server on a free port for the whole session (skipped without one, except in CI)."""
    from tests.postgres import postgres_server

    with postgres_server() as server:
        yield server


@pytest.fixture()
def database_url(postgres) -> str:
    """The URL of a fresh, empty database on the session's PostgreSQL server (one per test)."""
    import uuid

    return postgres.create(f"t{uuid.uuid4().hex[:12]}")
