"""A store of runs for the dashboard tests (AppTest and the browser test).

Three runs: an ungated evaluate run, a passing gate with its reports recorded (the PDF really signed by
a local CA kept beside the store) and a failing gate, two dataset versions. Its HTML report is recorded;
its PDF is a stand-in that merely contains ``/ByteRange`` — not a signature.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import make_mixed_frame

from qaharness.api import evaluate
from qaharness.keys import ensure_keys
from qaharness.results import Family, Goal, MetricResult, PolicyRef, RuleResult, Run
from qaharness.store import RunStore

_RULES = [
    ("detection-auc", "fidelity.detection", "<=", 0.6, "A classifier must not tell real from synthetic."),
    ("ks-max", "fidelity.ks", "<=", 0.05, "Every numeric marginal stays close to the real one."),
    ("singling-out", "privacy.singling_out", "<=", 0.05, "Singling out must not beat the control set."),
]


_POLICY_YAML = """\
id: release-default
version: "1"
description: Default release policy for synthetic tabular data.
rules:
""" + "".join(
    f'  - id: {r}\n    metric: {m}\n    op: "{o}"\n    threshold: {t}\n    severity: error\n    rationale: {why}\n'
    for r, m, o, t, why in _RULES
)


def _privacy(value: float) -> MetricResult:
    return MetricResult(
        id="privacy.singling_out",
        family=Family.PRIVACY,
        value=value,
        goal=Goal.MINIMIZE,
        bounds=(0.0, 1.0),
        ci=(max(0.0, value - 0.02), value + 0.03),
        ci_level=0.95,
        baseline=0.01,
        details={"main_rate": value + 0.01, "control_rate": 0.01, "n_attacks": 500},
        description="Excess share of queries from synthetic data that pick out exactly one training record.",
        ideal=0.0,
    )


def _detection(auc: float) -> MetricResult:
    """Hand-made: the real detection metric trains a classifier, too slow for a fixture."""
    return MetricResult(
        id="fidelity.detection",
        family=Family.FIDELITY,
        value=auc,
        goal=Goal.MINIMIZE,
        bounds=(0.5, 1.0),
        ci=(0.5, auc + 0.04),
        ci_level=0.95,
        baseline=0.52,
        description="How well a classifier tells synthetic rows from real ones (0.5: not at all).",
        ideal=0.5,
    )


def _gated(base: Run, *, verdict: str, generator: str, real_sha: str, hour: int, policy: Path) -> Run:
    worse = verdict == "fail"
    metrics = [
        m.model_copy(
            update={"value": min(1.0, 2 * m.value), "per_column": {c: min(1.0, 2 * v) for c, v in m.per_column.items()}}
        )
        if worse and m.id == "fidelity.ks"
        else m
        for m in base.metrics
    ]
    metrics += [_detection(0.58 if worse else 0.53), _privacy(0.09 if worse else 0.02)]
    by_id = {m.id: m for m in metrics}
    rules = [
        RuleResult(
            id=rule_id,
            metric=metric,
            op=op,
            threshold=threshold,
            observed=by_id[metric].value,
            status="fail" if worse and by_id[metric].value > threshold else "pass",
            message=f"{by_id[metric].value:.3f} {op} {threshold}",
            rationale=why,
        )
        for rule_id, metric, op, threshold, why in _RULES
    ]
    if worse:  # accepted risk on one failing rule
        rules[2] = rules[2].model_copy(
            update={
                "status": "waived",
                "waiver": {
                    "rule": "singling-out",
                    "owner": "dpo",
                    "reason": "internal use only",
                    "expires": "2026-12-31",
                    "active": True,
                },
            }
        )
        rules.append(  # a rule of another kind, without a metric, that lacked the evidence to decide
            RuleResult(
                id="budget-cap",
                kind="budget",
                metric=None,
                field=None,
                status="insufficient",
                message="insufficient evidence: no privacy-budget ledger for this source",
                rationale="Composed epsilon per source at most 5.",
            )
        )
    real = base.inputs["real"].model_copy(update={"source": "data/adult.parquet", "sha256": real_sha})
    return base.model_copy(
        update={
            "metrics": metrics,
            "rules": rules,
            "verdict": verdict,
            "inputs": {**base.inputs, "real": real},
            "created_at": f"2026-11-2{hour % 10}T{hour:02d}:00:00+00:00",
            "ticket": "REL-7",
            "policy": PolicyRef(id="release-default", version="1", sha256="ab" * 32, source=str(policy)),
            "provenance": {"generator": generator, "epochs": 10, "dp": {"epsilon": 3.0, "delta": 1e-5}},
        }
    )


HOSTILE = "`` [Approve here](http://127.0.0.1:9/x) ![pixel](http://127.0.0.1:9/p.png) <img src=x> :red[FAIL]"


def _reports(folder: Path, keys: Path | None, results: Path) -> dict[str, Path]:
    """A stand-in HTML report and a PDF: signed with ``keys`` (the sealed ``results`` attached, as the
    reports carry them) when given, else a fake that merely contains /ByteRange."""
    folder.mkdir(parents=True, exist_ok=True)
    html = folder / "report.html"
    html.write_text("<html><body><h1>qaharness report</h1><p>stand-in</p></body></html>", encoding="utf-8")
    pdf = folder / "report.pdf"
    if keys is None:
        pdf.write_bytes(b"%PDF-1.4\n% a stand-in that only looks signed /ByteRange [0 1 2 3]\n%%EOF\n")
        return {"report.html": html, "report.pdf": pdf}
    from qaharness.reports.pdf import render_pdf
    from qaharness.reports.sign import sign_pdf

    pdf.write_bytes(render_pdf("<html><body><h1>qaharness report</h1></body></html>"))
    sign_pdf(pdf, keys=keys, results_json=results.read_bytes())
    return {"report.html": html, "report.pdf": pdf}


def build_store(folder: Path, *, hostile: bool = False) -> tuple[Path, dict[str, str]]:
    """The three-run store in ``folder`` (``runs.duckdb``, reports under ``gate-*/``, the CA under ``keys/``).

    ``hostile``: the failing run's generator, ticket and a waiver carry Markdown/HTML injection attempts.
    """
    base = evaluate(
        make_mixed_frame(150, 1),
        make_mixed_frame(150, 2),
        make_mixed_frame(100, 3),
        target="label",
        seed=0,
        metrics=["fidelity.ks", "fidelity.js", "fidelity.coverage"],
    )
    base = base.model_copy(update={"created_at": "2026-11-20T09:00:00+00:00"})
    policy = folder / "release-default.yaml"
    policy.write_text(_POLICY_YAML, encoding="utf-8")
    store = RunStore(folder / "runs.duckdb")
    ids = {"evaluate": store.record_run(base, kind="evaluate")}
    keys = folder / "keys"  # the CA the dashboard is given (--trust): it seals the results and signs the PDF
    ensure_keys(keys)
    passing = _gated(base, verdict="pass", generator="ctgan", real_sha="1" * 64, hour=11, policy=policy)
    out = folder / "gate-pass"
    results = passing.write(out, keys=keys)
    reports = _reports(out, keys, results)
    ids["pass"] = store.record_run(passing, kind="gate", out_dir=out, artifacts={"results.json": results, **reports})
    generator = HOSTILE if hostile else "gaussian_copula"
    failing = _gated(base, verdict="fail", generator=generator, real_sha="2" * 64, hour=12, policy=policy)
    if hostile:
        failing = failing.model_copy(update={"ticket": HOSTILE})
    out = folder / "gate-fail"
    results = failing.write(out, keys=keys)
    reports = _reports(out, None, results)
    ids["fail"] = store.record_run(failing, kind="gate", out_dir=out, artifacts={"results.json": results, **reports})
    return store.path, ids


def store_copy(template: tuple[Path, dict[str, str]], folder: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh copy of a template store, read by the app through $QAHARNESS_STORE; no allow-list, no open review.

    The copy's artifacts still point at the template's files (the tests that edit them build their own store).
    """
    path = folder / "runs.duckdb"
    shutil.copy(template[0], path)
    monkeypatch.setenv("QAHARNESS_STORE", str(path))
    monkeypatch.setenv("QAHARNESS_TRUST", str(template[0].parent / "keys" / "ca.pem"))
    monkeypatch.delenv("QAHARNESS_REVIEWERS", raising=False)
    monkeypatch.delenv("QAHARNESS_INSECURE_OPEN_REVIEW", raising=False)
    return RunStore(path), template[1]
