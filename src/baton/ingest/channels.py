"""Which channel brought a touch, from its UTM tags, ad-click ids and referrer.

The rule, first match wins (docs/api.md repeats it):

1. ``utm_medium`` names a channel (:data:`MEDIUMS`, compared lower-case with ``-`` and spaces
   read as ``_``). Paid search mediums (``cpc``, ``ppc``) from a social network's
   ``utm_source`` count as ``paid_social``.
2. Only ``utm_source`` is set: a social network gives ``organic_social``, a search engine
   ``organic_search``; anything else, or a medium not listed, gives ``other``.
3. The page URL carries a search ad's click id (``gclid``, ``gbraid``, ``wbraid``, ``msclkid``,
   ``dclid``): ``paid_search``.
4. The referrer's host: a search engine gives ``organic_search``, a social network
   ``organic_social``, a webmail ``email``, the site itself nothing (an internal link), any
   other site ``referral``.
5. No referrer: ``direct`` when the event names a page, ``unknown`` when it carries no web
   context at all (a server-side call).

Channel names are the lower snake case ones the importers and the demo use.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from baton.ingest.messages import Campaign

MEDIUMS: dict[str, str] = {
    **dict.fromkeys(
        ("cpc", "ppc", "paid_search", "paidsearch", "sem", "search_ads"), "paid_search"
    ),
    **dict.fromkeys(
        ("paid_social", "paidsocial", "social_paid", "social_ads", "paid_social_media"),
        "paid_social",
    ),
    **dict.fromkeys(("display", "banner", "cpm", "programmatic", "retargeting"), "display"),
    **dict.fromkeys(("email", "e_mail", "newsletter", "mail"), "email"),
    **dict.fromkeys(("social", "social_media", "organic_social", "sm"), "organic_social"),
    **dict.fromkeys(("organic", "organic_search", "seo"), "organic_search"),
    **dict.fromkeys(
        ("event", "events", "webinar", "trade_show", "tradeshow", "conference"), "events"
    ),
    **dict.fromkeys(("partner", "partners", "affiliate", "reseller", "co_marketing"), "partner"),
    **dict.fromkeys(("referral", "review", "reviews"), "referral"),
}
#: Host names (or their last labels) of search engines.
SEARCH_ENGINES = (
    "google",
    "bing.com",
    "duckduckgo.com",
    "yahoo",
    "baidu.com",
    "yandex",
    "ecosia.org",
    "search.brave.com",
    "startpage.com",
    "qwant.com",
    "naver.com",
)
#: Host names of social networks.
SOCIAL_NETWORKS = (
    "linkedin.com",
    "lnkd.in",
    "facebook.com",
    "fb.com",
    "twitter.com",
    "x.com",
    "t.co",
    "instagram.com",
    "youtube.com",
    "reddit.com",
    "xing.com",
    "tiktok.com",
    "pinterest.com",
    "news.ycombinator.com",
    "threads.net",
    "bsky.app",
    "mastodon.social",
)
#: Source names (utm_source) of social networks.
SOCIAL_SOURCES = frozenset(
    {
        "linkedin",
        "facebook",
        "fb",
        "twitter",
        "x",
        "instagram",
        "youtube",
        "reddit",
        "xing",
        "tiktok",
        "pinterest",
        "meta",
        "bluesky",
    }
)
SEARCH_SOURCES = frozenset({"google", "bing", "duckduckgo", "yahoo", "baidu", "yandex", "ecosia"})
WEBMAIL = ("mail.google.com", "outlook.live.com", "outlook.office.com", "mail.yahoo.com")
SEARCH_CLICK_IDS = frozenset({"gclid", "gbraid", "wbraid", "msclkid", "dclid"})


def _key(value: str) -> str:
    return value.strip().lower().replace("-", "_").replace(" ", "_")


@functools.lru_cache(maxsize=8192)  # the same pages and referrers come back all day
def host_of(url: str | None) -> str | None:
    """The lower-cased host of ``url`` without ``www.``; ``None`` for a missing or bad URL."""
    if not url:
        return None
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def _matches(host: str, names: tuple[str, ...]) -> bool:
    labels = host.split(".")
    for name in names:
        if "." in name:
            if host == name or host.endswith("." + name):
                return True
        elif name in labels:  # "google" matches google.com, google.co.uk, news.google.de
            return True
    return False


@functools.lru_cache(maxsize=8192)
def _referrer_channel(host: str) -> str:
    if _matches(host, WEBMAIL):
        return "email"
    if _matches(host, SEARCH_ENGINES):
        return "organic_search"
    if _matches(host, SOCIAL_NETWORKS):
        return "organic_social"
    return "referral"


def channel_for(
    campaign: Campaign,
    *,
    url: str | None,
    referrer: str | None,
    click_ids: set[str] | frozenset[str] = frozenset(),
) -> str:
    """The channel of one touch, by the rule in this module's docstring."""
    source = _key(campaign.source) if campaign.source else None
    if campaign.medium:
        channel = MEDIUMS.get(_key(campaign.medium), "other")
        if channel == "paid_search" and source in SOCIAL_SOURCES:
            return "paid_social"
        return channel
    if source:
        if source in SOCIAL_SOURCES:
            return "organic_social"
        if source in SEARCH_SOURCES:
            return "organic_search"
        return "other"
    if click_ids & SEARCH_CLICK_IDS:
        return "paid_search"
    ref = host_of(referrer)
    if ref and ref != host_of(url):
        return _referrer_channel(ref)
    return "direct" if url or ref else "unknown"
