"""The Library tab's words for ingest progress (adding uploads is `Assistant.add_documents`)."""

from __future__ import annotations

_STAGES = {"chunk": "Reading and splitting documents", "embed": "Indexing passages"}


def stage_label(stage: str) -> str:
    """Plain-English name of an ingest stage for the progress bar."""
    return _STAGES.get(stage, stage.capitalize())
