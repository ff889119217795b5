"""Benchmark: the predictive lead score at a million leads, with both baselines beside it.

    python benchmarks/scoring.py [--leads 1000000] [--runs 3] [--single 10000]
                                 [--out docs/benchmarks.md]

1. Draws ``--leads`` X Education-like leads (:func:`baton.scoring.synthetic.synthetic_leads`,
   seed ``--seed``) and holds out a further 10,000 drawn the same way.
2. Training: fits the model (``LeadScoreModel``, calibration included: two boosters) and both
   baselines on all ``--leads`` leads, once each (``--runs`` times for the model).
3. Batch scoring: every contender scores the ``--leads`` leads as one table, from the table to
   probabilities (encoding included); the best of ``--runs`` runs, in leads per second.
4. Single lead: ``--single`` held-out leads, one at a time, as mappings through the service
   function ``baton.service.predictive.score_lead`` (and through ``explain`` for the reasons);
   the median and 99th percentile of the wall time per call.
5. Writes the results, with the goals (batch at least 100,000 leads/s, single p99 under 5 ms,
   training under 60 s), into the scoring section of ``--out``, leaving the rest as it is.

A benchmark, not a test: it takes minutes and is never run by the test suite
(``tests/test_benchmark_scoring_smoke.py`` runs it on a few thousand leads).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark the code of this checkout

from report import machine, replace_section  # noqa: E402

from baton.scoring.baselines import LogisticBaseline, OdooNaiveBayes  # noqa: E402
from baton.scoring.predictive import LeadScoreModel  # noqa: E402
from baton.scoring.reasons import explain  # noqa: E402
from baton.scoring.synthetic import synthetic_dataset  # noqa: E402
from baton.service.predictive import score_lead  # noqa: E402

BEGIN = "<!-- scoring: written by benchmarks/scoring.py; rerunning it replaces this section -->"
END = "<!-- end of scoring -->"
#: The goals (issue 5): leads a second scored in a batch, single-lead p99 (ms), training (s).
GOAL_BATCH, GOAL_P99_MS, GOAL_TRAIN_S = 100_000.0, 5.0, 60.0
HELD_OUT = 10_000
X = "\u00d7"


@dataclass(frozen=True)
class Contender:
    """One contender's training and batch-scoring times."""

    label: str
    train: list[float]
    score: list[float]
    leads: int

    @property
    def rate(self) -> float:
        return self.leads / min(self.score)


