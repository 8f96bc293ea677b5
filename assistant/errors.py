"""The exception family of the assistant; every message says what to do next.

    AssistantError                 base of everything the library raises on purpose
    ├── ConfigError                settings that cannot work together
    ├── InputError                 a question or file the user gave us that we cannot use
    ├── KnowledgeError             a knowledge file that cannot be read (reported and skipped by ingest)
    ├── IndexError_                the index is missing, corrupt or built with another embedding model
    ├── StoreError                 the Chroma store (embedded or server) cannot be reached or written
    └── LLMError                   the language model server failed, timed out or answered garbage
"""


class AssistantError(Exception):
    """Base class: a failure the user can act on; the message says how."""


class ConfigError(AssistantError):
    """Settings are missing or contradictory."""


class InputError(AssistantError):
    """A question or upload that cannot be used as it is."""


class KnowledgeError(AssistantError):
    """A file in the knowledge directory that cannot be read."""


class IndexError_(AssistantError):
    """The index is missing, corrupt or was built by another embedding model."""


class StoreError(AssistantError):
    """The vector store cannot be reached or written."""


class LLMError(AssistantError):
    """The language model server failed, timed out or returned unusable output."""
