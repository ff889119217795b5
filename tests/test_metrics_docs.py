"""docs/metrics.md says what the code computes: every KPI definition in it, word for word."""

from __future__ import annotations

from pathlib import Path

from baton.analytics.kpis.catalogue import KPIS, markdown

DOCS = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"


def test_every_kpi_definition_is_in_the_docs_verbatim() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for kpi in KPIS:
        assert f"\n## {kpi.name}\n\n{kpi.definition}\n" in text, (
            f"docs/metrics.md lacks the definition of {kpi.name} as the code has it; "
            f"replace the # Shared KPIs section with:\n\n{markdown()}"
        )


def test_the_shared_kpis_section_is_the_generated_one() -> None:
    assert markdown() in DOCS.read_text(encoding="utf-8"), (
        f"docs/metrics.md's # Shared KPIs section is out of date; replace it with:\n\n{markdown()}"
    )


def test_kpi_keys_and_names_are_unique() -> None:
    assert len({k.key for k in KPIS}) == len({k.name for k in KPIS}) == len(KPIS)
