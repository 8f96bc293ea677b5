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
    # PostgreSQL for the shared state of several replicas (postgresql://user:password@host:5432/advisor): when set,
    # the records, feedback, conversations and audit log all live there and the four *_path settings are unused.
    database_url: SecretStr | None = None  # secret: it holds the password; messages show it as ***
    # Else SQLite files, in the data directory unless set (SQLite warns against network file systems for them).
    records_path: Path | None = None  # the record of what is indexed
    feedback_path: Path | None = None
    audit_path: Path | None = None  # the record of library changes
    conversations_path: Path | None = None  # saved chats
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
    llm_timeout_s: float = 30.0  # longest wait for any one read from the server
    llm_deadline_s: float = Field(120.0, gt=0)  # longest a whole answer may take, retries and streaming included
    llm_max_retries: int = 2
    # The prompt's budget (cl100k tokens); lowered to fit where the server states its context size.
    llm_context_tokens: int = 6000
    llm_temperature: float = 0.0
    # Token caps per request (max_tokens), sized to each use: a cited answer of a few paragraphs, a one-line
    # rewritten question, one briefing section, a workshop's discussion, quiz and note, a judge's JSON verdict.
    llm_answer_tokens: int = Field(400, ge=1)
    llm_rewrite_tokens: int = Field(64, ge=1)
    llm_brief_tokens: int = Field(350, ge=1)
    llm_workshop_tokens: int = Field(700, ge=1)
    llm_judge_tokens: int = Field(400, ge=1)

    # Input limits, checked before anything else reads the input (UI, CLI and the `ask` API alike).
    max_question_chars: int = 2000
    # Uploads: checked and read in a worker process with its own memory and time budget, before indexing.
    # The largest curated report is 157 KB of text (about 157,000 characters): 2,000,000 is 13 of those.
    upload_max_bytes: int = Field(50 * 1024 * 1024, ge=1)
    upload_max_unzipped_bytes: int = Field(100 * 1024 * 1024, ge=1)  # a DOCX's entries, summed, from its directory
    upload_max_zip_entries: int = Field(2000, ge=1)
    upload_max_pdf_pages: int = Field(1000, ge=1)
    upload_max_text_chars: int = Field(2_000_000, ge=1)  # text of a .txt/.md, or extracted from a PDF or DOCX
    upload_worker_seconds: float = Field(60.0, gt=0)
    upload_worker_memory_mb: int = Field(1024, ge=64)

    max_history_turns: int = 40  # earlier messages (a question or an answer each) a follow-up may carry
    max_history_chars: int = 60_000  # their total length (20 answers of about 3,000 characters)

    # Per browser session: answers whose passages are kept for the sources panel (older ones keep their quotes);
    # a conversation holds at most max_history_turns / 2 questions, then asks for a new one.
    sources_kept: int = Field(3, ge=1)
    feedback_per_hour: int = Field(30, ge=1)  # per signed-in user, or per browser session without login
    login_free_failures: int = Field(3, ge=1)  # then each failed sign-in doubles the wait: 1 s, 2 s ... up to:
    login_max_wait_s: float = 300.0
    export_keep_s: float = 900.0  # downloads are removed from the private exports folder after this long
    log_key: SecretStr | None = None  # HMAC key for the question log; unset: one is made once in the data directory

    # Serving.
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = None  # "user:password,user2:password2"
    # Bearer keys ("key1,key2") for the OpenAI-compatible API (/v1). Unset: the API is refused while a login
    # (ASSISTANT_AUTH) guards the chat, and open, as the chat is, when there is no login either.
    api_keys: SecretStr | None = None
    # With a login, only these users (comma-separated) may add documents and export feedback.
    admins: str | None = None
    # Without a login, library changes and the feedback export are off unless this is set (one person's machine;
    # even then only requests from this machine, 127.0.0.1 or ::1, are allowed).
    allow_local_changes: bool = False
    log_questions: bool = True

    @property
    def llm_configured(self) -> bool:
        """True when an OpenAI-compatible endpoint has been configured."""
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())

    def llm_max_tokens(self, use: str) -> int:
        """The max_tokens cap of a request for `use`: answer, rewrite, brief, workshop or judge."""
        caps = {"answer": self.llm_answer_tokens, "rewrite": self.llm_rewrite_tokens, "brief": self.llm_brief_tokens,
                "workshop": self.llm_workshop_tokens, "judge": self.llm_judge_tokens}
        return caps.get(use, self.llm_answer_tokens)

    @property
    def records_db(self) -> Path | str:
        """Record of indexed documents and chunks: the PostgreSQL URL when set, else a SQLite file."""
        return self._database or self.records_path or self.data_dir / "records.sqlite3"

    @property
    def tiktoken_dir(self) -> Path:
        """Where tiktoken's encoding files are written for offline use."""
        return self.tiktoken_cache_dir or self.data_dir / "tiktoken"

    @property
    def feedback_db(self) -> Path | str:
        """User feedback: the PostgreSQL URL when set, else a SQLite file."""
        return self._database or self._feedback_file

    @property
    def _database(self) -> str | None:
        return self.database_url.get_secret_value() if self.database_url else None

    @property
    def _feedback_file(self) -> Path:
        return self.feedback_path or self.data_dir / "feedback.sqlite3"

    @property
    def audit_db(self) -> Path | str:
        """Record of every library change and feedback export (who, when, what, the file's hash): the PostgreSQL
        URL when set, else a SQLite file."""
        return self._database or self.audit_path or self.data_dir / "audit.sqlite3"

    @property
    def staging_dir(self) -> Path:
        """Where uploads wait while they are checked and indexed; never read by ingest on its own."""
        return self.data_dir / "uploads"

    @property
    def max_history_json_chars(self) -> int:
        """Longest JSON text of a history taken (API, CLI): about twice the longest history allowed; more is refused unread."""
        return 2 * self.max_history_chars + 64 * self.max_history_turns

    @property
    def exports_dir(self) -> Path:
        """Private (0700) folder for files prepared for download."""
        return self.data_dir / "exports"

    @property
    def log_key_file(self) -> Path:
        """Where the question log's HMAC key is kept (0600) when ASSISTANT_LOG_KEY is not set."""
        return self.data_dir / "log.key"

    @property
    def conversations_db(self) -> Path | str:
        """Saved conversations: the PostgreSQL URL when set, else a SQLite file next to the feedback file unless set."""
        return self._database or self.conversations_path or self._feedback_file.with_name("conversations.sqlite3")

    @property
    def log_file(self) -> Path:
        """JSON-lines log of questions (hashed, no personal data)."""
        return self.data_dir / "questions.jsonl"
