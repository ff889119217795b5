"""Lead-to-account matching: which account a person belongs to, with the rule and how sure.

Rules, tried in this order; the first that finds an account wins (docs/api.md has the table):

======================  ==========  ====================================================
rule                    confidence  when
======================  ==========  ====================================================
``group``               1.0         a Segment ``group`` call tied the person to the account
``website``             0.95        the person's company website has the account's domain
``email-domain``        0.9         the email's domain (not a free-mail one) is the account's
``company-name``        0.85        the company name equals the account's, once normalised
``company-name-fuzzy``  0.85 * s    the normalised names are alike: rapidfuzz
                                    ``token_sort_ratio`` s ≥ 0.90
======================  ==========  ====================================================

Domains match exactly or through a parent (``eu.acme.com`` finds ``acme.com``). Names are
normalised before comparing: case and accents folded, ``&`` read as ``and``, punctuation
dropped, and legal forms (Inc, GmbH, Ltd, ... :data:`LEGAL_FORMS`) removed from the end.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from baton.ingest.channels import host_of
from baton.ingest.freemail import is_free_mail

#: Legal-form words removed from the end of a company name before comparing.
LEGAL_FORMS = frozenset(
    {
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "llc",
        "llp",
        "lp",
        "ltd",
        "limited",
        "plc",
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "ohg",
        "ug",
        "se",
        "sa",
        "sas",
        "sarl",
        "sl",
        "srl",
        "spa",
        "bv",
        "nv",
        "oy",
        "oyj",
        "ab",
        "as",
        "asa",
        "aps",
        "kk",
        "pty",
        "pte",
        "pvt",
        "holding",
        "holdings",
        "group",
    }
)
FUZZY_CUTOFF = 90.0
CONFIDENCE = {
    "group": 1.0,
    "website": 0.95,
    "email-domain": 0.9,
    "company-name": 0.85,
    "company-name-fuzzy": 0.85,
}
_PUNCTUATION = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class AccountMatch:
    """The account found for a person, the rule that found it and its confidence (0 to 1)."""

    account_id: int
    rule: str
    confidence: float


def normalise_company(name: str) -> str:
    """A company name folded for comparison: ``"ACME, Inc."`` and ``"Acme"`` both give ``acme``."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    folded = "".join(c for c in folded if not unicodedata.combining(c)).replace("&", " and ")
    words = _SPACES.sub(" ", _PUNCTUATION.sub(" ", folded)).strip().split(" ")
    if words and words[0] == "the" and len(words) > 1:
        words = words[1:]
    while True:
        before = len(words)
        while len(words) > 1 and words[-1] in LEGAL_FORMS:
            words.pop()
            if len(words) > 1 and words[-1] == "and":  # "GmbH & Co. KG"
                words.pop()
        # "G.m.b.H." and "S.A." lose their dots above and arrive as one-letter words: drop
        # the longest tail of one-letter words that spells a legal form
        cut, tail = 0, ""
        for i in range(len(words) - 1, 0, -1):
            if len(words[i]) != 1:
                break
            tail = words[i] + tail
            if tail in LEGAL_FORMS:
                cut = i
        if cut:
            words = words[:cut]
        if len(words) == before:
            break
    return " ".join(words)


def normalise_domain(value: str | None) -> str | None:
    """The host of a website or a bare domain, lower case, without ``www.``; ``None`` if none."""
    if not value or not value.strip():
        return None
    host = host_of(value.strip())
    return host if host and "." in host else None


def email_domain(email: str | None) -> str | None:
    """The domain of an address, or ``None`` for a free-mail domain or no address."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip().lower()
    return None if not domain or is_free_mail(domain) else domain


def domain_candidates(domain: str) -> list[str]:
    """``domain`` and its parents down to two labels: ``eu.acme.com`` → that, ``acme.com``."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(max(len(labels) - 1, 1))]


class AccountIndex:
    """Accounts to match against: ids by domain and by normalised name.

    Build it from ``(id, name, domain)`` rows. Where several accounts share a domain or a
    normalised name, the lowest id (the oldest) is matched.
    """

    def __init__(self, accounts: Iterable[tuple[int, str | None, str | None]] = ()) -> None:
        self.by_domain: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        self._names: list[str] = []
        self._ids: list[int] = []
        for account_id, name, domain in sorted(accounts, key=lambda row: row[0]):
            self.add(account_id, name, domain)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, account_id: int, name: str | None, domain: str | None) -> None:
        """Make one more account matchable."""
        self._ids.append(account_id)
        host = normalise_domain(domain)
        if host:
            self.by_domain.setdefault(host, account_id)
        key = normalise_company(name) if name else ""
        self._names.append(key)
        if key:
            self.by_name.setdefault(key, account_id)

    def find_domain(self, domain: str | None) -> int | None:
        """The account whose domain is ``domain`` or one of its parents."""
        if not domain:
            return None
        for candidate in domain_candidates(domain):
            found = self.by_domain.get(candidate)
            if found is not None:
                return found
        return None

    def find_fuzzy(self, key: str) -> tuple[int, float] | None:
        """The account whose normalised name is most like ``key``, with the score (0-100)."""
        if not self._names:
            return None
        best = process.extractOne(
            key, self._names, scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_CUTOFF
        )
        return None if best is None else (self._ids[best[2]], float(best[1]))

    def match(
        self, *, email: str | None = None, website: str | None = None, company: str | None = None
    ) -> AccountMatch | None:
        """The account for a person with this email, company website and company name."""
        return match_account([self], email=email, website=website, company=company)


def match_account(
    indexes: Sequence[AccountIndex],
    *,
    email: str | None = None,
    website: str | None = None,
    company: str | None = None,
) -> AccountMatch | None:
    """Apply the rules in order over several indexes (the stored accounts, the ones being
    created); within a rule the first index that matches wins, fuzzy takes the best score."""
    for rule, domain in (
        ("website", normalise_domain(website)),
        ("email-domain", email_domain(email)),
    ):
        for index in indexes:
            found = index.find_domain(domain)
            if found is not None:
                return AccountMatch(found, rule, CONFIDENCE[rule])
    key = normalise_company(company) if company else ""
    if not key:
        return None
    for index in indexes:
        found = index.by_name.get(key)
        if found is not None:
            return AccountMatch(found, "company-name", CONFIDENCE["company-name"])
    scored = [hit for index in indexes if (hit := index.find_fuzzy(key)) is not None]
    if not scored:
        return None
    account_id, score = max(scored, key=lambda hit: hit[1])
    confidence = round(CONFIDENCE["company-name-fuzzy"] * score / 100, 3)
    return AccountMatch(account_id, "company-name-fuzzy", confidence)
