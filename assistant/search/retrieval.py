"""Hybrid retrieval: BM25 (bm25s) and Chroma window vectors, fused convexly (or by reciprocal rank), then reranked."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.search.embeddings import has_token_vectors
from assistant.errors import IndexError_
from assistant.schema import Chunk, Passage
from assistant.search.ranking import score_key, top_indices
from assistant.search.rerank import LateInteraction, blend
from assistant.search.generations import Saved, load_vectors, save_vectors
from assistant.search.sparse import SparseIndex, load_sparse, save_sparse
from assistant.search.sparse import build as build_sparse
from assistant.search.store import Records, VectorStore
from assistant.settings import Settings
from assistant.text import STOPWORDS, stem, tokenize

ABBREVIATIONS = {
    "CCG": "clinical commissioning group",
    "PMS": "personal medical services",
    "GMS": "general medical services",
    "APMS": "alternative provider medical services",
    "CIC": "community interest company",
    "LLP": "limited liability partnership",
    "PCN": "primary care network",
    "ICB": "integrated care board",
    "ICS": "integrated care system",
    "STP": "sustainability and transformation partnership",
    "MCP": "multispecialty community provider",
    "PACS": "primary and acute care system",
    "QOF": "quality and outcomes framework",
    "CQC": "care quality commission",
    "LMC": "local medical committee",
    "GP": "general practice",
    "SCF": "strategic commissioning framework",
    "A&E": "accident and emergency",
    "IT": "information technology",
}

# "How many / how big / what share" questions are answered by passages with figures in them.
# "How much say should the board have?": a share of power, not an amount the reports could count.
NOT_AN_AMOUNT = r"(?! (say|control|power|influence|autonomy|freedom|authority|involvement|input|choice|flexibility|" \
    r"independence|responsibility|trust|notice|attention|weight)\b)"
QUANTITY_QUESTION = re.compile(
    rf"\b(how (many|much{NOT_AN_AMOUNT}|big|large|long|often|fast)|what (size|number|proportion|percentage|share)|size of|per ?cent|figures?)\b",
    re.I)


# Everyday words people use for what the reports say in their own terms (applied to queries only).
SYNONYMS = {
    "big": "scale size population", "bigger": "scale size population", "size": "scale population",
    "governed": "governance board accountable", "run": "governance management", "legal": "status form company",
    "staff": "workforce employ", "employ": "staff workforce", "money": "funding finance investment",
    "pay": "payment funding incentive", "paid": "payment funding", "doctor": "gp", "hospital": "secondary acute",
    "admin": "administrative", "tech": "technology digital", "merge": "merger partnership",
    "join": "collaboration federation", "together": "collaboration", "IT": "technology systems",
    "train": "training education development", "complicated": "complex",
}


@lru_cache(maxsize=1)
def _synonyms() -> dict[str, list[str]]:
    """Stemmed everyday words mapped to the report terms they stand for (built once)."""
    return {stem(k.lower()): tokenize(v) for k, v in SYNONYMS.items()}


def query_terms(text: str) -> list[str]:
    """Query tokens plus domain synonyms, for BM25."""
    synonyms = _synonyms()
    tokens = tokenize(text)
    extra = [syn for t in tokens for syn in synonyms.get(t, ()) if syn not in tokens]
    return tokens + list(dict.fromkeys(extra))


def expand_query(query: str) -> str:
    """Add the spelled-out form of NHS abbreviations (and the abbreviation of spelled-out forms) to a query."""
    extra = []
    lowered = query.lower()
    for abbr, full in ABBREVIATIONS.items():
        if re.search(rf"(?<![A-Za-z]){re.escape(abbr)}s?(?![A-Za-z])", query) and full not in lowered:
            extra.append(full)
        elif full in lowered and abbr.lower() not in lowered.split():
            extra.append(abbr)
    return f"{query} ({'; '.join(extra)})" if extra else query


@dataclass(frozen=True)
class Retrieval:
    """Ranked passages plus the signal used to judge whether the reports cover a question."""

    passages: tuple[Passage, ...]
    top_similarity: float  # best cosine similarity of any passage to the question


class HybridRetriever:
    """Fuses BM25 and vector scores (convex, or reciprocal rank); the indexes are loaded when the record changes."""

    def __init__(self, settings: Settings, *, records: Records, store: VectorStore, embeddings: Embeddings) -> None:
        self._records, self._store, self._emb = records, store, embeddings
        # The weights come from settings (their one home); tests and tuning change them on a built retriever.
        self._candidates, self._rrf_k = settings.candidates, settings.rrf_k
        self.fusion, self.alpha = settings.fusion, settings.fusion_alpha
        self.doc_weight, self.window_weight = settings.doc_weight, settings.window_weight
        self.number_weight = settings.number_weight
        self.rerank_weight, self.rerank_depth = settings.rerank_weight, settings.rerank_depth
        # Reranking needs word-piece vectors, which only the packaged MiniLM gives.
        self._late = LateInteraction(records, embeddings, STOPWORDS) if has_token_vectors(embeddings) else None
        self._saved = Saved.beside_record(settings)
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._chunks: list[Chunk] = []
        self._by_id: dict[str, int] = {}
        self._sparse: SparseIndex | None = None

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every word the indexed passages use, as written (empty before the first question)."""
        return self._sparse.vocabulary if self._sparse else frozenset()

    def _ensure_index(self) -> None:
        generation = self._records.get_meta("generation")
        if generation is None:
            raise IndexError_("No index yet: run `assistant ingest` (or `make run`) to build it.")
        if generation == self._generation:
            return
        with self._lock:
            if generation == self._generation:
                return
            # Saved by the ingest that committed this generation, chunks included (at 100x on 2 busy cores: loaded
            # in 0.65 s, where reading the record's chunks and building took 1.1 s + 23-25 s, and the vectors in
            # 0.02-0.06 s, where reading them from Chroma took 6-7.7 s); built here, and saved for the next
            # process, when missing, damaged or made by other code.
            index = load_sparse(self._saved.sparse, generation, active=self._records.active_ids())
            if index is None:
                index = build_sparse(self._records.chunks(), self._records.documents())
                save_sparse(self._saved.sparse, generation, index)
            by_id = {c.chunk_id: i for i, c in enumerate(index.chunks)}
            vectors = load_vectors(self._saved.vectors, generation, key=index.key)
            if vectors is not None:
                self._store.use_vectors(generation, *vectors)
            elif index.chunks:
                ids, rows = self._store.vectors(generation, by_id)
                save_vectors(self._saved.vectors, generation, key=index.key, ids=ids, rows=rows)
            self._sparse, self._chunks, self._by_id = index, index.chunks, by_id
            self._generation = generation

    def chunks(self) -> list[Chunk]:
        """All active chunks (warming the BM25 index on first call)."""
        self._ensure_index()
        return self._chunks

    def missing_terms(self, terms: list[str]) -> list[str]:
        """Those of `terms` (names, acronyms, numbers) that no indexed passage mentions."""
        self._ensure_index()
        assert self._sparse is not None  # built or loaded by _ensure_index
        vocabulary, lower_stems = self._sparse.vocabulary, self._sparse.lower_stems
        missing = []
        for term in terms:
            parts = re.findall(r"[A-Za-z0-9]+", term)
            if not parts:
                continue
            if parts[0].isdigit():
                found = parts[0] in vocabulary  # 2015/16 is found as 2015
            elif term.isupper() or term[0].isupper():
                root = stem(term.lower())
                found = all(p in vocabulary or p.capitalize() in vocabulary or
                            (p.isupper() and p.lower() in lower_stems) for p in parts) or \
                    (len(root) >= 5 and root in lower_stems and root.capitalize() in vocabulary)  # Londoner -> London
            else:
                found = stem(term.lower()) in lower_stems
            if not found:
                missing.append(term)
        return missing

    def _doc_prior(self, sparse: SparseIndex, tokens: list[str]) -> np.ndarray:
        """Per chunk, how strongly the question names its document (a year, 'slides', 'London', a title word)."""
        # dict.fromkeys, not set: a fixed summing order keeps scores, and so ties, the same in every process.
        terms = list(dict.fromkeys(tokens))
        scores = np.array([sum(sparse.doc_terms.get(d, {}).get(t, 0.0) for t in terms) for d in sparse.doc_ids])
        if not len(scores) or scores.max() <= 0:
            return np.zeros(len(self._chunks))
        return (scores / scores.max())[sparse.doc_index]

    def retrieve(self, question: str, k: int = 5) -> Retrieval:
        """The `k` best passages for `question`, best first, with fused scores (blended with MaxSim where reranked)."""
        self._ensure_index()
        query = expand_query(question)
        if not self._chunks:
            return Retrieval((), 0.0)
        n = min(self._candidates, len(self._chunks))
        # Vectors of the active chunks (exact search, read once per generation): extra, as a chunk's windows repeat it.
        nearest: dict[int, float] = {}
        for chunk_id, sim in self._store.query(self._emb.embed_query(query), 3 * n + 10,
                                               generation=self._generation, active=self._by_id):
            idx = self._by_id.get(chunk_id)  # stale vectors of an interrupted ingest are skipped
            if idx is not None and sim > nearest.get(idx, -1.0):
                nearest[idx] = sim
        vector_hits = sorted(nearest.items(), key=lambda kv: (-score_key(kv[1]), kv[0]))[:n]  # ties: reading order
        tokens = query_terms(query)
        sparse = self._sparse
        assert sparse is not None  # built or loaded by _ensure_index with the chunks
        bm25 = sparse.bm25.get_scores(tokens) if tokens else np.zeros(len(self._chunks))
        if tokens and self.window_weight:
            # A question usually paraphrases one or two sentences: the best-matching sentence window
            # of a chunk is a sharper lexical signal than the whole chunk.
            scores = np.asarray(sparse.windows.get_scores(tokens), dtype=np.float64)
            best = np.maximum(np.maximum.reduceat(scores, sparse.starts), 0.0)
            bm25 = (1 - self.window_weight) * _unit(bm25) + self.window_weight * _unit(best)
        if self.fusion == "rrf":
            fused = np.zeros(len(self._chunks))
            for rank, (idx, _) in enumerate(vector_hits):
                fused[idx] += 1.0 / (self._rrf_k + rank + 1)
            for rank, idx in enumerate(top_indices(bm25, n)):
                if bm25[idx] > 0:
                    fused[idx] += 1.0 / (self._rrf_k + rank + 1)
        else:
            # Convex fusion of normalised scores keeps a strong single-signal match near the top,
            # which reciprocal-rank fusion dilutes (measured on the golden set: see evals/README.md).
            vec = np.zeros(len(self._chunks))
            if vector_hits:
                # Cosine scaled by the best hit (not min-max over the candidates, which exaggerates
                # small gaps between weak candidates).
                sims = np.clip(np.array([s for _, s in vector_hits]), 0.0, None)
                vec[[i for i, _ in vector_hits]] = sims / sims.max() if sims.max() > 0 else 0.0
            lex = _unit(bm25)
            fused = self.alpha * vec + (1 - self.alpha) * lex
        if self.doc_weight:
            fused = fused + self.doc_weight * self._doc_prior(sparse, tokens) * (fused > 0)
        if self.number_weight and QUANTITY_QUESTION.search(question):
            fused = fused + self.number_weight * sparse.figures * (fused > 0)
        # Reference lists repeat a question's words (titles of papers) without answering it.
        fused = fused * sparse.section_factor
        reranking = self._late is not None and self.rerank_weight > 0 and self.rerank_depth > 1
        order = [int(i) for i in top_indices(fused, max(k, self.rerank_depth) if reranking else k) if fused[i] > 0]
        scores = fused
        if reranking and len(order) > 1:
            order, scores = self._rerank(query, order, fused)
        order = order[:k]
        passages = tuple(Passage(rank=r + 1, chunk=self._chunks[i], score=float(scores[i])) for r, i in enumerate(order))
        top_sim = max((s for _, s in vector_hits), default=0.0)
        return Retrieval(passages, top_sim)

    def _rerank(self, query: str, order: list[int], fused: np.ndarray) -> tuple[list[int], np.ndarray]:
        """The best `rerank_depth` of `order` reordered by fused score blended with MaxSim; the rest follow."""
        head, tail = order[: self.rerank_depth], order[self.rerank_depth :]
        assert self._late is not None  # retrieve reranks only when word-piece vectors are there
        late = self._late.scores(query, [self._chunks[i] for i in head])
        if late is None:  # an index without word-piece vectors (re-embedded by the next ingest) keeps its order
            return order, fused
        blended = blend(fused[head], late, self.rerank_weight)
        scores = fused * (1 - self.rerank_weight) / fused[head].max()  # the tail, as if MaxSim were 0
        scores[head] = blended
        ranked = sorted(range(len(head)), key=lambda j: (-score_key(float(blended[j])), j))  # ties keep the fused order
        return [head[j] for j in ranked] + tail, scores


def _unit(scores: np.ndarray) -> np.ndarray:
    """Scores divided by their maximum (all zeros stay zeros)."""
    top = scores.max() if len(scores) else 0.0
    return scores / top if top > 0 else scores
