"""What runs after events are stored: the place scoring, qualification and routing plug in.

:func:`on_events_stored` is called once per request (or per group of requests written
together) with every lead that received events, inside the same transaction, after the
events, touchpoints and stitching are written; whatever it writes is committed with them or
not at all. The leads' new events are readable from the session.
"""

from __future__ import annotations

from collections.abc import Sequence

from baton.domain.model import Clock
from baton.service.routing import route_leads
from baton.service.scoring import score_leads
from baton.store.uow import UnitOfWork


def on_events_stored(uow: UnitOfWork, lead_ids: Sequence[int], clock: Clock) -> None:
    """React to new events of the leads ``lead_ids``.

    The contract's rule models rescore the leads together (one read and one write for all of
    them); each lead the score takes across the MQL threshold (with the required fields
    filled) is moved to MQL by the lifecycle and routed to its owner at once (together: one
    read of the roster for them all), with the SLA clock started and the notification queued,
    all in this transaction (speed-to-lead is
    measured from the request that stored the event to the end of this call). Leads no score
    model applies to are left as they are.
    """
    moved = [s.lead_id for s in score_leads(uow, lead_ids, clock=clock) if s.moved is not None]
    if moved:
        route_leads(uow, moved, clock=clock)
