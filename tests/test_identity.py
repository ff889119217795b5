"""Pure rules of ingestion: company and domain normalisation, account matching, free-mail
domains, the channel of a touch, and where the person's fields are read from."""

from __future__ import annotations

import datetime as dt

import pytest

from baton.ingest.channels import channel_for, host_of
from baton.ingest.freemail import FREE_MAIL_DOMAINS, is_free_mail
from baton.ingest.identity import (
    AccountIndex,
    AccountMatch,
    domain_candidates,
    email_domain,
    match_account,
    normalise_company,
    normalise_domain,
)
from baton.ingest.messages import (
    Campaign,
    Message,
    campaign_of,
    email_of,
    is_form,
    person_fields,
    touch_kind,
    touch_type,
)

NOW = dt.datetime(2026, 11, 20, 15, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("ACME, Inc.", "acme"),
        ("Acme Corp Ltd", "acme"),
        ("Acme G.m.b.H.", "acme"),
        ("The Acme Holding S.A.", "acme"),
        ("Müller & Söhne GmbH & Co. KG", "muller and sohne"),
        ("Procter & Gamble Co.", "procter and gamble"),
        ("Société Générale SA", "societe generale"),
        ("Inc", "inc"),  # a name that is only a legal form stays
    ],
)
def test_company_names_are_normalised(name: str, key: str) -> None:
    assert normalise_company(name) == key


def test_domains_from_websites_and_emails() -> None:
    assert normalise_domain("https://WWW.Acme.com/about?x=1") == "acme.com"
    assert normalise_domain("acme.com") == "acme.com"
    assert normalise_domain("localhost") is None and normalise_domain("  ") is None
    assert email_domain("jo@Acme.COM") == "acme.com"
    assert email_domain("jo@gmail.com") is None and email_domain("nobody") is None
    assert domain_candidates("eu.sales.acme.com") == [
        "eu.sales.acme.com",
        "sales.acme.com",
        "acme.com",
    ]
    assert (
        host_of("https://www.linkedin.com/feed") == "linkedin.com"
        and host_of("http://[::1") is None
    )


def test_the_free_mail_list_holds_the_big_providers() -> None:
    for domain in (
        "gmail.com",
        "outlook.com",
        "hotmail.co.uk",
        "yahoo.com",
        "icloud.com",
        "proton.me",
        "gmx.de",
        "web.de",
        "qq.com",
    ):
        assert is_free_mail(domain), domain
    assert not is_free_mail("acme.com") and len(FREE_MAIL_DOMAINS) > 80


def test_matching_rules_in_order_with_their_confidence() -> None:
    index = AccountIndex(
        [(3, "Acme Corporation", "acme.com"), (1, "Acme Inc", None), (2, "Globex", "globex.com")]
    )
    # the website beats the email's domain; the email's domain beats the company name
    assert index.match(email="a@globex.com", website="acme.com", company="Globex") == AccountMatch(
        3, "website", 0.95
    )
    assert index.match(email="a@globex.com", company="Acme") == AccountMatch(2, "email-domain", 0.9)
    # two accounts normalise to "acme": the oldest (lowest id) is matched
    assert index.match(email="a@gmail.com", company="ACME Ltd.") == AccountMatch(
        1, "company-name", 0.85
    )
    # "globexx" vs "globex": token_sort_ratio = 2*6/13 = 92.31, times 0.85 = 0.785
    assert index.match(company="Globexx") == AccountMatch(2, "company-name-fuzzy", 0.785)
    assert index.match(company="Globe Telecom") is None  # 2*5/19 = 52.6, under 90
    assert index.match(email="a@gmail.com") is None


def test_accounts_being_created_are_matched_alongside_stored_ones() -> None:
    stored = AccountIndex([(1, "Hooli", "hooli.com")])
    new = AccountIndex()
    new.add(9, "Pied Piper", "piedpiper.com")
    assert match_account([new, stored], email="r@piedpiper.com") == AccountMatch(
        9, "email-domain", 0.9
    )
    assert match_account([new, stored], company="Hooli XYZ") is None  # 2*5/14 = 71.4
    assert match_account([new, stored], company="Hooli") == AccountMatch(1, "company-name", 0.85)


