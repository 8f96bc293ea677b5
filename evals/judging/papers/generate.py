"""Writes the 10 briefing notes and 10 workshop packs judged blind for issue #19, as Markdown, offline."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from assistant.documents.briefing import build_briefing
from assistant.documents.export import to_markdown
from assistant.documents.workshop import build_workshop
from assistant.pipeline import Assistant
from assistant.settings import Settings

NOTES = (
    "Managing conflicts of interest when a GP federation bids for community services",
    "Choosing a legal form for a GP federation",
    "Governance of a GP federation's board",
    "Workforce in large-scale general practice",
    "Working with commissioners as a GP provider organisation",
    "Patient involvement in at-scale general practice",
    "Funding and investment needed to form a GP federation",
    "Sharing back-office functions across practices",
    "Extending access to general practice through federations",
    "Measuring the benefits of large-scale general practice",
)
PACKS = (
    {"case": "Suffolk GP Federation"},
    {"case": "Hurley Group"},
    {"case": "Modality Partnership"},
    {"case": "Tower Hamlets"},
    {"case": "Midlands Health Network"},
    {"theme": "conflicts of interest"},
    {"theme": "patient involvement"},
    {"theme": "choosing a legal form"},
    {"theme": "workforce and skill mix"},
    {"theme": "working with commissioners"},
)


def main(out: Path) -> None:
    """Write note-01..10 and pack-01..10 into `out` with a fixed date, so before and after differ only by code."""
    out.mkdir(parents=True, exist_ok=True)
    assistant = Assistant.from_settings(Settings())
    day = date(2026, 12, 1)
    for i, topic in enumerate(NOTES, start=1):
        doc = build_briefing(assistant, topic, "offline", today=day)
        (out / f"note-{i:02d}.md").write_text(to_markdown(doc), encoding="utf-8")
    for i, spec in enumerate(PACKS, start=1):
        doc = build_workshop(assistant, answerer="offline", today=day, **spec)
        (out / f"pack-{i:02d}.md").write_text(to_markdown(doc), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
