"""The one API that the CLI, UI and evals call: ingest, retrieve, ask (streamed or not), status."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from assistant.answering.protocol import NOT_COVERED, Answerer
from assistant.ingest.chunking import Chunker
from assistant.answering.citations import verify
from assistant.search.embeddings import MINILM_DIM, embedding_name, has_token_vectors, make_embeddings, vector_layout
from assistant.collection import Collection
from assistant.errors import ConfigError, IndexError_, LLMError
from assistant.answering.guardrails import (check_history, check_scope, clean_question, find_personal_data,
                                           salient_terms)
from assistant.audit import AuditLog
from assistant.question_log import QuestionLog
from assistant.ingest.indexing import IngestReport, Indexer, Progress
from assistant.ingest.loading import Limits, LoadedDocument
from assistant.ingest.uploads import UploadOutcome, add_uploads
from assistant.schema import Answer, Chunk, Generation, Restart, Turn
from assistant.answering.extractive import OfflineAnswerer
from assistant.answering.cues import line_labels
from assistant.answering.question import advice_query, findings_query, part_queries
from assistant.search.retrieval import HybridRetriever, Retrieval, query_terms
from assistant.organisations import named_in
from assistant.text import tokenize
from assistant.search.langchain_retriever import PassageRetriever
from assistant.settings import Settings
from assistant.search.store import Records, VectorStore, make_client, store_folder
from assistant.search.similarity import SentenceSimilarity
from assistant.search.generations import Saved
from assistant.ingest.tokens import encoding as tiktoken_encoding

# Headings that name no topic: not offered as what the reports cover instead.
_GENERIC_HEADING = re.compile(r"^(appendix|introduction|contents|references|summary|case stud(y|ies)|foreword|"
                              r"acknowledgements|about this)\b", re.I)
# How many of each part's own best passages a question of several parts adds to the whole question's.
PART_PASSAGES = 1
# What every fallback notice ends with, after the model's own message saying what failed.
FALLBACK = "This is the offline answer from the same passages."


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
        self._ingest_lock = threading.RLock()  # one ingest at a time in this process
        self.audit = AuditLog(settings.audit_db)
        self.question_log = QuestionLog(settings)
        self._verified: str | None = None  # the record generation whose vector store was last found sound
        self._organisations: tuple[list[Chunk] | None, list[str]] = (None, [])
        self.retriever = HybridRetriever(settings, records=records, store=store, embeddings=embeddings)
        chunker = Chunker(lambda t: len(encoding.encode(t, disallowed_special=())), settings.chunk_tokens,
                          settings.chunk_overlap, settings.chunk_min_tokens)
        fingerprint = f"{settings.chunk_tokens}/{settings.chunk_overlap}/{settings.chunk_min_tokens}"
        self.indexer = Indexer(store=store, records=records, embeddings=embeddings,
                               embedding_name=embedding_name(embeddings), chunker=chunker, fingerprint=fingerprint,
                               saved=Saved.beside_record(settings))

    @classmethod
    def from_settings(cls, settings: Settings) -> "Assistant":
        """Build every component from settings (the only place that chooses implementations)."""
        encoding = tiktoken_encoding(settings.tiktoken_dir)
        embeddings = make_embeddings(settings)
        store = VectorStore(make_client(settings), settings.collection, embedding_name(embeddings),
                            folder=None if settings.chroma_url else store_folder(settings))
        records = Records(settings.records_db)

        def llm_factory() -> Answerer:
            from assistant.answering.llm import OpenAIAnswerer
            from assistant.answering.prompts import PromptLibrary

            llm = OpenAIAnswerer(settings, PromptLibrary(settings.prompts_dir), encoding)
            llm.library = assistant.collection  # the system prompt states the library's own count and years
            llm.organisations = assistant.organisations  # the prompt names whom the question is about
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
    def ingest(self, progress: Progress | None = None, rebuild: bool = False, directory: Path | None = None,
               extra: Sequence[LoadedDocument] = ()) -> IngestReport:
        """Bring the index in line with the knowledge directory plus `extra` documents already read (only changed
        documents are embedded)."""
        with self._ingest_lock:
            if rebuild:
                # Everything goes, vectors included: a rebuild is how a change of embedding model is done.
                self._store.reset()
                self._records.clear()
            return self.indexer.ingest(directory or self.settings.knowledge_dir, progress,
                                       embed_batch=self.settings.ingest_batch,
                                       limits=Limits.from_settings(self.settings), extra=extra)

    def add_documents(self, paths: Sequence[str | Path], *, user: str, progress: Progress | None = None,
                      entry: dict | None = None) -> UploadOutcome:
        """Add uploaded files for `user`: each read in a bounded worker from staging, indexed, then moved into the
        knowledge directory; a curated document is never replaced; every outcome is audited. `entry` (the title,
        publisher, year and kind typed in: ingest.entries.upload_entry) describes a single file."""
        return add_uploads(paths, settings=self.settings, audit=self.audit, user=user, documents=self.documents,
                           ingest=lambda docs: self.ingest(progress, extra=docs), lock=self._ingest_lock, entry=entry)

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
        """Load the sparse index and vector matrix the ingest saved (or build them, when none were saved) and run
        the model once now, so the first question does not wait."""
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
        with self._ingest_lock:
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
        """Before answering: the index was built by this model, and the vector store agrees with the record.

        Checked once per record generation (a count and 24 vectors read: 3 ms at 1x, measured; a reopen after another
        process's ingest adds 34 ms), and the embedded store's folder on every question (0.4 ms with the generation
        read), so a lost, emptied or damaged store is named with its fix instead of answering "not covered".
        """
        if not self._index_checked:
            self.indexer.check_model()
            self._index_checked = True
        generation = self._records.get_meta("generation")
        if generation is None:
            return  # no index yet: retrieval says to run `assistant ingest`
        self._store.follow(generation)
        folder = self._store.folder
        if generation == self._verified and (folder is None or (folder / "chroma.sqlite3").exists()):
            return
        problem = self._store.damage(self._records.sample_ids(24), chunks=self._records.count(),
                                     dimension=MINILM_DIM if has_token_vectors(self._emb) else None)
        if problem:
            where = self.settings.chroma_url or str(folder)
            raise IndexError_(f"The vector store ({where}) does not match the index record: {problem}. Run "
                              "`assistant ingest --rebuild` to rebuild it (about a minute for the five reports); "
                              "until then no question can be answered from the reports.")
        self._verified = generation

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
        check_history(history, max_turns=self.settings.max_history_turns, max_chars=self.settings.max_history_chars)
        q = clean_question(question, self.settings.max_question_chars)
        notices: list[str] = []
        if kinds := find_personal_data(q):
            notices.append(f"Your question seems to contain personal data ({', '.join(kinds)}); please leave it out. "
                           "It has not been stored.")
        scope = check_scope(q, self.collection())
        if not scope.in_scope:
            answer = Answer(question=q, text=scope.message, refused=True, refusal_reason=scope.category,
                            answerer="guardrail", notices=tuple(notices), timings_ms={"total": _ms(t0)})
            self.question_log.write(answer)
            yield answer.text
            yield answer
            return
        chosen, standalone = self._rewrite(q, history, self.answerer(answerer or self.settings.answerer), notices)
        t1 = time.perf_counter()
        self._check_index()
        found = self._with_parts(standalone, self.retriever.retrieve(standalone, k or self.settings.top_k))
        timings["retrieve"] = _ms(t1)
        t2 = time.perf_counter()
        reason = self._why_not_covered(q, found)
        if reason is not None:
            text = f"{NOT_COVERED}. {reason + ' ' if reason else ''}{self._nearby(found)}"
            answer = Answer(question=q, text=text, passages=found.passages, refused=True, refusal_reason="not_covered",
                            answerer=chosen.name, notices=tuple(notices), standalone_question=standalone,
                            timings_ms={**timings, "answer": _ms(t2), "total": _ms(t0)})
            self.question_log.write(answer)
            yield text
            yield answer
            return
        chosen, raw, generation = yield from self._write(chosen, standalone, found, history, notices)
        text, citations, grounded = verify(raw, found.passages)
        refused = text.startswith(NOT_COVERED)
        if refused and self._nearby(found) not in text:
            text = f"{text.rstrip()} {self._nearby(found)}"
        timings["answer"] = _ms(t2)
        timings["total"] = _ms(t0)
        answer = Answer(question=q, text=text, citations=citations, passages=found.passages, refused=refused,
                        refusal_reason="not_covered" if refused else "", answerer=chosen.name, grounded=grounded,
                        notices=tuple(notices), timings_ms=timings, standalone_question=standalone,
                        generation=generation)
        self.question_log.write(answer)
        yield answer

    def _with_parts(self, question: str, found: Retrieval) -> Retrieval:
        """After the question's passages, each part's own best passage that they miss: "How is the Vitality
        Partnership governed, and how does it involve its patients?" finds patients first; a question asking what
        to do also gets the best passage on what mattered ("first steps" finds the ingredients for change), and one
        asking whether something worked the best on what was found ("... unable to detect marked differences ...")."""
        have = {p.chunk.chunk_id for p in found.passages}
        extra = []
        orgs = self.organisations()
        asked_too = [q for q in (*part_queries(question, orgs), advice_query(question, orgs), findings_query(question)) if q]
        for asked in asked_too if found.passages else ():
            new = [p for p in self.retriever.retrieve(asked, self.settings.top_k).passages
                   if p.chunk.chunk_id not in have]
            # First one headed by the part's own words: "Governance" for "How is the Vitality Partnership governed"
            # (fifth in its search, its text never says "govern"), a case table's "Registered population" for "How
            # big is ...". Both sets: q157 gained its governance part, q160 its "no easy way to resolve this dilemma",
            # q153 the Hurley Group's table (with its partners); no metric fell.
            own = set(query_terms(asked)) - set(tokenize(" ".join(named_in(asked, orgs))))
            new = sorted(new, key=lambda p: not own & set(tokenize(f"{p.chunk.section} {line_labels(p.chunk.text)}")))
            new = new[:PART_PASSAGES]
            have.update(p.chunk.chunk_id for p in new)
            extra.extend(new)
        # Ranked after the question's own: a passage's rank is its place in the list the answer cites from.
        extra = [replace(p, rank=len(found.passages) + i) for i, p in enumerate(extra, start=1)]
        return Retrieval(passages=(*found.passages, *extra), top_similarity=found.top_similarity)

    def _rewrite(self, q: str, history: Sequence[Turn], chosen: Answerer, notices: list[str]) -> tuple[Answerer, str]:
        """The answerer to use and the question joined with the conversation (offline if the model is unreachable)."""
        if not history:
            return chosen, q
        try:
            return chosen, chosen.standalone(q, history)
        except LLMError as exc:
            # One notice for the event: the model's own message, and what was done instead.
            notices.append(f"{exc} {FALLBACK}")
            return self._offline, self._offline.standalone(q, history)

    def _why_not_covered(self, q: str, found: Retrieval) -> str | None:
        """Why the reports do not cover question `q` ('' when only the passages are weak), or None when they do."""
        reason = self.collection().beyond(q)
        missing = self.retriever.missing_terms(salient_terms(q))  # the user's own words, not the rewrite
        if missing and not reason:
            reason = f"They never mention {', '.join(named_as_asked(q, missing))}."
        if reason or not found.passages or found.top_similarity < self.settings.min_similarity:
            return reason
        return None

    def _write(self, chosen: Answerer, standalone: str, found: Retrieval, history: Sequence[Turn],
               notices: list[str]) -> Generator[str, None, tuple[Answerer, str, Generation | None]]:
        """Yield the answer as it is written; return the answerer that wrote it, the whole text and, for a model,
        how it was generated."""
        pieces: list[str] = []
        written = chosen.stream(standalone, found.passages, history)
        try:
            while True:
                try:
                    piece = next(written)
                except StopIteration as done:
                    generation = done.value if isinstance(done.value, Generation) else None
                    break
                pieces.append(piece)
                yield piece
        except LLMError as exc:
            # Partial model output is withdrawn (Restart); the reader gets the offline answer and is told why, once.
            notices.append(f"{exc} {FALLBACK}")
            shown, chosen = bool(pieces), self._offline
            pieces = list(chosen.stream(standalone, found.passages, history))
            yield Restart("\n\n[The language model failed; its text above is withdrawn. The offline answer:]\n\n"
                          if shown else "")
            yield "".join(pieces)
            return chosen, "".join(pieces).strip(), None
        if generation is not None and generation.truncated:
            setting = " (ASSISTANT_LLM_ANSWER_TOKENS)" if generation.finish_reason == "length" else ""
            notices.append(f"The language model's answer was {generation.cut_off}{setting}; it is shown as far as it "
                           "got, each sentence checked against the passages.")
        return chosen, "".join(pieces).strip(), generation

    @staticmethod
    def _nearby(found: Retrieval) -> str:
        topics = []
        for p in found.passages[:3]:
            # A case study's name says more than its appendix heading; a heading is quoted as one, without its "?"
            # or ":" ("the nearest passages are about What is the best way to run ..." read as a garbled topic).
            label, case = (p.chunk.case_study or p.chunk.section).strip().rstrip("?:.;"), bool(p.chunk.case_study)
            said = f"the {label} case study" if case else f"the section “{label}”"
            if label and said not in topics and not _GENERIC_HEADING.match(label):
                topics.append(said)
        if not topics:
            return "They cover forming GP federations and other at-scale models, their governance and conflicts of interest."
        return "The nearest passages are " + (" and ".join(topics) if len(topics) < 3
                                              else f"{', '.join(topics[:-1])} and {topics[-1]}") + "."


def named_as_asked(question: str, terms: Sequence[str]) -> list[str]:
    """Missing terms as the question names them: "Premier" and "League" are "Premier League", "St" is "St Anne's
    Trust" (a run of capitalised words holding the term), each once."""
    runs = [re.sub(r"^(?:(?:how|what|who|why|when|where|which|is|are|do|does|did|can|the|our|my|i|in|at|on)\s+)+", "",
                   m.group(0), flags=re.I) for m in re.finditer(r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*", question)]
    named = [next((r for r in runs if re.search(rf"\b{re.escape(t)}\b", r)), t) for t in terms]
    return list(dict.fromkeys(named))


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0

