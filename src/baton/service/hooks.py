"""What runs after events are stored: the place scoring, qualification and routing plug in.

:func:`on_event_stored` is called once per lead that received events in a request, inside the
same transaction, after the events, touchpoints and stitching are written; whatever it writes
is committed with them or not at all. The lead's new events are readable from the session.
"""

from __future__ import annotations

from baton.domain.model import Clock
from baton.store.uow import UnitOfWork


def on_event_stored(uow: UnitOfWork, lead_id: int, clock: Clock) -> None:
    """React to new events of lead ``lead_id``.

    Nothing yet. This is where the rule scorer rescores the lead, the contract's MQL rule is
    applied, and an MQL is routed to its owner (speed-to-lead is measured from the request
    that stored the event to the end of this call).
    """
