"""The one API that the CLI, UI and evals call: ingest, retrieve, ask (streamed or not), status."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path

from assistant.answering.protocol import NOT_COVERED, Answerer
from assistant.ingest.chunking import Chunker
from assistant.answering.citations import verify
from assistant.search.embeddings import embedding_name, has_token_vectors, make_embeddings, vector_layout
from assistant.collection import Collection
from assistant.errors import ConfigError, LLMError
from assistant.answering.guardrails import check_scope, clean_question, find_personal_data, redact, salient_terms
from assistant.ingest.indexing import IngestReport, Indexer, Progress
from assistant.schema import Answer, Chunk, Turn
from assistant.answering.extractive import OfflineAnswerer
from assistant.search.retrieval import HybridRetriever, Retrieval
from assistant.search.langchain_retriever import PassageRetriever
from assistant.settings import Settings
from assistant.search.store import Records, VectorStore, make_client
from assistant.search.similarity import SentenceSimilarity
from assistant.ingest.tokens import encoding as tiktoken_encoding


class Assistant:
    """Federation Advisor: answers questions from the indexed reports with verified citations."""

    def __init__(self, settings: Settings, embeddings, store: VectorStore, records: Records, encoding,
                 offline: Answerer, llm_factory: Callable[[], Answerer] | None = None) -> None:
        self.settings = settings
        self._emb, self._store, self._records = embeddings, store, records
        self._offline = offline
        self._llm_factory = llm_factory
        self._llm: Answerer | None = None
        self._index_checked = False
        self._organisations: tuple[list[Chunk] | None, list[str]] = (None, [])
        self.retriever = HybridRetriever(settings, records=records, store=store, embeddings=embeddings)
        chunker = Chunker(lambda t: len(encoding.encode(t, disallowed_special=())), settings.chunk_tokens,
                          settings.chunk_overlap, settings.chunk_min_tokens)
        fingerprint = f"{settings.chunk_tokens}/{settings.chunk_overlap}/{settings.chunk_min_tokens}"
        self.indexer = Indexer(store=store, records=records, embeddings=embeddings,
                               embedding_name=embedding_name(embeddings), chunker=chunker, fingerprint=fingerprint)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Assistant":
        """Build every component from settings (the only place that chooses implementations)."""
        encoding = tiktoken_encoding(settings.tiktoken_dir)
        embeddings = make_embeddings(settings)
        store = VectorStore(make_client(settings), settings.collection, embedding_name(embeddings))
        records = Records(settings.records_db)

        def llm_factory() -> Answerer:
            from assistant.answering.llm import OpenAIAnswerer
            from assistant.answering.prompts import PromptLibrary

            llm = OpenAIAnswerer(settings, PromptLibrary(settings.prompts_dir), encoding)
            llm.library = assistant.collection  # the system prompt states the library's own count and years
            return llm

        # Sentences are scored by meaning from the word-piece vectors stored at ingest, where the model keeps them.
        similarity = SentenceSimilarity(records, embeddings) if has_token_vectors(embeddings) else None
        offline = OfflineAnswerer(similarity=similarity)
        assistant = cls(settings, embeddings, store, records, encoding, offline,
                        llm_factory if settings.llm_configured else None)
        offline.organisations = assistant.organisations  # whom a question can be about: the library's case studies
        return assistant

    def organisations(self) -> list[str]:
        """The organisations the library has case studies of, as the reports label them (computed from the index)."""
        chunks = self.retriever.chunks()
        if self._organisations[0] is not chunks:
            self._organisations = (chunks, sorted({c.case_study for c in chunks if c.case_study}))
        return self._organisations[1]

    # Index ---------------------------------------------------------------------------------------
    def ingest(self, progress: Progress | None = None, rebuild: bool = False, directory: Path | None = None) -> IngestReport:
        """Bring the index in line with the knowledge directory (only changed documents are embedded)."""
        if rebuild:
            # Everything goes, vectors included: a rebuild is how a change of embedding model is done.
            self._store.reset()
            self._records.clear()
        return self.indexer.ingest(directory or self.settings.knowledge_dir, progress,
                                   embed_batch=self.settings.ingest_batch)

    def status(self) -> dict:
        """Which answerer serves, how much is indexed, with which model, in which store, and whether the rerank runs."""
        docs = self._records.documents()
        return {
            "answerer": self.answerer_name("auto"),
            "documents": len(docs),
            "span": self.collection().span(),
            "chunks": sum(len(d["chunk_ids"]) for d in docs.values()),
            "embedding_model": self._records.get_meta("embedding_model"),
            "store": self.settings.chroma_url or str(self.settings.data_dir / "chroma"),
            "rerank": self._rerank_state(),
        }

    def _rerank_state(self) -> str:
        """Whether the late-interaction rerank runs, and if not, why."""
        if not self.settings.rerank_weight:
            return "off (ASSISTANT_RERANK_WEIGHT=0)"
        if not has_token_vectors(self._emb):
            return "off (needs the packaged MiniLM embeddings)"
        if self._records.get_meta("vectors") != vector_layout(self._emb):  # the ingest's own test for re-embedding
            return "off until `assistant ingest` stores word-piece vectors"
        return f"on (best {self.settings.rerank_depth}, weight {self.settings.rerank_weight})"

    def warm(self) -> None:
        """Build the BM25 indexes, read the vectors for exact search and run the model once now, so the first
        question does not wait (at 100x the corpus, reading the vectors alone takes seconds)."""
        self._check_index()
        self.retriever.retrieve("warm-up", 1)

    def chunks(self) -> list[Chunk]:
        """Every indexed passage (the documents scan them for case studies and figures)."""
        return self.retriever.chunks()

    def missing_terms(self, terms: list[str]) -> list[str]:
        """Those of `terms` (names, acronyms, numbers) that no indexed passage mentions."""
        return self.retriever.missing_terms(terms)

    def documents(self) -> list[dict]:
        """The indexed documents with their metadata and chunk counts."""
        return [
            {"doc_id": doc_id, "filename": d["filename"], **d["meta"], "chunks": len(d["chunk_ids"])}
            for doc_id, d in sorted(self._records.documents().items())
        ]

    def collection(self) -> Collection:
        """The indexed documents as a whole: their number, the years they span, what has changed since."""
        return Collection.from_records(self.documents())

    def remove(self, filename: str) -> IngestReport:
        """Take a document out of the library: its file leaves the knowledge directory and its passages the index,
        in one commit (until then the old index answers); KnowledgeError when no indexed document has that file."""
        return self.indexer.remove(self.settings.knowledge_dir, filename)

    # Questions -----------------------------------------------------------------------------------
    def answerer(self, choice: str) -> Answerer:
        """The answerer a choice (offline, llm, auto) resolves to; ConfigError when llm is not configured."""
        if choice == "offline" or (choice == "auto" and self._llm_factory is None):
            return self._offline
        if self._llm_factory is None:
            raise ConfigError("The LLM answerer needs OPENAI_API_KEY (and OPENAI_BASE_URL for a local server); "
                              "or use --answerer offline.")
        if self._llm is None:
            self._llm = self._llm_factory()
        return self._llm

    def answerer_name(self, choice: str = "auto") -> str:
        """Name of the answerer a choice resolves to ('offline' or 'llm:<model>')."""
        if choice == "offline" or self._llm_factory is None:
            return "offline"
        return f"llm:{self.settings.model}"

    def standalone_question(self, question: str, history: Sequence[Turn], answerer: str = "offline") -> str:
        """The question as retrieval sees it after a follow-up is joined with the conversation."""
        return self.answerer(answerer).standalone(question, history) if history else question

    def _check_index(self) -> None:
        if not self._index_checked:
            self.indexer.check_model()
            self._index_checked = True

    def retrieve(self, question: str, k: int | None = None) -> Retrieval:
        """Ranked passages for a question (no answering)."""
        q = clean_question(question, self.settings.max_question_chars)
        self._check_index()
        return self.retriever.retrieve(q, k or self.settings.top_k)

    def as_retriever(self, k: int | None = None) -> PassageRetriever:
        """LangChain's retriever over :meth:`retrieve`: the best `k` passages (default top_k) as Documents."""
        return PassageRetriever(search=self.retrieve, k=k or self.settings.top_k)

    def ask(self, question: str, history: Sequence[Turn] = (), k: int | None = None, answerer: str | None = None) -> Answer:
        """Answer a question; the final item of :meth:`stream`."""
        result = None
        for item in self.stream(question, history, k, answerer):
            result = item
        assert isinstance(result, Answer)
        return result

    def stream(self, question: str, history: Sequence[Turn] = (), k: int | None = None,
               answerer: str | None = None) -> Iterator[str | Answer]:
        """Yield answer text pieces as they are written, then the verified :class:`Answer`."""
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        q = clean_question(question, self.settings.max_question_chars)
        notices: list[str] = []
        if kinds := find_personal_data(q):
            notices.append(f"Your question seems to contain personal data ({', '.join(kinds)}); please leave it out. "
                           "It has not been stored.")
        scope = check_scope(q, self.collection())
        if not scope.in_scope:
            answer = Answer(question=q, text=scope.message, refused=True, refusal_reason=scope.category,
                            answerer="guardrail", notices=tuple(notices), timings_ms={"total": _ms(t0)})
            self._log(answer)
            yield answer.text
            yield answer
            return
        chosen, standalone = self._rewrite(q, history, self.answerer(answerer or self.settings.answerer), notices)
        t1 = time.perf_counter()
        self._check_index()
        found = self.retriever.retrieve(standalone, k or self.settings.top_k)
        timings["retrieve"] = _ms(t1)
        t2 = time.perf_counter()
        reason = self._why_not_covered(q, found)
        if reason is not None:
            text = f"{NOT_COVERED}. {reason + ' ' if reason else ''}{self._nearby(found)}"
            answer = Answer(question=q, text=text, passages=found.passages, refused=True, refusal_reason="not_covered",
                            answerer=chosen.name, notices=tuple(notices), standalone_question=standalone,
                            timings_ms={**timings, "answer": _ms(t2), "total": _ms(t0)})
            self._log(answer)
            yield text
            yield answer
            return
        chosen, raw = yield from self._write(chosen, standalone, found, history, notices)
        text, citations, grounded = verify(raw, found.passages)
        refused = text.startswith(NOT_COVERED)
        if refused and self._nearby(found) not in text:
            text = f"{text.rstrip()} {self._nearby(found)}"
        timings["answer"] = _ms(t2)
        timings["total"] = _ms(t0)
        answer = Answer(question=q, text=text, citations=citations, passages=found.passages, refused=refused,
                        refusal_reason="not_covered" if refused else "", answerer=chosen.name, grounded=grounded,
                        notices=tuple(notices), timings_ms=timings, standalone_question=standalone)
        self._log(answer)
        yield answer

    def _rewrite(self, q: str, history: Sequence[Turn], chosen: Answerer, notices: list[str]) -> tuple[Answerer, str]:
        """The answerer to use and the question joined with the conversation (offline if the model is unreachable)."""
        if not history:
            return chosen, q
        try:
            return chosen, chosen.standalone(q, history)
        except LLMError as exc:
            notices.append(f"The language model could not be reached ({exc}); the offline answerer was used.")
            return self._offline, self._offline.standalone(q, history)

    def _why_not_covered(self, q: str, found: Retrieval) -> str | None:
        """Why the reports do not cover question `q` ('' when only the passages are weak), or None when they do."""
        reason = self.collection().beyond(q)
        missing = self.retriever.missing_terms(salient_terms(q))  # the user's own words, not the rewrite
        if missing and not reason:
            reason = f"They never mention {', '.join(missing)}."
        if reason or not found.passages or found.top_similarity < self.settings.min_similarity:
            return reason
        return None

    def _write(self, chosen: Answerer, standalone: str, found: Retrieval, history: Sequence[Turn],
               notices: list[str]) -> Generator[str, None, tuple[Answerer, str]]:
        """Yield the answer as it is written; return the answerer that wrote it and the whole text."""
        pieces: list[str] = []
        try:
            for piece in chosen.stream(standalone, found.passages, history):
                pieces.append(piece)
                yield piece
        except LLMError as exc:
            # Partial model output is discarded; the reader gets the offline answer and is told why.
            notices.append(f"The language model failed ({exc}); this is the offline answer from the same passages.")
            chosen = self._offline
            pieces = list(chosen.stream(standalone, found.passages, history))
            yield "\n\n" + "".join(pieces)
        return chosen, "".join(pieces).strip()

    @staticmethod
    def _nearby(found: Retrieval) -> str:
        topics = []
        for p in found.passages[:3]:
            label = p.chunk.section or p.chunk.case_study
            if label and label not in topics:
                topics.append(label)
        if not topics:
            return "They cover forming GP federations and other at-scale models, their governance and conflicts of interest."
        return "Nearby topics they do cover: " + "; ".join(topics) + "."

    def _log(self, answer: Answer) -> None:
        """One JSON line per question: hashed question, outcome, timings, retrieved ids; no raw text."""
        # Personal data is redacted before hashing: a hash of a known question with an NHS number in it could be
        # reversed by trying every number.
        if not self.settings.log_questions:
            return
        record = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "question_sha256": hashlib.sha256(redact(answer.question).encode()).hexdigest()[:16],
            "answerer": answer.answerer,
            "outcome": answer.refusal_reason or "answered",
            "grounded": round(answer.grounded, 3),
            "retrieved": [p.chunk.chunk_id for p in answer.passages],
            "timings_ms": {k: round(v, 1) for k, v in answer.timings_ms.items()},
            "notices": len(answer.notices),
        }
        path = self.settings.log_file
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0

