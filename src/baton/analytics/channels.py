"""Which channels are marketing's: the one list every marketing-sourced or -influenced number reads.

Channels are the lower snake case names the importers and the demo give leads and touches
(``paid_search``, ``events``, HubSpot's ``direct_traffic``). Every channel is a marketing
channel except the ones listed in :data:`NOT_MARKETING`, so a channel a new source brings in
counts for marketing until it is listed here. A missing channel is never marketing.
"""

from __future__ import annotations

import ibis

#: Channels that are not marketing's, each with the reason.
NOT_MARKETING: dict[str, str] = {
    "direct": "a visitor who typed the address: no campaign or content brought them",
    "direct_traffic": "HubSpot's name for direct",
    "sales": "created by a salesperson",
    "outbound": "prospected by sales (cold calls and emails)",
    "unknown": "the source did not say",
}


def is_marketing(
    channel: ibis.StringValue, not_marketing: frozenset[str] | None = None
) -> ibis.BooleanValue:
    """True where ``channel`` is a marketing channel; false (never null) where it is missing.

    Parameters
    ----------
    channel
        A string column of channel names.
    not_marketing
        The channels that are not marketing's; :data:`NOT_MARKETING` by default.
    """
    excluded = sorted(NOT_MARKETING if not_marketing is None else not_marketing)
    return channel.notnull() & ~channel.isin(excluded)


def describe() -> str:
    """The rule in one sentence, for the KPI definitions."""
    listed = ", ".join(f"`{name}`" for name in NOT_MARKETING)
    return f"A marketing channel is any channel except {listed} (and a missing channel)."
