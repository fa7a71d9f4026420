"""``kind: constraint``: declared SQL conditions, judged by DuckDB on synthetic (and real) rows."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.errors import PolicyError
from qaharness.gate import run_gate
from qaharness.policy import apply_policy, parse_policy
from qaharness.rules import RULE_KINDS, ConstraintRule
from qaharness.rules.constraint import parse_expression

runner = CliRunner()

REAL = pd.DataFrame(
    {
        "region": ["EMEA", "EMEA", "AMER", "APAC"] * 10,
        "country": ["DE", "FR", "US", "JP"] * 10,
        "age": [30.0, 40.0, 50.0, 60.0] * 10,
        "member": ["yes", "no", "yes", "no"] * 10,
    }
)


def _policy(rules: str) -> str:
    return f"id: t\nversion: '1'\nrules:\n{rules}"


EMEA = """  - id: emea
    kind: constraint
    sql: "region <> 'EMEA' OR country IN ('DE', 'FR', 'NL')"
    threshold: 0.02
"""


def _synthetic(bad_rows: int) -> pd.DataFrame:
    synthetic = REAL.copy()
    synthetic.loc[: bad_rows - 1, "country"] = "US"  # rows 0, 1 are EMEA: now EMEA rows with a US country
    return synthetic


def _gate(tmp_path, synthetic, policy_text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(policy_text, encoding="utf-8")
    # overwrite: tests here gate several times into one folder (a gate refuses another run's folder otherwise)
    return run_gate(REAL, synthetic, out=tmp_path / "out", policy=path, record=False, overwrite=True)


def test_constraint_is_a_rule_kind():
    assert ConstraintRule in RULE_KINDS


@pytest.mark.parametrize(("bad", "status"), [(0, "pass"), (2, "fail")])
def test_constraint_counts_violations_on_synthetic_and_real(tmp_path, bad, status):
    result = _gate(tmp_path, _synthetic(bad), _policy(EMEA))
    rule = result.run.rules[0]
    assert (rule.kind, rule.status, rule.op, rule.threshold) == ("constraint", status, "<=", 0.02)
    assert rule.observed == pytest.approx(bad / 40)
    assert rule.details["synthetic"] == {"rows": 40, "violations": bad, "share": bad / 40}
    assert rule.details["real"] == {"rows": 40, "violations": 0, "share": 0.0}
    assert f"{bad:,} of 40 synthetic rows violate it" in rule.message and "real: 0 of 40" in rule.message
    assert result.exit_code == (1 if status == "fail" else 0)
    saved = json.loads((tmp_path / "out" / "results.json").read_text())["rules"][0]
    assert saved["details"]["synthetic"]["violations"] == bad  # counts reach results.json


def test_null_counts_as_meeting_the_condition_and_booleans_are_booleans(tmp_path):
    synthetic = REAL.copy()
    synthetic["age"] = synthetic["age"].astype(object)
    synthetic.loc[:3, "age"] = None  # age >= 18 is NULL there: not a violation (as in a SQL CHECK)
    synthetic.loc[4, "age"] = 12.0
    rules = """  - id: adults
    kind: constraint
    sql: age >= 18
  - id: members-are-adults
    kind: constraint
    sql: NOT member OR age >= 35
"""
    result = _gate(tmp_path, synthetic, _policy(rules))
    adults, members = result.run.rules
    assert adults.details["synthetic"]["violations"] == 1 and adults.status == "fail"
    # member "yes" rows with age 30: rows 0 (NULL age → not counted), 4 (12), 8, 12, ... (30)
    expected = int(((synthetic["member"] == "yes") & (pd.to_numeric(synthetic["age"]) < 35)).sum())
    assert members.details["synthetic"]["violations"] == expected
    assert members.details["real"]["violations"] == 10


def test_real_data_breaking_the_constraint_is_said(tmp_path):
    rules = """  - id: young
    kind: constraint
    sql: age < 45
    threshold: 0.6
