"""Attribution: which channels and campaigns the conversions and revenue are credited to.

Every model reads :class:`~baton.analytics.attribution.journeys.Journeys` (touches in order, one
row per journey with its outcome) as Ibis tables, pushes the per-touch work to the engine, and
returns a small table of credit per channel that adds up to the totals.
"""
