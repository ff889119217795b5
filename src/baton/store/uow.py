"""The unit of work: one transaction, committed whole or rolled back whole."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from baton.store.engine import translate_errors


class UnitOfWork:
    """A session over one transaction. Use as a context manager; call :meth:`commit` to keep.

    Leaving the block without committing, or by an exception, rolls everything back: this is
    what makes imports all-or-nothing.
    """

    def __init__(self, engine: Engine) -> None:
        self._factory = sessionmaker(bind=engine, expire_on_commit=False)
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        with translate_errors("saving to the database"):
            self.session.commit()
