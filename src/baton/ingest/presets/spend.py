"""Marketing spend per month (CSV): what each channel, and optionally each campaign, cost.

One row is the money spent in one calendar month on one channel, optionally on one campaign
of that channel::

    month,channel,campaign,amount,currency
    2026-07,paid_search,Brand keywords,3000.00,USD
    2026-07,events,,6000,USD

``month`` is ``YYYY-MM`` or any date in the month; ``channel`` is folded to lower snake case
(``Paid Search`` → ``paid_search``), the form the other presets give lead channels, so CAC
per channel matches spend to customers; ``campaign`` (optional) is the external id, or else
the name, of a campaign of the same source (``--source``); ``currency`` (optional) must be the
contract's currency, because Baton does not convert money. Each month, channel and campaign
may appear once; importing the file again updates the amounts that changed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path

from baton.contract.model import Contract
from baton.ingest.csvfile import Problems, Row, parse_moment
from baton.ingest.presets import ImportOptions
from baton.ingest.presets.common import Field, Header, currency, read_rows, snake
from baton.ingest.records import ImportBundle, SpendIn
from baton.progress import Progress

SOURCE = "spend"

FIELDS = (
    Field("month", ("month",), required=True),
    Field("channel", ("channel",), required=True),
    Field("campaign", ("campaign",)),
    Field("amount", ("amount", "spend", "cost"), required=True),
    Field("currency", ("currency",)),
)
_YEAR_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def read(
    paths: Sequence[Path], contract: Contract, options: ImportOptions, progress: Progress
) -> ImportBundle:
    """Read monthly spend files into :class:`~baton.ingest.records.SpendIn` records.

    Parameters
    ----------
    paths
        Spend files (CSV), or folders holding them.
    contract
        The contract in force; spend must be in its currency.
    options
        ``source`` names the system whose campaigns the ``campaign`` column refers to
        (``spend`` by default); ``timezone`` reads dates given with a time.
    progress
        Shows one bar per file.

    Returns
    -------
    ImportBundle
        The spend rows, with every bad row as a problem naming its file, row and column.
    """
    bundle = ImportBundle(source=options.source or SOURCE)
    problems = Problems()
    money = contract.organization.currency
    first: dict[str, Row] = {}
    for row, h in read_rows(paths, FIELDS, bundle, problems, options.zone, progress):
        month = _month(row, h)
        channel = _channel(row, h["channel"])
        campaign = row.text(h["campaign"])
        amount = row.number(h["amount"], required=True)
        code = currency(row, h["currency"])
        if amount is not None and amount < 0:
            row.problems.add(
                f"{row.where} column {h['amount']}",
                f'"{row.text(h["amount"])}" is negative; spend is what a month cost, so write '
                "refunds as a lower amount for that month",
            )
            amount = None
        if code is not None and code != money:
            row.problems.add(
                f"{row.where} column {h['currency']}",
                f'"{code}" is not the contract\'s currency {money}; Baton does not convert '
                f"money, so convert the amount to {money} (or leave the cell empty)",
            )
        if month is None or channel is None or amount is None:
            continue
        key = f"{month:%Y-%m}:{channel}:{campaign or ''}"
        if key in first:
            earlier = first[key]
            where = f"row {earlier.line}" if earlier.file == row.file else earlier.where
            row.problems.add(
                row.where,
                f"repeats the month, channel and campaign of {where}; add the amounts up "
                "into one row",
            )
            continue
        first[key] = row
        bundle.spend.append(SpendIn(
            key, channel=channel, month=month, amount=amount, campaign=campaign,
            currency=money, properties=h.extras(row), origin=row.where,
        ))
    bundle.problems.extend(problems.items)
    return bundle


def _month(row: Row, h: Header) -> dt.date | None:
    """The first day of the row's month, from ``YYYY-MM`` or any date in the month."""
    column = h["month"]
    text = row.text(column, required=True)
    if text is None:
        return None
    found = _YEAR_MONTH.match(text)
    if found:
        return dt.date(int(found[1]), int(found[2]), 1)
    moment = parse_moment(text, row.zone, row.date_formats)
    if moment is None:
        row.problems.add(
            f"{row.where} column {column}",
            f'"{text}" is not a month; write it as 2026-07 or as a date such as 2026-07-01',
        )
        return None
    return moment.astimezone(row.zone).date().replace(day=1)


def _channel(row: Row, column: str) -> str | None:
    """The channel in lower snake case, the form lead channels take."""
    text = row.text(column, required=True)
    if text is None:
        return None
    channel = snake(text)
    if not channel:
        row.problems.add(
            f"{row.where} column {column}",
            f'"{text}" is not a channel name; use letters or digits, e.g. paid_search',
        )
        return None
    return channel


READERS = {"spend": read}
