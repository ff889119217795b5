"""The ingestion use case on a real database (SQLite and PostgreSQL): idempotency, stitching,
people and accounts, touches, the stage log and the hook, with results worked out by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, func, select
from tests.conftest import NOW

from baton.contract import default_contract_text
from baton.domain.model import Clock
from baton.errors import InvalidInput
from baton.ingest.forms import LeadForm, form_message
from baton.ingest.messages import Message
from baton.ingest.segment import Batch, to_messages
from baton.service.accounts import AccountDirectory
from baton.service.contracts import apply_contract
from baton.service.events import IngestResult, ingest
from baton.store import tables as t
from baton.store.uow import UnitOfWork

DAY = dt.timedelta(days=1)


@pytest.fixture
def store(engine: Engine, clock: Clock) -> Engine:
    with UnitOfWork(engine) as uow:
        apply_contract(uow.session, default_contract_text(), clock=lambda: NOW - 30 * DAY)
        uow.commit()
    return engine


def send(
    engine: Engine,
    *calls: dict[str, Any],
    hook: Callable[..., None] | None = None,
    accounts: AccountDirectory | None = None,
) -> IngestResult:
    """One request of Segment calls, received at NOW."""
    batch = Batch.model_validate({"batch": list(calls)})
    messages = to_messages(batch.batch, received_at=NOW, max_future=DAY)
    return _ingest(engine, messages, hook, accounts)


def _ingest(
    engine: Engine,
    messages: list[Message],
    hook: Callable[..., None] | None = None,
    accounts: AccountDirectory | None = None,
) -> IngestResult:
    extra: dict[str, Any] = {"hook": hook} if hook else {}
    with UnitOfWork(engine) as uow:
        result = ingest(
            uow,
            messages,
            clock=lambda: NOW,
            accounts=accounts or AccountDirectory(dt.timedelta(0)),
            **extra,
        )
        uow.commit()
    return result


def at(minutes: int) -> str:
    return (NOW - dt.timedelta(minutes=minutes)).isoformat()


def rows(engine: Engine, model: Any, *where: Any) -> list[Any]:
    with UnitOfWork(engine) as uow:
        found = list(uow.session.scalars(select(model).where(*where).order_by(model.id)))
        uow.session.expunge_all()  # readable after the session closes
        return found


def test_a_repeated_message_id_is_stored_once(store: Engine) -> None:
    page = {"type": "page", "anonymousId": "a1", "messageId": "m-1", "name": "Home"}
    first = send(store, page, page, {**page, "messageId": "m-2"})
    again = send(store, page, {**page, "messageId": "m-2"})
    assert (first.received, first.stored, first.duplicates) == (3, 2, 1)
    assert (again.received, again.stored, again.duplicates) == (2, 0, 2)
    assert [e.message_id for e in rows(store, t.Event)] == ["m-1", "m-2"]
    assert [tp.external_id for tp in rows(store, t.Touchpoint)] == ["m-1", "m-2"]


def test_the_senders_clock_skew_is_corrected_as_segment_does() -> None:
    # the sender's clock is an hour ahead: it says it sent at 13:00 what happened at 12:50,
    # and the request arrived at NOW; so the event happened ten minutes before NOW
    batch = Batch.model_validate(
        {
            "sentAt": (NOW + dt.timedelta(hours=1)).isoformat(),
            "batch": [
                {
                    "type": "track",
                    "userId": "u",
                    "event": "x",
                    "timestamp": (NOW + dt.timedelta(minutes=50)).isoformat(),
                },
                {"type": "track", "userId": "u", "event": "y"},
                {
                    "type": "track",
                    "userId": "u",
                    "event": "z",
                    "timestamp": "2026-11-20T12:00:00",
                    "sentAt": "2026-11-20T12:30:00Z",
                },
            ],
        }
    )
    skewed, untimed, own = to_messages(
        batch.batch, received_at=NOW, max_future=DAY, sent_at=batch.sent_at
    )
    assert skewed.timestamp == NOW - dt.timedelta(minutes=10)
    assert skewed.original_timestamp == NOW + dt.timedelta(minutes=50)
    assert untimed.timestamp == NOW  # no timestamp: it happened when it arrived
    assert own.timestamp == NOW - dt.timedelta(minutes=30)  # a call's own sentAt wins; naive is UTC


def test_timestamps_far_in_the_future_are_refused_naming_the_call() -> None:
    batch = Batch.model_validate(
        {
            "batch": [
                {"type": "page", "anonymousId": "a"},
                {"type": "page", "anonymousId": "a", "timestamp": "3000-01-01T00:00:00Z"},
            ]
        }
    )
    with pytest.raises(InvalidInput, match=r"batch\[1\]\.timestamp: .* 973 years after") as caught:
        to_messages(batch.batch, received_at=NOW, max_future=DAY)
    assert caught.value.field == "batch[1].timestamp"
    # an hour ahead is within a day's tolerance
    ok = Batch.model_validate(
        {"batch": [{"type": "page", "anonymousId": "a", "timestamp": at(-60)}]}
    )
    assert to_messages(ok.batch, received_at=NOW, max_future=DAY)[
        0
    ].timestamp == NOW + dt.timedelta(hours=1)


def test_anonymous_visits_before_and_after_identify_end_on_the_lead(store: Engine) -> None:
    send(
        store,
        {
            "type": "page",
            "anonymousId": "a1",
            "messageId": "p1",
            "timestamp": at(90),
            "properties": {
                "url": "https://baton.example/guide",
                "referrer": "https://www.google.com/",
            },
        },
    )
    send(store, {"type": "page", "anonymousId": "a2", "messageId": "other", "timestamp": at(80)})
    created = send(
        store,
        {
            "type": "identify",
            "anonymousId": "a1",
            "userId": "u1",
            "messageId": "i1",
            "timestamp": at(60),
            "traits": {"email": "Sam@Acme.io", "name": "Sam Lee"},
        },
    )
    send(
        store,
        {
            "type": "track",
            "userId": "u1",
            "messageId": "t1",
            "timestamp": at(30),
            "event": "Pricing Viewed",
        },
        {"type": "page", "anonymousId": "a1", "messageId": "p2", "timestamp": at(10)},
    )
    (lead,) = rows(store, t.Lead)
    assert created.created_leads == [lead.id] and created.lead_of == {"i1": lead.id}
    assert (lead.email, lead.first_name, lead.last_name, lead.stage) == (
        "sam@acme.io",
        "Sam",
        "Lee",
        "subscriber",
    )
    assert lead.created_at == NOW - dt.timedelta(minutes=60) and lead.channel == "organic_search"
    on_lead = {e.message_id for e in rows(store, t.Event, t.Event.lead_id == lead.id)}
    assert on_lead == {"p1", "i1", "t1", "p2"}  # not a2's visit
    assert {
        tp.external_id for tp in rows(store, t.Touchpoint, t.Touchpoint.lead_id == lead.id)
    } == {"p1", "t1", "p2"}
    (change,) = rows(store, t.StageChangeRow)
    assert (change.subject_id, change.from_stage, change.to_stage, change.actor) == (
        lead.id,
        None,
        "subscriber",
        "events",
    )
    assert change.at == lead.created_at and change.contract_version_id is not None


def test_two_devices_of_one_user_merge_into_one_profile(store: Engine) -> None:
    send(store, {"type": "page", "anonymousId": "laptop", "messageId": "p1", "timestamp": at(50)})
    send(
        store,
        {
            "type": "identify",
            "anonymousId": "laptop",
            "userId": "u9",
            "messageId": "i1",
            "timestamp": at(45),
        },
    )
    send(store, {"type": "page", "anonymousId": "phone", "messageId": "p2", "timestamp": at(40)})
    assert len(rows(store, t.Profile)) == 2 and rows(store, t.Lead) == []
    # the phone logs in: its profile merges into the laptop's, which then learns the email
    send(
        store,
        {
            "type": "identify",
            "anonymousId": "phone",
            "userId": "u9",
            "messageId": "i2",
            "timestamp": at(30),
        },
        {
            "type": "identify",
            "userId": "u9",
            "messageId": "i3",
            "timestamp": at(20),
            "traits": {"email": "kim@globex.com"},
        },
    )
    (profile,) = rows(store, t.Profile)
    (lead,) = rows(store, t.Lead)
    assert profile.lead_id == lead.id
    assert {e.profile_id for e in rows(store, t.Event)} == {profile.id}
    assert {e.lead_id for e in rows(store, t.Event)} == {lead.id}
    assert {
        (i.kind, i.value) for i in rows(store, t.Identity, t.Identity.profile_id == profile.id)
    } == {
        ("anonymous_id", "laptop"),
        ("anonymous_id", "phone"),
        ("user_id", "u9"),
        ("email", "kim@globex.com"),
    }


def test_a_second_person_on_one_browser_gets_their_own_lead(store: Engine) -> None:
    send(
        store,
        {"type": "page", "anonymousId": "shared", "messageId": "p1", "timestamp": at(50)},
        {
            "type": "identify",
            "anonymousId": "shared",
            "messageId": "i1",
            "timestamp": at(45),
            "traits": {"email": "ann@acme.io"},
        },
    )
    send(
        store,
        {
            "type": "identify",
            "anonymousId": "shared",
            "messageId": "i2",
            "timestamp": at(30),
            "traits": {"email": "bob@acme.io"},
        },
        {"type": "page", "anonymousId": "shared", "messageId": "p2", "timestamp": at(20)},
    )
    ann, bob = rows(store, t.Lead)
    assert (ann.email, bob.email) == ("ann@acme.io", "bob@acme.io")
    by_message = {e.message_id: e.lead_id for e in rows(store, t.Event)}
    # what happened before Bob identified stays Ann's; the browser is Bob's from then on
    assert by_message == {"p1": ann.id, "i1": ann.id, "i2": bob.id, "p2": bob.id}


def test_an_imported_lead_is_found_by_its_email_whatever_the_case(store: Engine) -> None:
    with UnitOfWork(store) as uow:
        account = t.Account(
            source="hubspot",
            external_id="A1",
            name="Umbrella",
            domain="umbrella.com",
            properties={},
        )
        uow.session.add(account)
        uow.session.flush()
        uow.session.add(
            t.Lead(
                source="hubspot",
                external_id="L1",
                email="Ada@Umbrella.com",
                stage="mql",
                created_at=NOW - 9 * DAY,
                account_id=account.id,
                first_name="Ada",
                properties={},
            )
        )
        uow.commit()
    result = send(
        store,
        {
            "type": "identify",
            "userId": "u1",
            "messageId": "i1",
            "traits": {"email": "ada@umbrella.com", "firstName": "Adeline", "title": "CTO"},
        },
    )
    (lead,) = rows(store, t.Lead)
    assert result.created_leads == [] and result.lead_of == {"i1": lead.id}
    # the import's values stay, the empty ones are filled; the imported account is kept as given
    assert (lead.first_name, lead.title, lead.stage) == ("Ada", "CTO", "mql")
    assert (lead.account_id, lead.account_match_rule) == (account.id, None)
    assert rows(store, t.StageChangeRow) == []
    (contact,) = rows(store, t.Contact)
    assert lead.contact_id == contact.id and contact.email == "ada@umbrella.com"
    assert (contact.account_id, contact.account_match_rule, contact.account_match_confidence) == (
        account.id,
        "email-domain",
        0.9,
    )


def test_accounts_are_matched_by_domain_then_name_and_never_by_free_mail(store: Engine) -> None:
    with UnitOfWork(store) as uow:
        for key, name, domain in (
            ("A1", "Acme Corporation", "acme.com"),
            ("A2", "Globex GmbH", "globex.de"),
            ("A3", "Initech", None),
        ):
            uow.session.add(
                t.Account(source="crm", external_id=key, name=name, domain=domain, properties={})
            )
        uow.commit()
    ids = {a.external_id: a.id for a in rows(store, t.Account)}
    send(
        store,
        {"type": "identify", "userId": "1", "traits": {"email": "a@eu.acme.com"}},
        {
            "type": "identify",
            "userId": "2",
            "traits": {"email": "b@gmail.com", "company": "Globex"},
        },
        {
            "type": "identify",
            "userId": "3",
            "traits": {"email": "c@yahoo.com", "company": "Inittech Inc."},
        },
        {
            "type": "identify",
            "userId": "4",
            "traits": {"email": "d@hotmail.com", "website": "https://www.globex.de/"},
        },
        {
            "type": "identify",
            "userId": "5",
            "traits": {"email": "e@outlook.com", "company": "Hooli"},
        },
    )
    found = {
        lead.email: (lead.account_id, lead.account_match_rule, lead.account_match_confidence)
        for lead in rows(store, t.Lead)
    }
    # "inittech" against "initech": token_sort_ratio 2*7/15 = 93.33; 0.85 x 0.9333 = 0.793
    assert found == {
        "a@eu.acme.com": (ids["A1"], "email-domain", 0.9),
        "b@gmail.com": (ids["A2"], "company-name", 0.85),
        "c@yahoo.com": (ids["A3"], "company-name-fuzzy", 0.793),
        "d@hotmail.com": (ids["A2"], "website", 0.95),
        "e@outlook.com": (None, None, None),
    }


def test_a_group_call_makes_the_account_and_beats_a_weaker_match(store: Engine) -> None:
    with UnitOfWork(store) as uow:
        uow.session.add(
            t.Account(source="crm", external_id="A1", name="Acme", domain="acme.com", properties={})
        )
        uow.commit()
    send(store, {"type": "identify", "userId": "u1", "traits": {"email": "jo@acme.com"}})
    assert rows(store, t.Lead)[0].account_match_rule == "email-domain"
    send(
        store,
        {
            "type": "group",
            "userId": "u1",
            "groupId": "org-77",
            "traits": {
                "name": "Acme Robotics",
                "website": "acmerobotics.com",
                "industry": "Manufacturing",
                "employees": 80,
            },
        },
    )
    group = rows(store, t.Account, t.Account.external_id == "org-77")[0]
    assert (group.source, group.name, group.domain, group.industry, group.employees) == (
        "events",
        "Acme Robotics",
        "acmerobotics.com",
        "Manufacturing",
        80,
    )
    lead = rows(store, t.Lead)[0]
    assert (lead.account_id, lead.account_match_rule, lead.account_match_confidence) == (
        group.id,
        "group",
        1.0,
    )


def test_a_group_call_before_the_email_ties_the_lead_when_it_comes(store: Engine) -> None:
    send(
        store,
        {"type": "group", "anonymousId": "a1", "groupId": "g1", "traits": {"name": "Vandelay"}},
        {"type": "identify", "anonymousId": "a1", "traits": {"email": "art@vandelay.com"}},
    )
    lead, account = rows(store, t.Lead)[0], rows(store, t.Account)[0]
    assert (lead.account_id, lead.account_match_rule) == (account.id, "group")


def test_touchpoints_carry_channel_campaign_and_landing_page(store: Engine) -> None:
    with UnitOfWork(store) as uow:
        uow.session.add(t.Campaign(source="crm", external_id="C1", name="Q3 Launch", properties={}))
        uow.commit()
    campaign = rows(store, t.Campaign)[0]
    send(
        store,
        {
            "type": "page",
            "anonymousId": "a",
            "messageId": "p1",
            "context": {
                "campaign": {"source": "newsletter", "medium": "email", "name": "q3 launch"},
                "page": {
                    "url": "https://baton.example/launch",
                    "referrer": "https://mail.google.com/",
                },
            },
        },
        {
            "type": "page",
            "anonymousId": "a",
            "messageId": "p2",
            "properties": {"url": "https://baton.example/?gclid=abc", "referrer": ""},
        },
        {
            "type": "track",
            "anonymousId": "a",
            "messageId": "t1",
            "event": "Form Submitted",
            "context": {
                "page": {"url": "https://baton.example/demo", "referrer": "https://baton.example/"}
            },
        },
        {"type": "identify", "anonymousId": "a", "messageId": "i1", "traits": {"name": "x"}},
    )
    touches = {tp.external_id: tp for tp in rows(store, t.Touchpoint)}
    assert set(touches) == {"p1", "p2", "t1"}  # identify makes no touch
    p1, p2, t1 = touches["p1"], touches["p2"], touches["t1"]
    assert (p1.channel, p1.touch_type, p1.utm_medium, p1.campaign_id, p1.landing_page) == (
        "email",
        "email_click",
        "email",
        campaign.id,
        "https://baton.example/launch",
    )
    # a paid click is an ad click; "Form Submitted" names no kind of form, so it stays "form"
    assert (p2.channel, p2.touch_type, t1.channel, t1.touch_type) == (
        "paid_search", "ad_click", "direct", "form")  # fmt: skip


def test_the_hook_runs_once_per_lead_inside_the_transaction(store: Engine) -> None:
    seen: list[int] = []

    def hook(uow: UnitOfWork, lead_ids: Sequence[int], _clock: Clock) -> None:
        for lead_id in lead_ids:
            seen.append(lead_id)
            lead = uow.session.get(t.Lead, lead_id)
            assert lead is not None
            lead.score = float(
                uow.session.scalar(select(func.count()).where(t.Event.lead_id == lead_id)) or 0
            )

    send(store, {"type": "page", "anonymousId": "a", "messageId": "p0"}, hook=hook)
    assert seen == []  # no lead yet
    send(
        store,
        {
            "type": "identify",
            "anonymousId": "a",
            "messageId": "i1",
            "traits": {"email": "x@acme.io"},
        },
        {"type": "page", "anonymousId": "a", "messageId": "p1"},
        {
            "type": "identify",
            "anonymousId": "b",
            "messageId": "i2",
            "traits": {"email": "y@acme.io"},
        },
        hook=hook,
    )
    x, y = rows(store, t.Lead)
    assert seen == [x.id, y.id]
    assert (x.score, y.score) == (3.0, 1.0)  # the stitched p0 counts: the hook sees every event


def test_a_lead_form_names_its_stage_and_a_wrong_one_is_refused(store: Engine) -> None:
    form = LeadForm.model_validate(
        {
            "email": " Pat@Hooli.com ",
            "company": "Hooli",
            "stage": "lead",
            "utm_source": "g2",
            "utm_medium": "referral",
            "form": "demo",
        }
    )
    message = form_message(form, received_at=NOW, max_future=DAY, message_id="form-1")
    result = _ingest(store, [message])
    (lead,) = rows(store, t.Lead)
    assert result.created_leads == [lead.id]
    assert (lead.email, lead.company, lead.stage, lead.channel) == (
        "pat@hooli.com",
        "Hooli",
        "lead",
        "referral",
    )
    (touch,) = rows(store, t.Touchpoint)
    assert (touch.touch_type, touch.properties["form"]) == ("demo_request", "demo")
    wrong = form_message(
        LeadForm.model_validate({"email": "q@hooli.com", "stage": "hot"}),
        received_at=NOW,
        max_future=DAY,
    )
    with pytest.raises(InvalidInput, match='stage: "hot" is not a stage') as caught:
        _ingest(store, [wrong])
    assert caught.value.field == "stage"
    assert len(rows(store, t.Lead)) == 1 and len(rows(store, t.Event)) == 1


def test_the_events_migration_goes_down_and_up_again(engine: Engine) -> None:
    from alembic import command

    from baton.store.migrate import alembic_config, head_revision, upgrade

    tables = {"events", "identities", "profiles", "api_tokens"}
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005_events-1")
    names = set(sa.inspect(engine).get_table_names())
    assert not names & tables and "account_match_rule" not in {
        c["name"] for c in sa.inspect(engine).get_columns("leads")
    }
    assert upgrade(engine) == head_revision()
    assert set(sa.inspect(engine).get_table_names()) >= tables
