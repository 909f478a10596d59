"""The project's error hierarchy.

Library code raises these with the offending value in the message; they are turned into
user-facing text only at the edges (CLI exit code and stderr line, ``gr.Error`` in the UI).
"""


class RagError(Exception):
    """Base class for every error this package raises on purpose."""

    exit_code = 1


class InputError(RagError):
    """Bad input from the user: a path, a question, a battery line, a setting."""

    exit_code = 2


class EmptyQuestionError(InputError):
    """A question with nothing left once cleaned (blank, or only control characters)."""


class QuestionTooLongError(InputError):
    """A question longer than ``Settings.max_question_chars`` once cleaned."""

    def __init__(self, message: str, length: int, limit: int):
        super().__init__(message)
        self.length = length
        self.limit = limit


class EmptyCorpusError(InputError):
    """Indexing was asked for but no readable document was found."""


class DocumentError(InputError):
    """A single document could not be read or parsed."""


class IndexNotFoundError(RagError):
    """No index exists where one was expected."""


class IndexCorruptError(RagError):
    """An index exists but cannot be loaded (truncated, mismatched, unreadable)."""


class IndexLockedError(RagError):
    """Another process holds the index directory's write lock."""


class EmbedderUnavailableError(RagError):
    """An embedding backend cannot be used here (missing package, failed model export)."""


class LLMError(RagError):
    """The language model endpoint failed (down, timeout, error status, garbage)."""


class LLMTimeoutError(LLMError):
    """The endpoint did not answer within the configured timeout."""


class LLMUnavailableError(LLMError):
    """The endpoint could not be reached at all."""


class LLMResponseError(LLMError):
    """The endpoint answered, but with an error status or an unusable body."""


class StoreError(RagError):
    """The index store (a PostgreSQL database) refused or failed an operation."""


class StoreUnavailableError(StoreError):
    """The database cannot be reached (down, restarting, network); retrying later may work."""


class StoreAccessError(StoreError):
    """The database refused us: wrong password, missing privilege, missing pgvector."""

    exit_code = 2


class StoreSchemaError(StoreError):
    """The database has no schema, an older one, or one built for another embedding model."""

    exit_code = 2
