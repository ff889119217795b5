"""``baton token create | list | revoke`` on a real SQLite file, and how tokens are checked."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from baton.cli import app
from baton.errors import Forbidden, InvalidInput, Unauthorized
from baton.service.tokens import authenticate, parse_scopes
from baton.store import tables as t
from baton.store.engine import make_engine
from baton.store.uow import UnitOfWork

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BATON_DATABASE_URL", f"sqlite:///{tmp_path / 'baton.db'}")
    monkeypatch.delenv("BATON_CONTRACT", raising=False)
    return tmp_path


def test_a_token_is_printed_once_and_stored_only_as_its_hash(workdir: Path) -> None:
    created = runner.invoke(app, ["token", "create", "--name", "website", "--scope", "ingest"])
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("bt_") and len(secret) == 3 + 43 and "\n" not in secret
    assert 'token 1 "website" with scopes ingest' in created.stderr
    engine = make_engine(f"sqlite:///{workdir / 'baton.db'}")
    with UnitOfWork(engine) as uow:
        row = uow.session.scalars(select(t.ApiToken)).one()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert row.prefix == secret[:10] and secret not in (row.name, row.scopes, row.prefix)
        assert authenticate(uow.session, secret, "ingest").name == "website"
        with pytest.raises(
            Forbidden, match='token "website" has the scopes ingest; this needs read'
        ):
            authenticate(uow.session, secret, "read")
        with pytest.raises(Unauthorized, match="unknown or revoked"):
            authenticate(uow.session, secret + "x", "ingest")
    engine.dispose()


def test_list_and_revoke_by_name_or_id(workdir: Path) -> None:
    for name, scope in (("website", "ingest"), ("crm", "read,write"), ("ops", "admin")):
        assert (
            runner.invoke(app, ["token", "create", "--name", name, "--scope", scope]).exit_code == 0
        )
    listed = runner.invoke(app, ["token", "list", "--format", "json"])
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["name"], r["scopes"]) for r in rows] == [
        (1, "website", "ingest"),
        (2, "crm", "read write"),
        (3, "ops", "admin"),
    ]
    assert runner.invoke(app, ["token", "revoke", "crm"]).exit_code == 0
    assert runner.invoke(app, ["token", "revoke", "3"]).output.strip() == 'token 3 "ops" revoked'
    active = json.loads(runner.invoke(app, ["token", "list", "--format", "json"]).stdout)
    assert [r["name"] for r in active] == ["website"]
    everything = json.loads(
        runner.invoke(app, ["token", "list", "--all", "--format", "json"]).stdout
    )
    assert [r["revoked_at"] is not None for r in everything] == [False, True, True]
    table = runner.invoke(app, ["token", "list"])
    assert table.exit_code == 0 and "website" in table.output and "bt_" in table.output
    missing = runner.invoke(app, ["token", "revoke", "nobody"])
    assert missing.exit_code == 1 and 'no token "nobody"' in missing.output


def test_a_revoked_token_is_refused(workdir: Path) -> None:
    secret = runner.invoke(
        app, ["token", "create", "--name", "w", "--scope", "ingest"]
    ).stdout.strip()
    assert runner.invoke(app, ["token", "revoke", "w"]).exit_code == 0
    engine = make_engine(f"sqlite:///{workdir / 'baton.db'}")
    with UnitOfWork(engine) as uow, pytest.raises(Unauthorized):
        authenticate(uow.session, secret, "ingest")
    engine.dispose()


def test_scopes_are_checked(workdir: Path) -> None:
    assert parse_scopes(["write,ingest", "READ"]) == ["ingest", "read", "write"]
    with pytest.raises(
        InvalidInput, match="unknown scope root; scopes are ingest, read, write, admin"
    ):
        parse_scopes(["root"])
    bad = runner.invoke(app, ["token", "create", "--name", "x", "--scope", "everything"])
    assert bad.exit_code == 1 and "unknown scope everything" in bad.output
    unnamed = runner.invoke(app, ["token", "create", "--name", " ", "--scope", "read"])
    assert unnamed.exit_code == 1 and "a token needs a name" in unnamed.output
