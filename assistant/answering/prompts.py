"""Prompt templates kept as files in prompts/, rendered strictly, and the formatting of passages and history."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from string import Template
from typing import Protocol

from assistant.answering.protocol import NOT_GIVEN
from assistant.answering.question import Question
from assistant.errors import ConfigError
from assistant.schema import Passage, Turn

# Tags that delimit data in the prompts; the same words inside data are defused so that a passage
# or a question cannot close its own block and pose as instructions.
_DATA_TAGS = re.compile(r"<(\s*/?\s*(?:passages?|question|conversation|system)\b)", re.IGNORECASE)


class Prompts(Protocol):
    """What an answerer renders its messages with: a PromptLibrary, or a stand-in serving another template."""

    def render(self, name: str, /, **values: str) -> str:
        """The template `name` with every placeholder filled."""
        ...


class PromptLibrary:
    """Reads `{directory}/{name}.txt` templates with `$name` placeholders (`$$` for a literal dollar sign).

    Rendering is strict: a placeholder left without a value, or a value for no placeholder, raises
    ConfigError naming it, so a prompt file and the code that fills it cannot drift apart silently.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, name: str) -> Path:
        """Where the template called `name` lives."""
        return self.directory / f"{name}.txt"

    def template(self, name: str) -> Template:
        """The parsed template `name`; ConfigError when the file is missing, unreadable or malformed."""
        path = self.path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ConfigError(
                f"Prompt file {path} is missing; restore it or point ASSISTANT_PROMPTS_DIR at the prompts/ folder."
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"Prompt file {path} cannot be read as UTF-8 text: {exc}") from exc
        template = Template(text)
        if not template.is_valid():
            raise ConfigError(
                f"Prompt file {path} has a malformed placeholder; write $name or ${{name}}, and $$ for a dollar sign."
            )
        return template

    def variables(self, name: str) -> set[str]:
        """The placeholder names the template `name` expects."""
        return set(self.template(name).get_identifiers())

    def render(self, name: str, /, **values: str) -> str:
        """The template `name` with every placeholder filled; ConfigError on a missing or unknown variable."""
        template = self.template(name)
        expected = set(template.get_identifiers())
        missing = sorted(expected - values.keys())
        unknown = sorted(values.keys() - expected)
        if missing:
            raise ConfigError(
                f"Prompt {self.path(name)} needs a value for ${missing[0]}"
                + (f" (missing: {', '.join(missing)})" if len(missing) > 1 else "")
                + "; pass it to render() or remove the placeholder from the file."
            )
        if unknown:
            raise ConfigError(
                f"Prompt {self.path(name)} has no placeholder ${unknown[0]}"
                + (f" (unknown: {', '.join(unknown)})" if len(unknown) > 1 else "")
                + "; add it to the file or stop passing it."
            )
        bad = [k for k, v in values.items() if not isinstance(v, str)]
        if bad:
            raise ConfigError(f"Prompt {self.path(name)}: value for ${bad[0]} must be a string.")
        return template.substitute(values)


def as_data(text: str) -> str:
    """Text made safe to place inside a data block: tags that could close the block are defused."""
    return _DATA_TAGS.sub(lambda m: "‹" + m.group(1), text)


def format_passage(n: int, passage: Passage) -> str:
    """One passage as the answer prompt shows it: number, report, year, section, page, then the text."""
    c = passage.chunk
    source = c.title or c.doc_id
    facts = ", ".join(str(x) for x in (c.publisher, c.year) if x)
    head = [f"Report: {as_data(source)}" + (f" ({as_data(facts)})" if facts else "")]
    where = []
    if c.section:
        where.append(f"Section: {as_data(c.section)}")
    if c.page is not None:
        where.append(f"Page: {c.page}")
    if c.case_study:
        where.append(f"Case study: {as_data(c.case_study)}")
    if where:
        head.append(" | ".join(where))
    return f'<passage n="{n}">\n' + "\n".join(head) + "\n---\n" + as_data(c.text.strip()) + "\n</passage>"


def format_passages(passages: Sequence[Passage]) -> str:
    """Passages numbered 1..n in the order given, so that [n] refers to passages[n-1]."""
    return "\n\n".join(format_passage(i, p) for i, p in enumerate(passages, start=1))


def format_history(history: Sequence[Turn]) -> str:
    """A conversation as plain `User:` / `Assistant:` lines for the condense prompt."""
    lines = []
    for turn in history:
        who = "User" if turn.role == "user" else "Assistant"
        lines.append(f"{who}: {as_data(turn.content.strip())}")
    return "\n\n".join(lines)


def format_guide(asked: Question) -> str:
    """The answer prompt's $guide: a question's parts and subject, as the offline answerer reads them, and how to say
    that the passages don't give one part ("" for a one-part question about no organisation)."""
    # Only where there is something to say: SmolLM2-135M, told how to say "not given" on a one-part question its
    # passage answers ("What is a GP federation?"), declined it instead (tests/test_llamacpp.py, both tries).
    lines = []
    if len(asked.parts) > 1:
        listed = " ".join(f"({i}) {as_data(part.strip())}" for i, part in enumerate(asked.parts, start=1))
        lines.append(f"The question has {len(asked.parts)} parts; answer each in turn: {listed}")
        lines.append(f'Where the passages do not answer one part, say so in one sentence starting "{NOT_GIVEN}" '
                     "and answer the other parts.")
    if asked.subject:
        lines.append(f"It is about {as_data(asked.subject_name)}: use what the passages say about it, and write "
                     "anything about another organisation as a comparison, naming that organisation.")
    return "".join(f"{line}\n" for line in lines)
