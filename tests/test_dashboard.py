"""The dashboard over HTTP without a browser: logins, roles, CSRF, scoping, and `baton user`.

A live server (uvicorn in a thread) on a small demo store with one login per role
(:mod:`tests.fixtures.dashboard`). Every form is posted without a valid CSRF token and must be
refused; every page is opened by every role and must be refused to the roles it is not for.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.fixtures.dashboard import PASSWORD, DashboardStore, build
from tests.fixtures.live import make_keys, thread_server
from typer.testing import CliRunner

from baton.cli import app
from baton.store import tables as t
from baton.store.engine import make_engine
from baton.store.uow import UnitOfWork
from baton.web.dashboard import report_page
from baton.web.dashboard.auth import PAGES

#: One path of each page, by the page key of ``auth.PAGES`` (``{lead}`` filled in per test).
PAGE_PATHS = {
    "scoreboard": "/scoreboard",
    "funnel": "/funnel",
    "sla": "/sla",
    "leads": "/leads",
    "lead": "/leads/{lead}",
    "feedback": "/feedback",
    "attribution": "/attribution",
    "contract": "/contract",
    "definitions": "/definitions",
    "report": "/report",
}
ROLES = ("admin", "marketing", "sales-manager", "sales", "viewer")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DashboardStore:
    return build(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="module")
def base(store: DashboardStore) -> Iterator[str]:
    with thread_server(store.url) as url:
        yield url


@pytest.fixture(scope="module")
def rep_lead(store: DashboardStore) -> int:
    """A lead of the signed-in sales rep, waiting in the MQL stage."""
    engine = make_engine(store.url)
    with UnitOfWork(engine) as uow:
        found = uow.session.scalars(
            select(t.Lead.id)
            .where(t.Lead.owner_id == store.rep_id, t.Lead.stage == "mql")
            .order_by(t.Lead.id)
        ).first()
    engine.dispose()
    assert found is not None
    return found


def sign_in(base: str, email: str, password: str = PASSWORD) -> httpx.Client:
    # no kept-alive connections: a loaded machine can have the server close an idle one just
    # as the next request goes out on it
    client = httpx.Client(
        base_url=base, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
    )
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    done = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token[1]}
    )
    assert done.status_code == 303, done.text
    return client


def csrf_of(client: httpx.Client) -> str:
    page = client.get("/definitions")
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert found
    return found[1]


@pytest.fixture(scope="module")
def clients(base: str, store: DashboardStore) -> Iterator[dict[str, httpx.Client]]:
    made = {role: sign_in(base, store.logins[role]) for role in ROLES}
    yield made
    for client in made.values():
        client.close()


def test_a_page_sends_a_stranger_to_the_login_page(base: str) -> None:
    for path in ("/scoreboard", "/leads", "/contract"):
        answer = httpx.get(base + path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    base: str, store: DashboardStore
) -> None:
    with httpx.Client(base_url=base) as client:
        page = client.get("/login").text
        for email in (store.logins["admin"], "nobody@example.com"):
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert token
            answer = client.post(
                "/login", data={"email": email, "password": "not it at all", "csrf_token": token[1]}
            )
            assert answer.status_code == 401
            assert "that email and password do not match a login" in answer.text.lower()
            assert "baton_session" not in answer.cookies
            page = answer.text  # each login form carries a new token


def test_the_session_cookie_is_http_only_and_same_site(base: str, store: DashboardStore) -> None:
    with httpx.Client(base_url=base) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        answer = client.post(
            "/login",
            data={"email": store.logins["viewer"], "password": PASSWORD, "csrf_token": token[1]},
        )
    cookie = next(
        v
        for k, v in answer.headers.multi_items()
        if k == "set-cookie" and v.startswith("baton_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie


@pytest.mark.parametrize("role", ROLES)
def test_every_page_refuses_a_role_it_is_not_for(
    role: str, clients: dict[str, httpx.Client], rep_lead: int
) -> None:
    client = clients[role]
    for page, allowed in PAGES.items():
        path = PAGE_PATHS[page].format(lead=rep_lead)
        answer = client.get(path)
        if role in allowed:
            assert answer.status_code == 200, (page, answer.text[:500])
        else:
            assert answer.status_code == 403, (role, page)
            assert f"Your role ({role}) cannot see" in answer.text, answer.text


def forms(lead: int) -> list[tuple[str, dict[str, str]]]:
    """Every form the dashboard posts, with otherwise valid fields."""
    return [
        (f"/leads/{lead}/accept", {}),
        (f"/leads/{lead}/reject", {"reason": "not-icp", "note": "x"}),
        (f"/leads/{lead}/attempt", {"kind": "call"}),
        ("/contract", {"body": "not even toml ["}),
        ("/logout", {}),
    ]


def test_every_form_refuses_a_request_without_a_valid_csrf_token(
    clients: dict[str, httpx.Client], rep_lead: int
) -> None:
    admin = clients["admin"]
    for path, data in forms(rep_lead):
        for token in (
            None,
            "forged-token",
            csrf_of(clients["viewer"]),
        ):  # none, made up, another session's
            body = dict(data) if token is None else {**data, "csrf_token": token}
            answer = admin.post(path, data=body)
            assert answer.status_code == 403, (path, token, answer.text[:300])
            assert "security token is missing or out of date" in answer.text
            htmx = admin.post(path, data=body, headers={"HX-Request": "true"})
            assert htmx.status_code == 403 and htmx.headers["HX-Retarget"] == "#flash"
    # and nothing happened: the lead still waits, the admin is still signed in
    assert admin.get("/leads").text.count(f'data-lead="{rep_lead}"') == 1


def test_the_login_form_refuses_a_post_without_its_own_token(
    base: str, store: DashboardStore
) -> None:
    answer = httpx.post(
        base + "/login", data={"email": store.logins["admin"], "password": PASSWORD}
    )
    assert answer.status_code == 403
    assert "security token" in answer.text


@pytest.mark.parametrize("role", ["viewer", "marketing"])
def test_a_role_without_the_right_is_refused_an_action_with_a_clear_message(
    role: str, clients: dict[str, httpx.Client], rep_lead: int
) -> None:
    client = clients[role]
    token = csrf_of(client)
    for action, words in (
        ("accept", "accept leads"),
        ("reject", "reject leads"),
        ("attempt", "log follow-up attempts"),
    ):
        answer = client.post(
            f"/leads/{rep_lead}/{action}",
            data={"csrf_token": token, "reason": "not-icp"},
            headers={"HX-Request": "true"},
        )
        assert answer.status_code == 403
        assert f"Your role ({role}) cannot {words}" in answer.text
    edit = client.post("/contract", data={"csrf_token": token, "body": "x"})
    assert edit.status_code == 403 and f"Your role ({role}) cannot edit the contract" in edit.text


def test_a_rep_sees_and_acts_on_their_own_leads_only(
    clients: dict[str, httpx.Client], store: DashboardStore
) -> None:
    engine = make_engine(store.url)
    with UnitOfWork(engine) as uow:
        mine = set(
            uow.session.scalars(
                select(t.Lead.id).where(t.Lead.owner_id == store.rep_id, t.Lead.stage == "mql")
            )
        )
        other = uow.session.scalars(
            select(t.Lead.id)
            .where(t.Lead.owner_id != store.rep_id, t.Lead.stage == "mql")
            .order_by(t.Lead.id)
        ).first()
    engine.dispose()
    rep = clients["sales"]
    shown = {int(x) for x in re.findall(r'<tbody id="lead-(\d+)"', rep.get("/leads").text)}
    assert shown == mine and other is not None
    assert rep.get(f"/leads/{other}").status_code == 403
    refused = rep.post(
        f"/leads/{other}/attempt", data={"csrf_token": csrf_of(rep)}, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 403 and "not one of your own leads" in refused.text
    manager = {
        int(x)
        for x in re.findall(r'<tbody id="lead-(\d+)"', clients["sales-manager"].get("/leads").text)
    }
    assert mine <= manager  # the team's leads include the rep's


def test_an_admin_edit_of_the_contract_names_the_bad_key(clients: dict[str, httpx.Client]) -> None:
    admin = clients["admin"]
    page = admin.get("/contract").text
    body = re.search(r'<textarea id="body" name="body"[^>]*>(.*?)</textarea>', page, re.S)
    assert body
    import html

    text = html.unescape(body[1])
    broken = re.sub(r"first_touch_hours\s*=\s*[0-9.]+", "first_touch_hours = -4", text, count=1)
    answer = admin.post("/contract", data={"csrf_token": csrf_of(admin), "body": broken})
    assert answer.status_code == 422
    assert "sla.sales.first_touch_hours" in answer.text and "Not saved" in answer.text
    assert "first_touch_hours = -4" in answer.text  # the draft is kept


def test_api_tokens_keep_working_beside_the_sessions(
    store: DashboardStore, base: str, rep_lead: int
) -> None:
    engine = make_engine(store.url)
    keys = make_keys(engine)
    engine.dispose()
    answer = httpx.get(f"{base}/api/v1/leads/{rep_lead}", headers=keys.bearer(keys.read))
    assert answer.status_code == 200 and answer.json()["lead"]["id"] == rep_lead
    assert httpx.get(f"{base}/api/v1/leads/{rep_lead}").status_code == 401


def test_static_files_are_served_from_the_package_and_no_page_loads_from_elsewhere(
    clients: dict[str, httpx.Client],
) -> None:
    admin = clients["admin"]
    for name in ("htmx.min.js", "vega.min.js", "vega-lite.min.js", "vega-embed.min.js"):
        assert admin.get(f"/static/vendor/{name}").status_code == 200
    for path in ("/scoreboard", "/funnel", "/feedback", "/attribution"):
        page = admin.get(path)
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith(("/", "#")) for s in sources), sources
        assert "default-src 'self'" in page.headers["content-security-policy"]


runner = CliRunner()


def test_user_create_links_a_rep_by_email_and_reads_the_password_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    monkeypatch.setenv("BATON_DATABASE_URL", url)
    monkeypatch.delenv("BATON_CONTRACT", raising=False)
    engine = make_engine(url)
    from baton.store.migrate import upgrade

    upgrade(engine)
    with UnitOfWork(engine) as uow:
        uow.session.add(
            t.User(
                source="crm",
                external_id="r1",
                properties={},
                name="Rita Rep",
                email="Rita@Example.com",
                role="sales",
            )
        )
        uow.commit()
    made = runner.invoke(
        app, ["user", "create", "--email", "rita@example.com", "--name", "Rita", "--role", "sales", "--password-stdin"],
        input="a long enough secret\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "linked to user 1" in made.stdout
    again = runner.invoke(
        app, ["user", "create", "--email", "RITA@example.com", "--name", "R", "--role", "viewer", "--password-stdin"],
        input="a long enough secret\n",
    )  # fmt: skip
    assert again.exit_code == 1 and "can already sign in" in again.stderr
    short = runner.invoke(
        app, ["user", "create", "--email", "x@example.com", "--name", "X", "--role", "viewer", "--password-stdin"],
        input="short\n",
    )  # fmt: skip
    assert short.exit_code == 1 and "use at least 10" in short.stderr
    bad = runner.invoke(
        app, ["user", "create", "--email", "x@example.com", "--name", "X", "--role", "boss", "--password-stdin"],
        input="a long enough secret\n",
    )  # fmt: skip
    assert bad.exit_code == 1 and 'role "boss" is not a role' in bad.stderr
    listed = runner.invoke(app, ["user", "list", "--format", "json"])
    assert listed.exit_code == 0 and '"role": "sales"' in listed.stdout
    with UnitOfWork(engine) as uow:
        login = uow.session.scalars(select(t.WebLogin)).one()
        assert (
            login.password_hash.startswith("$argon2id$")
            and "long enough" not in login.password_hash
        )
    engine.dispose()


def test_after_an_action_the_report_computes_again_only_what_the_action_changed(
    clients: dict[str, httpx.Client], rep_lead: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: Counter[str] = Counter()
    year, week, _ = (dt.date.today() - dt.timedelta(days=21)).isocalendar()
    label = f"{year}-W{week:02d}"
    path = f"/report?week={label}"

    def counted(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            asked = args[2]  # the week, or the attribution's question
            if getattr(asked, "period", asked).label == label:  # not the week computed ahead
                calls[name] += 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(report_page, "attribute", counted("attribution", report_page.attribute))
    monkeypatch.setattr(report_page, "week_wins", counted("wins", report_page.week_wins))
    monkeypatch.setattr(report_page, "gather_numbers", counted("page", report_page.gather_numbers))
    admin, rep = clients["admin"], clients["sales"]
    first = admin.get(path)
    assert first.status_code == 200 and "Wins" in first.text
    assert calls == {"attribution": 1, "wins": 1, "page": 1}
    logged = rep.post(
        f"/leads/{rep_lead}/attempt",
        data={"csrf_token": csrf_of(rep), "kind": "call"},
        headers={"HX-Request": "true"},
    )
    assert logged.status_code == 200, logged.text
    again = admin.get(path)  # the numbers again; the attribution and the wins as they were
    assert again.status_code == 200 and "Wins" in again.text
    # (the page itself is made again, by this request or by the refresh after the action)
    assert calls["attribution"] == 1 and calls["wins"] == 1 and calls["page"] >= 2