@pytest.mark.parametrize(
    ("campaign", "url", "referrer", "channel"),
    [
        (Campaign(source="google", medium="cpc"), None, None, "paid_search"),
        (Campaign(source="linkedin", medium="cpc"), None, None, "paid_social"),
        (Campaign(source="facebook", medium="Paid-Social"), None, None, "paid_social"),
        (Campaign(source="newsletter", medium="email"), None, None, "email"),
        (Campaign(source="x", medium="banner"), None, None, "display"),
        (Campaign(source="saastr", medium="event"), None, None, "events"),
        (Campaign(source="partner-portal", medium="affiliate"), None, None, "partner"),
        (Campaign(source="g2", medium="referral"), None, None, "referral"),
        (Campaign(source="x", medium="carrier-pigeon"), None, None, "other"),
        (Campaign(source="LinkedIn"), None, None, "organic_social"),
        (Campaign(source="bing"), None, None, "organic_search"),
        (Campaign(source="podcast"), None, None, "other"),
        (Campaign(), "https://b.example/?gclid=1", "https://www.google.com/", "paid_search"),
        (Campaign(), "https://b.example/", "https://www.google.co.uk/search", "organic_search"),
        (Campaign(), "https://b.example/", "https://duckduckgo.com/", "organic_search"),
        (Campaign(), "https://b.example/", "https://t.co/abc", "organic_social"),
        (Campaign(), "https://b.example/", "https://mail.google.com/mail/u/0", "email"),
        (Campaign(), "https://b.example/", "https://news.example.org/story", "referral"),
        (Campaign(), "https://b.example/pricing", "https://b.example/", "direct"),
        (Campaign(), "https://b.example/", None, "direct"),
        (Campaign(), None, None, "unknown"),
    ],
)
def test_the_channel_rule(
    campaign: Campaign, url: str | None, referrer: str | None, channel: str
) -> None:
    clicks = {"gclid"} if url and "gclid" in url else set()
    assert channel_for(campaign, url=url, referrer=referrer, click_ids=clicks) == channel


def message(kind: str, **fields: object) -> Message:
    return Message(type=kind, message_id="m", received_at=NOW, timestamp=NOW, **fields)  # type: ignore[arg-type]


def test_person_fields_are_read_from_every_place_segment_puts_them() -> None:
    identify = message(
        "identify",
        traits={
            "email": " Jo@X.io ",
            "name": "Jo van Dijk",
            "company": {"name": "X BV"},
            "address": {"country": "NL"},
            "phone": 31_20_555,
        },
    )
    assert email_of(identify) == "jo@x.io"
    assert person_fields(identify) == {
        "first_name": "Jo",
        "last_name": "van Dijk",
        "company": "X BV",
        "phone": "3120555",
        "country": "NL",
    }
    page = message("page", context={"traits": {"email": "ann@y.io"}})
    assert email_of(page) == "ann@y.io"
    track = message("track", event="Signed Up", properties={"email": "not an email"})
    assert email_of(track) is None and is_form(track)
    assert not is_form(message("track", event="Video Played")) and is_form(
        message("track", event="demo_requested")
    )


def test_utm_tags_come_from_context_then_properties_then_the_url() -> None:
    m = message(
        "page",
        context={"campaign": {"source": "google", "name": "Brand"}},
        properties={
            "utm_source": "bing",
            "utm_medium": "cpc",
            "url": "https://b.example/?utm_term=crm&utm_content=ad-2&utm_medium=email",
        },
    )
    assert campaign_of(m) == Campaign(
        source="google", medium="cpc", name="Brand", term="crm", content="ad-2"
    )


@pytest.mark.parametrize(("kind", "fields", "channel", "expected"), [
    ("page", {}, "paid_search", "ad_click"),
    ("page", {}, "paid_social", "ad_click"),
    ("screen", {}, "email", "email_click"),
    ("page", {}, "referral", "referral_visit"),
    ("page", {}, "partner", "partner_referral"),
    ("page", {}, "organic_search", "visit"),
    ("track", {"event": "Demo Requested"}, "direct", "demo_request"),
    ("track", {"event": "Webinar Registered"}, "direct", "webinar"),
    ("track", {"event": "Whitepaper Downloaded"}, "direct", "content_download"),
    ("track", {"event": "Signed Up"}, "direct", "form"),
    ("track", {"event": "Industrial Report", "properties": {"email": "a@b.io"}}, "direct", "form"),
    ("track", {"event": "Video Played"}, "direct", "event"),
    ("lead", {"properties": {"form": "request-a-demo"}}, "unknown", "demo_request"),
    ("lead", {}, "unknown", "form"),
])  # fmt: skip
def test_touch_types_speak_the_scoring_rules_language(
    kind: str, fields: dict[str, object], channel: str, expected: str
) -> None:
    m = message(kind, **fields)
    made = touch_type(m)
    assert made is not None and touch_kind(m, made, channel) == expected
