"""What runs after events are stored: the place scoring, qualification and routing plug in.

:func:`on_event_stored` is called once per lead that received events in a request, inside the
same transaction, after the events, touchpoints and stitching are written; whatever it writes
is committed with them or not at all. The lead's new events are readable from the session.
"""

from __future__ import annotations

from baton.domain.model import Clock
from baton.errors import NotFound
from baton.service.routing import route_lead
from baton.service.scoring import score_lead
from baton.store.uow import UnitOfWork


def on_event_stored(uow: UnitOfWork, lead_id: int, clock: Clock) -> None:
    """React to new events of lead ``lead_id``.

    The contract's rule models rescore the lead; when the score takes it across the MQL
    threshold (with the required fields filled), the lifecycle moves it to MQL and it is routed
    to its owner at once, with the SLA clock started and the notification queued, all in this
    transaction (speed-to-lead is measured from the request that stored the event to the end
    of this call). A lead no score model applies to is left as it is.
    """
    try:
        scored = score_lead(uow, lead_id, clock=clock)
    except NotFound:
        return
    if scored.moved is not None:
        route_lead(uow, lead_id, clock=clock)
