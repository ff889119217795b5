"""Moving a lead through the service: the log names the contract version in force."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from baton.contract import default_contract_text
from baton.errors import InvalidTransition, NotFound
from baton.service.contracts import apply_contract
from baton.service.lifecycle import move_lead
from baton.store import tables as t
from baton.store.repositories import LeadRepository
from baton.store.uow import UnitOfWork

T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


def test_moves_are_logged_with_the_version_in_force_and_refusals_change_nothing(engine: Engine) -> None:
    text = default_contract_text()
    stricter = text.replace("# effective_from = 2026-01-01", "effective_from = 2026-04-01").replace(
        "forward_only = true", "forward_only = true\nallow_skip = false"
    ).replace("allow_skip = true", "")
    with UnitOfWork(engine) as uow:
        apply_contract(uow.session, text, clock=lambda: T0 - dt.timedelta(days=30))
        apply_contract(uow.session, stricter, clock=lambda: T0)
        lead = t.Lead(source="test", external_id="L1", created_at=T0, stage="lead", stage_entered_at=T0, properties={})
        uow.session.add(lead)
        uow.commit()
        lead_id = lead.id

    with UnitOfWork(engine) as uow:
        # March: version 1 allows skipping straight to SQL
        change = move_lead(uow, lead_id, "sql", actor="rep@x", clock=lambda: T0 + dt.timedelta(hours=1))
        assert change.contract_version == 1
        uow.commit()
    with UnitOfWork(engine) as uow:
        # April: version 2 forbids skipping, and a backward move is refused outright
        april = dt.datetime(2026, 4, 2, 15, tzinfo=dt.UTC)
        with pytest.raises(InvalidTransition, match="skips opportunity"):
            move_lead(uow, lead_id, "customer", actor="rep@x", clock=lambda: april)
        with pytest.raises(InvalidTransition, match="needs a reason"):
            move_lead(uow, lead_id, "recycled", actor="rep@x", clock=lambda: april)
        change = move_lead(uow, lead_id, "recycled", actor="rep@x", clock=lambda: april, reason="no-budget")
        assert change.contract_version == 2
        uow.commit()
    with UnitOfWork(engine) as uow:
        repo = LeadRepository(uow.session)
        assert repo.get(lead_id).stage == "recycled"
        log = [(c.from_stage, c.to_stage, c.reason) for c in repo.history(lead_id)]
        assert log == [("lead", "sql", None), ("sql", "recycled", "no-budget")]
        with pytest.raises(NotFound):
            move_lead(uow, 999_999, "mql", actor="x", clock=lambda: T0)