"""
    rule = _gate(tmp_path, REAL.copy(), _policy(rules)).run.rules[0]
    assert rule.status == "pass" and "the real data breaks it too" not in rule.message
    rule = _gate(tmp_path, REAL.copy(), _policy(rules.replace("0.6", "0.1"))).run.rules[0]
    assert rule.status == "fail" and "the real data breaks it too" in rule.message


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("age >= 18 AND", "not a valid expression"),
        ("age > 1; DROP TABLE t", "semicolons are not allowed"),
        ("1=1) UNION SELECT * FROM read_csv('/etc/passwd') WHERE (1=1", "not a query"),
        ("EXISTS (SELECT 1)", "a subquery is not allowed"),
        ("age > (SELECT max(age) FROM qaharness_rows)", "a subquery is not allowed"),
        ("sum(age) OVER () > 1", "a window function is not allowed"),
        ("age = ?", "a parameter is not allowed"),
        ("   ", "sql is empty"),
    ],
)
def test_malformed_or_unsafe_sql_is_refused_at_load_with_the_line(sql, message):
    text = _policy(f"  - id: first\n    kind: constraint\n    sql: {json.dumps(sql)}\n")
    with pytest.raises(PolicyError, match=message) as caught:
        parse_policy(text, source="team.yaml")
    assert caught.value.line == 6 and "team.yaml:6" in str(caught.value)
    assert "rules[0] (id 'first').sql" in str(caught.value)


def test_parse_accepts_expressions_with_functions_and_comments():
    assert (
        parse_expression("lower(country) IN ('de', 'fr') -- EMEA only") == "lower(country) IN ('de', 'fr') -- EMEA only"
    )
    assert parse_expression("CASE WHEN age > 60 THEN member ELSE true END")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("nosuch > 1", 'Referenced column "nosuch" not found'),
        ("age + 1", "must be a boolean condition; it gives DOUBLE"),
        ("CAST(country AS INTEGER) > 1", "TRY_CAST"),
        ("read_text('/etc/passwd') IS NOT NULL", "cannot be evaluated"),
    ],
)
def test_unknown_column_or_bad_type_is_bad_input_before_any_metric(tmp_path, sql, message, monkeypatch):
    def no_metrics(*args, **kwargs):
        raise AssertionError("a metric ran before the policy was checked against the inputs")

    monkeypatch.setattr("qaharness.gate.evaluate_input", no_metrics)
    text = _policy(
        f"  - id: ok\n    kind: constraint\n    sql: age > 0\n  - id: broken\n    kind: constraint\n    sql: {sql!r}\n"
    )
    with pytest.raises(PolicyError, match=message) as caught:
        _gate(tmp_path, REAL.copy(), text)
    assert caught.value.line == 9 and "rules[1] (id 'broken')" in str(caught.value)
    assert "'DE'" not in str(caught.value)  # DuckDB quotes the failing value: hidden


def test_cli_exit_2_names_the_rule_and_line(tmp_path):
    REAL.to_csv(tmp_path / "real.csv", index=False)
    _synthetic(2).to_csv(tmp_path / "synthetic.csv", index=False)
    (tmp_path / "p.yaml").write_text(_policy("  - id: typo\n    kind: constraint\n    sql: regoin = 'EMEA'\n"))
    result = runner.invoke(
        app,
        ["gate", "--real", str(tmp_path / "real.csv"), "--synthetic", str(tmp_path / "synthetic.csv"), "--policy",
         str(tmp_path / "p.yaml"), "--out", str(tmp_path / "out"), "--no-store"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "p.yaml:6" in result.output and "rules[0] (id 'typo')" in result.output and "regoin" in result.output


def test_a_stored_run_without_tables_cannot_judge_a_constraint(tmp_path):
    loaded = parse_policy(_policy(EMEA))
    gated = _gate(tmp_path, _synthetic(0), _policy(EMEA))
    rejudged = apply_policy(gated.run, loaded)  # no data: as when re-judging results.json
    assert rejudged.rules[0].status == "error" and "reads the tables" in rejudged.rules[0].message


def test_constraint_and_metric_rules_together(tmp_path):
    rules = EMEA + "  - id: valid\n    metric: fidelity.validity\n    op: '<='\n    threshold: 0\n"
    result = _gate(tmp_path, _synthetic(2), _policy(rules))
    assert [r.kind for r in result.run.rules] == ["constraint", "metric"]
    assert [m.id for m in result.run.metrics] == ["fidelity.validity"]  # constraints compute no metric
    assert result.verdict == "fail" and result.failed_rules() == ["emea"]