def timed(action, runs: int) -> tuple[list[float], object]:  # type: ignore[no-untyped-def]
    """Wall times of ``runs`` calls of ``action`` and its last result."""
    times, result = [], None
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return times, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of model training and of each batch"
    )
    parser.add_argument("--single", type=int, default=10_000, help="single-lead calls timed")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)

    drawn = synthetic_dataset(args.leads + HELD_OUT, seed=args.seed)
    frame, label = drawn.frame.iloc[: args.leads], drawn.label[: args.leads]
    held = drawn.frame.iloc[args.leads :]
    print(f"{args.leads:,} leads, {label.mean():.1%} converted", flush=True)

    contenders, model = [], None
    makers = [
        ("LightGBM, calibrated (Baton's model)", lambda: LeadScoreModel(drawn.features), args.runs),
        ("logistic regression", lambda: LogisticBaseline(drawn.features), 1),
        ("naive Bayes (Odoo)", lambda: OdooNaiveBayes(drawn.features), 1),
    ]
    for label_text, make, runs in makers:
        train, fitted = timed(lambda make=make: make().fit(frame, label), runs)
        score, _ = timed(lambda fitted=fitted: fitted.predict_proba(frame), args.runs)
        contenders.append(Contender(label_text, train, score, args.leads))
        model = fitted if model is None else model
        print(
            f"{label_text}: train {min(train):.1f} s, score {args.leads / min(score):,.0f} leads/s",
            flush=True,
        )

    records = held.astype(object).where(held.notna(), None).to_dict("records")[: args.single]
    for r in records[:50]:  # warm-up
        score_lead(model, r)
    single = []
    for r in records:
        started = time.perf_counter_ns()
        score_lead(model, r)
        single.append((time.perf_counter_ns() - started) / 1e6)
    reasons = []
    for r in records[: max(1, len(records) // 10)]:
        started = time.perf_counter_ns()
        explain(model, r)
        reasons.append((time.perf_counter_ns() - started) / 1e6)
    lat = {
        "p50": float(np.percentile(single, 50)),
        "p99": float(np.percentile(single, 99)),
        "explain_p50": float(np.percentile(reasons, 50)),
        "explain_p99": float(np.percentile(reasons, 99)),
    }
    print(f"single lead: p50 {lat['p50']:.3f} ms, p99 {lat['p99']:.3f} ms", flush=True)
    replace_section(
        args.out, BEGIN, END, section(contenders, lat, args, len(records), len(reasons))
    )
    print(f"wrote the scoring section of {args.out}")


def section(
    contenders: list[Contender],
    lat: dict[str, float],
    args: argparse.Namespace,
    singles: int,
    explained: int,
) -> str:
    """The scoring section in Markdown."""
    m = machine(("lightgbm", "scikit-learn", "numpy", "pandas", "pyarrow"))
    model = contenders[0]

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    lines = [
        BEGIN,
        "## Lead scoring",
        "",
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory']} of memory "
        f"({m['system']}; {m['libraries']}).",
        "",
        "**Method.** `python benchmarks/scoring.py` draws "
        f"{args.leads:,} leads shaped like the X Education data "
        f"(`baton.scoring.synthetic.synthetic_leads`, seed {args.seed}: the same columns, about "
        "the real shares of each value and of missing values, and an outcome from a logistic "
        "model of them) and 10,000 more for single-lead calls. *Training* fits each contender "
        f"on all {args.leads:,} leads: Baton's model with its calibration (a booster on the "
        "earliest 80%, Platt's sigmoid on the latest 20%, then the booster on all leads; "
        f"{len(model.train)} run{'s' if len(model.train) > 1 else ''}), the baselines once. "
        f"*Batch* scores the {args.leads:,} leads as one pandas table, encoding included, best "
        f"of {args.runs}. *Single lead* calls the service function "
        "`baton.service.predictive.score_lead` with one lead as a mapping, "
        f"{singles:,} times (after 50 warm-up calls), and `baton.scoring.reasons.explain` "
        f"{explained:,} times; percentiles of the wall time per call. LightGBM runs on one "
        "thread per 100,000 rows up to the cores there are (one for a single lead). The "
        "machine is shared with other work, so times vary between runs by up to about 2x.",
        "",
        "| contender | leads | training (s) | batch best (s) | batch runs (s) | leads/s |",
        "|---|--:|--:|--:|---|--:|",
    ]
    for c in contenders:
        lines.append(
            f"| {c.label} | {c.leads:,} | {min(c.train):.1f} | {min(c.score):.2f} | "
            + ", ".join(f"{t:.2f}" for t in c.score)
            + f" | {c.rate:,.0f} |"
        )
    lr = contenders[1]
    lines += [
        "",
        "| single lead | p50 (ms) | p99 (ms) |",
        "|---|--:|--:|",
        f"| `score_lead` (probability) | {lat['p50']:.3f} | {lat['p99']:.3f} |",
        f"| `explain` (probability and every feature's share) | {lat['explain_p50']:.3f} | "
        f"{lat['explain_p99']:.3f} |",
        "",
        "| goal | value | target | |",
        "|---|--:|---|---|",
        f"| batch scoring, leads/s | {model.rate:,.0f} | at least {GOAL_BATCH:,.0f} | "
        f"{verdict(model.rate >= GOAL_BATCH)} |",
        f"| single lead p99 | {lat['p99']:.2f} ms | under {GOAL_P99_MS:g} ms | "
        f"{verdict(lat['p99'] < GOAL_P99_MS)} |",
        f"| training on {args.leads:,} leads | {min(model.train):.1f} s | "
        f"under {GOAL_TRAIN_S:g} s | {verdict(min(model.train) < GOAL_TRAIN_S)} |",
        f"| batch speed, model ÷ logistic regression | {model.rate / lr.rate:.2f}{X} | | |",
        f"| training time, model ÷ logistic regression | "
        f"{min(model.train) / min(lr.train):.2f}{X} | | |",
        END,
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
