"""Frozen data types that cross module boundaries: documents, chunks, passages, citations, answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DocumentMeta:
    """Bibliographic facts about one knowledge file."""

    doc_id: str
    filename: str
    title: str
    publisher: str = "Unknown publisher"
    year: int | None = None
    kind: str = "document"
    added: str = ""  # ISO date a locally added document was first indexed; '' for the published library
    facts: tuple[tuple[str, str], ...] = ()  # from its front matter: ("Publications Gateway reference", "06419") ...


@dataclass(frozen=True)
class Block:
    """A cleaned paragraph of a document with the heading, page and case study it sits under."""

    text: str
    section: str = ""
    page: int | None = None
    case_study: str = ""
    last_page: int | None = None  # the page it ends on, when it runs over a page break


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of a document, sized in tokens, with a content-derived id."""

    chunk_id: str
    doc_id: str
    title: str
    year: int | None
    section: str
    page: int | None
    text: str
    case_study: str = ""
    publisher: str = ""
    position: int = 0
    added: str = ""  # the document's added date (see DocumentMeta); '' for the published library
    pages: str = ""  # the printed page range when the passage runs over a page break ("4-5")

    def index_text(self) -> str:
        """Text given to the embedder and BM25: title and heading prepended so they count as evidence."""
        head = " | ".join(p for p in (self.title, self.section, self.case_study and f"Case study: {self.case_study}") if p)
        return f"{head}\n{self.text}" if head else self.text

    def metadata(self) -> dict[str, Any]:
        """Flat metadata as Chroma stores it (no None values)."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "year": self.year if self.year is not None else -1,
            "section": self.section,
            "page": self.page if self.page is not None else -1,
            "case_study": self.case_study,
            "publisher": self.publisher,
            "position": self.position,
            "text": self.text,
            **({"added": self.added} if self.added else {}),
            **({"pages": self.pages} if self.pages else {}),
        }

    @classmethod
    def from_metadata(cls, chunk_id: str, meta: dict[str, Any]) -> "Chunk":
        """Rebuild a chunk from the flat metadata written by :meth:`metadata`."""
        year = int(meta.get("year", -1))
        page = int(meta.get("page", -1))
        return cls(
            chunk_id=chunk_id,
            doc_id=str(meta["doc_id"]),
            title=str(meta.get("title", "")),
            year=None if year < 0 else year,
            section=str(meta.get("section", "")),
            page=None if page < 0 else page,
            text=str(meta.get("text", "")),
            case_study=str(meta.get("case_study", "")),
            publisher=str(meta.get("publisher", "")),
            position=int(meta.get("position", 0)),
            added=str(meta.get("added", "")),
            pages=str(meta.get("pages", "")),
        )


@dataclass(frozen=True)
class Passage:
    """A chunk as retrieved for a question, with its rank and fused score."""

    rank: int
    chunk: Chunk
    score: float

    def to_json(self) -> dict[str, Any]:
        """The passage as `assistant ask --json` prints it."""
        c = self.chunk
        return {
            "rank": self.rank,
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "title": c.title,
            "year": c.year,
            "section": c.section,
            "page": c.page,
            **({"pages": c.pages} if c.pages else {}),
            **({"added_locally": c.added} if c.added else {}),
            "text": c.text,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer: the passage and the quote that supports the cited sentence."""

    n: int
    passage: Passage
    quote: str
    supported: bool = True
    support: float = 1.0

    def to_json(self) -> dict[str, Any]:
        """The citation as `assistant ask --json` prints it."""
        c = self.passage.chunk
        return {
            "n": self.n,
            "doc_id": c.doc_id,
            "chunk_id": c.chunk_id,
            "title": c.title,
            "publisher": c.publisher,
            "year": c.year,
            "section": c.section,
            "page": c.page,
            **({"pages": c.pages} if c.pages else {}),
            **({"added_locally": c.added} if c.added else {}),
            "quote": self.quote,
            "supported": self.supported,
            "support": round(self.support, 3),
        }


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: str  # "user" or "assistant"
    content: str


class Restart(str):
    """A piece of an answer stream saying that the text streamed so far is withdrawn (the model failed midway);
    its own text says so, and the pieces after it are the answer that replaces it."""


@dataclass(frozen=True)
class Generation:
    """How a language model wrote a text: why it stopped, the tokens it read and wrote, its cap, the attempts."""

    finish_reason: str  # the server's ("stop", "length": the max_tokens cap), or "deadline" (ASSISTANT_LLM_DEADLINE_S)
    max_tokens: int
    attempts: int = 1
    prompt_tokens: int | None = None  # as the server counted them; None when it did not say
    completion_tokens: int | None = None
    passages_sent: int = 0

    @property
    def truncated(self) -> bool:
        """Whether the text was cut off (by the token cap or the deadline) rather than finished."""
        return self.finish_reason in ("length", "deadline")

    @property
    def cut_off(self) -> str:
        """How a truncated text was cut off: at its token cap, or at the deadline."""
        if self.finish_reason == "deadline":
            return "cut off at the answer deadline (ASSISTANT_LLM_DEADLINE_S)"
        return f"cut off at its {self.max_tokens}-token limit"

    def to_json(self) -> dict[str, Any]:
        """The generation as `assistant ask --json` and the log show it."""
        return {"finish_reason": self.finish_reason, "truncated": self.truncated, "max_tokens": self.max_tokens,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "attempts": self.attempts, "passages_sent": self.passages_sent}


@dataclass(frozen=True)
class Answer:
    """What the assistant says to a question: text with [n] markers, its citations and evidence."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    refused: bool = False
    refusal_reason: str = ""
    answerer: str = "offline"
    grounded: float = 1.0
    notices: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    standalone_question: str = ""
    generation: Generation | None = None  # set when a language model wrote the text

    def to_json(self) -> dict[str, Any]:
        """The answer as `assistant ask --json` prints it."""
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "refusal_reason": self.refusal_reason,
            "answerer": self.answerer,
            "grounded": round(self.grounded, 3),
            "notices": list(self.notices),
            "citations": [c.to_json() for c in self.citations],
            "passages": [p.to_json() for p in self.passages],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "standalone_question": self.standalone_question or self.question,
            "generation": self.generation.to_json() if self.generation else None,
        }
