"""Metrics as Ibis expressions over the store's tables: tables in, tables out.

:func:`baton.analytics.engine.connect` opens the store's database with Ibis; the functions in
the modules here build expressions that run inside it, so only small results come back.
"""
