"""The one typed settings object, read from ASSISTANT_* variables and `.env`, built once at the edge."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable; components are chosen from these values by the factories."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore")

    # Where things live.
    knowledge_dir: Path = Path("knowledge")
    data_dir: Path = Path(".data")
    prompts_dir: Path = Path(__file__).resolve().parent.parent / "prompts"
    tiktoken_cache_dir: Path | None = Field(
        default=None, validation_alias=AliasChoices("TIKTOKEN_CACHE_DIR", "ASSISTANT_TIKTOKEN_CACHE_DIR")
    )

    # Vector store: embedded (persistent) unless a Chroma server URL is given.
    chroma_url: str | None = None
    # The record of what is indexed; put it on shared storage when several replicas serve one store.
    records_path: Path | None = None
    feedback_path: Path | None = None  # SQLite feedback file; shared storage when several replicas serve
    conversations_path: Path | None = None  # SQLite file of saved chats; shared storage like feedback
    conversation_retention_days: int = Field(90, ge=0)  # saved chats untouched this long are deleted; 0 keeps them
    collection: str = "federation_advisor"

    # Embeddings: the packaged int8 MiniLM by default; "openai:<model>" uses the OpenAI API.
    embedding_model: str = "minilm-int8"
    embedding_threads: int = 0  # 0 lets onnxruntime choose
    embedding_batch: int = 16
    ingest_batch: int = 1024  # sentence windows embedded and stored per step (a crash loses at most one step)

    # Chunking, measured in cl100k_base tokens; MiniLM reads at most 256 word pieces.
    chunk_tokens: int = 180
    chunk_overlap: int = 40
    chunk_min_tokens: int = 60  # smaller sections (table rows, one-line boxes) join the next one

    # Retrieval.
    top_k: int = 5
    candidates: int = 60
    rrf_k: int = 60
    fusion: Literal["convex", "rrf"] = "convex"
    fusion_alpha: float = 0.55  # weight of the vector score in convex fusion
    window_weight: float = 0.5  # share of the lexical score taken from the best sentence window of a chunk
    number_weight: float = 0.1  # boost for passages with figures when the question asks how many / how big
    doc_weight: float = 0.1  # boost for chunks of a document the question names (year, 'slides', title words)
    # Late interaction (MaxSim over stored word-piece vectors) reorders the best `rerank_depth` passages; 0 turns it off.
    rerank_weight: float = Field(0.2, ge=0.0, le=1.0)
    rerank_depth: int = Field(10, ge=1)
    # Below this cosine similarity of the best passage, the reports are taken not to cover the question.
    min_similarity: float = 0.40

    # Answering.
    answerer: Literal["auto", "offline", "llm"] = "auto"
    model: str = "gpt-4o-mini"
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "ASSISTANT_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "ASSISTANT_OPENAI_BASE_URL")
    )
    llm_timeout_s: float = 30.0
    llm_max_retries: int = 2
    llm_context_tokens: int = 6000
    llm_temperature: float = 0.0

    # Input limits.
    max_question_chars: int = 2000

    # Serving.
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = None  # "user:password,user2:password2"
    log_questions: bool = True

    @property
    def llm_configured(self) -> bool:
        """True when an OpenAI-compatible endpoint has been configured."""
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())

    @property
    def records_db(self) -> Path:
        """SQLite record of indexed documents and chunks."""
        return self.records_path or self.data_dir / "records.sqlite3"

    @property
    def tiktoken_dir(self) -> Path:
        """Where tiktoken's encoding files are written for offline use."""
        return self.tiktoken_cache_dir or self.data_dir / "tiktoken"

    @property
    def feedback_db(self) -> Path:
        """SQLite file holding user feedback."""
        return self.feedback_path or self.data_dir / "feedback.sqlite3"

    @property
    def conversations_db(self) -> Path:
        """SQLite file holding saved conversations, next to the feedback file unless set."""
        return self.conversations_path or self.feedback_db.with_name("conversations.sqlite3")

    @property
    def log_file(self) -> Path:
        """JSON-lines log of questions (hashed, no personal data)."""
        return self.data_dir / "questions.jsonl"
