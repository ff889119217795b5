"""One exception tree for Baton.

Every error Baton raises on purpose derives from :class:`BatonError`. Classes that describe
bad input also derive from the matching built-in (``ValueError``, ``LookupError``) so callers
can catch either. Nothing here knows about HTTP or the terminal: the web layer and the CLI map
these classes to status codes and exit codes at the edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class BatonError(Exception):
    """Base of every error Baton raises on purpose."""


class InvalidInput(BatonError, ValueError):
    """Input that cannot be used as given: a bad value, a missing field, a malformed file.

    ``field`` names the offending field when there is one (``email``, ``batch[3].timestamp``),
    so the API can point at it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(BatonError, LookupError):
    """A record, file or setting that was asked for does not exist."""


class Conflict(BatonError):
    """The request contradicts what is already stored (a duplicate key, a stale version)."""


class InvalidTransition(BatonError):
    """A lifecycle move the contract does not allow; the message names the rule that refused it."""

    def __init__(self, message: str, *, from_stage: str | None, to_stage: str) -> None:
        super().__init__(message)
        self.from_stage = from_stage
        self.to_stage = to_stage


class NotFitted(BatonError):
    """A model was used before it was trained."""


class StoreError(BatonError):
    """The database failed in a way that is not the caller's fault (connection lost, disk full)."""


class TooLarge(InvalidInput):
    """Input over a size limit (a request body, one event of a batch); ``limit`` is in bytes."""

    def __init__(self, message: str, *, limit: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.limit = limit


class Unauthorized(BatonError):
    """No credentials, or credentials that name no active API token."""


class Forbidden(BatonError):
    """Valid credentials whose token lacks the scope the action needs."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a contract or an import file.

    ``where`` is a key path (``stages[3].kind``) or a file position
    (``leads.csv row 42 column email``); ``message`` says what is wrong and what to do.
    """

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ProblemsError(InvalidInput):
    """Several problems found at once; ``problems`` holds each of them."""

    #: How many problems the message lists before it says "and N more".
    shown = 20

    def __init__(self, summary: str, problems: Sequence[Problem]) -> None:
        self.summary = summary
        self.problems = list(problems)
        lines = [summary, *(f"  {p}" for p in self.problems[: self.shown])]
        if len(self.problems) > self.shown:
            lines.append(f"  ... and {len(self.problems) - self.shown} more")
        super().__init__("\n".join(lines))


class ContractInvalid(ProblemsError):
    """The contract (``baton.toml``) has problems; each names its key path and what to do."""


class ImportRejected(ProblemsError):
    """An import found bad rows; nothing was written. Each problem names file, row and column."""
