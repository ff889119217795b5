"""The command line as a user runs it: real files in a temporary folder, real SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from baton.cli import app

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BATON_DATABASE_URL", f"sqlite:///{tmp_path / 'baton.db'}")
    monkeypatch.delenv("BATON_CONTRACT", raising=False)
    return tmp_path


def all_commands() -> list[tuple[str, Any]]:
    """Every command as ``"contract check"``-style names, with its command object."""
    root = typer.main.get_command(app)
    found: list[tuple[str, Any]] = []

    def walk(prefix: str, command: Any) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(f"{prefix} {name}".strip(), sub)
        else:
            found.append((prefix, command))

    walk("", root)
    return found


def test_help_lists_every_command_with_a_one_line_description() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    root: Any = typer.main.get_command(app)
    commands = result.output.split("Commands:", 1)[1]
    assert "..." not in commands, "a description is cut short in --help"
    for name, command in root.commands.items():
        assert name in result.output
        assert command.get_short_help_str(), f"`baton {name}` has no description"
    for name, command in all_commands():
        assert command.help, f"`baton {name}` has no help text"


def test_every_command_is_documented() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    missing = [name for name, _ in all_commands() if f"## `baton {name}`" not in docs]
    assert not missing, f"docs/cli.md lacks a section for: {missing}"


def test_every_setting_is_documented() -> None:
    from baton.config import Settings

    docs = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    for name, field in Settings.model_fields.items():
        env = field.validation_alias if isinstance(field.validation_alias, str) else f"BATON_{name.upper()}"
        assert f"`{env}`" in docs, f"docs/configuration.md lacks {env}"


def test_init_then_check_then_apply(workdir: Path) -> None:
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (workdir / "baton.toml").is_file()
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 1 and "already exists" in again.output

    check = runner.invoke(app, ["contract", "check"])
    assert check.exit_code == 0 and "ok" in check.output

    applied = runner.invoke(app, ["contract", "apply"])
    assert applied.exit_code == 0 and "version 1" in applied.output
    unchanged = runner.invoke(app, ["contract", "apply"])
    assert "unchanged, still version 1" in unchanged.output
    versions = runner.invoke(app, ["contract", "versions"])
    assert versions.exit_code == 0 and "1" in versions.output


def test_a_contract_with_a_typo_is_refused_with_its_key_path(workdir: Path) -> None:
    runner.invoke(app, ["init"])
    path = workdir / "baton.toml"
    path.write_text(path.read_text().replace('kind = "qualified"', 'kind = "qualifed"', 1))
    result = runner.invoke(app, ["contract", "check"])
    assert result.exit_code == 1
    assert 'stages[3].kind: "qualifed" is not a stage kind; did you mean "qualified"?' in result.output
    refused = runner.invoke(app, ["contract", "apply"])
    assert refused.exit_code == 1 and "qualifed" in refused.output


def test_db_upgrade_and_current(workdir: Path) -> None:
    before = runner.invoke(app, ["db", "current"])
    assert "behind" in before.output
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and "revision" in result.output
    after = runner.invoke(app, ["db", "current"])
    assert "up to date" in after.output


def test_unknown_preset_and_missing_file_are_one_line_errors(workdir: Path) -> None:
    result = runner.invoke(app, ["import", "olst", "x.csv"])
    assert result.exit_code == 1
    assert 'error: "olst" is not an import preset; did you mean "olist"?' in result.output
    missing = runner.invoke(app, ["import", "olist", "nowhere.csv"])
    assert missing.exit_code == 1 and "error:" in missing.output


@pytest.mark.shared_data
def test_import_olist_twice_from_the_cli(workdir: Path, shared_data: Path) -> None:
    folder = str(shared_data / "olist-marketing-funnel")
    first = runner.invoke(app, ["import", "olist", folder])
    assert first.exit_code == 0, first.output
    assert "8000" in first.output
    second = runner.invoke(app, ["import", "olist", folder])
    assert second.exit_code == 0
    assert "nothing changed" in second.output
