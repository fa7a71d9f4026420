"""Table-driven tests of the policy engine: ops, fields, thresholds, severities, waivers, verdicts."""

from __future__ import annotations

from datetime import date

import pytest

from qaharness.api import evaluate
from qaharness.errors import PolicyError
from qaharness.policy import (
    Policy,
    Rule,
    Waiver,
    apply_policy,
    evaluate_policy,
    evaluate_rule,
    parse_policy,
    parse_rule,
    verdict_of,
)
from qaharness.results import Family, Goal, MetricResult, RuleResult, Run, Status

TODAY = date(2026, 11, 22)


def metric(
    metric_id: str = "fidelity.ks",
    value: float | None = 0.10,
    *,
    ci=(0.08, 0.12),
    baseline=0.05,
    status: Status = Status.OK,
    message: str = "",
    details: dict | None = None,
) -> MetricResult:
    family = Family(metric_id.split(".")[0])
    return MetricResult(
        id=metric_id,
        family=family,
        value=value if status is Status.OK else None,
        goal=Goal.MINIMIZE,
        bounds=(0.0, 1.0),
        status=status,
        message=message,
        ci=ci if status is Status.OK else None,
        ci_level=0.95 if ci and status is Status.OK else None,
        baseline=baseline if status is Status.OK else None,
        details=details if details is not None else {"mean": 0.04, "nested": {"share": 0.3}},
    )


def run_of(*metrics: MetricResult) -> Run:
    return Run(
        qaharness_version="0.0",
        created_at="2026-11-22T22:00:00+00:00",
        seed=0,
        inputs={},
        schema={},
        metrics=list(metrics),
    )


def rule(**fields) -> Rule:
    base = {"id": "r", "metric": "fidelity.ks", "op": "<=", "threshold": 0.15}
    return parse_rule({**base, **fields})


# every op, on both sides of the threshold (observed value 0.10)
OPS = [
    ("<=", 0.10, "pass"),
    ("<=", 0.09, "fail"),
    ("<", 0.11, "pass"),
    ("<", 0.10, "fail"),
    (">=", 0.10, "pass"),
    (">=", 0.11, "fail"),
    (">", 0.09, "pass"),
    (">", 0.10, "fail"),
    ("==", 0.10, "pass"),
    ("==", 0.1000001, "fail"),
    ("!=", 0.2, "pass"),
    ("!=", 0.10, "fail"),
]


@pytest.mark.parametrize(("op", "threshold", "expected"), OPS, ids=[f"{o}{t}-{e}" for o, t, e in OPS])
def test_every_op(op, threshold, expected):
    result = evaluate_rule(rule(op=op, threshold=threshold), run_of(metric(value=0.10)))
    assert result.status == expected
    assert result.observed == 0.10 and result.threshold == threshold


FIELDS = [
    ("value", 0.10),
    ("ci_low", 0.08),
    ("ci_high", 0.12),
    ("baseline", 0.05),
    ("details.mean", 0.04),
    ("details.nested.share", 0.3),
]


@pytest.mark.parametrize(("field", "observed"), FIELDS, ids=[f for f, _ in FIELDS])
def test_every_field_reads_its_number(field, observed):
    result = evaluate_rule(rule(field=field, threshold=0.2), run_of(metric()))
    assert result.observed == pytest.approx(observed)
    assert result.status == ("fail" if observed > 0.2 else "pass")
    assert result.field == field


MISSING_FIELDS = [
    ("ci_low", {"ci": None}, "no confidence interval"),
    ("baseline", {"baseline": None}, "no baseline"),
    ("details.absent", {}, "no numeric details.absent"),
    ("details.label", {"details": {"label": "text"}}, "no numeric details.label"),
]


@pytest.mark.parametrize(("field", "overrides", "says"), MISSING_FIELDS, ids=[f for f, _, _ in MISSING_FIELDS])
def test_a_field_the_result_lacks_errors_the_rule(field, overrides, says):
    result = evaluate_rule(rule(field=field), run_of(metric(**overrides)))
    assert result.status == "error" and says in result.message


RELATIVE = [
    # expression, baseline, observed, expected status, resolved threshold
    ("min(2 * baseline, 0.15)", 0.05, 0.10, "pass", 0.10),
    ("min(2 * baseline, 0.15)", 0.04, 0.10, "fail", 0.08),
    ("min(2 * baseline, 0.15)", 0.20, 0.10, "pass", 0.15),
    ("min(2 * baseline, 0.15)", 0.20, 0.16, "fail", 0.15),
    ("baseline + 0.05", 0.05, 0.10, "pass", 0.10),
    ("max(baseline * 1.5, 0.02)", 0.0, 0.03, "fail", 0.02),
    ("abs(-0.2) - baseline / 2", 0.1, 0.10, "pass", 0.15),
    ("details.mean * 3", 0.05, 0.10, "pass", 0.12),
    ("-0.5 + 0.7", 0.05, 0.10, "pass", 0.2),
]


@pytest.mark.parametrize(
    ("expr", "baseline", "observed", "expected", "resolved"), RELATIVE, ids=[f"{e}@{b}" for e, b, *_ in RELATIVE]
)
def test_relative_thresholds(expr, baseline, observed, expected, resolved):
    result = evaluate_rule(rule(threshold=expr), run_of(metric(value=observed, baseline=baseline)))
    assert result.status == expected, result.message
    assert result.threshold == pytest.approx(resolved)
    if any(name in expr for name in ("baseline", "details")):
        assert result.threshold_expr == expr and expr in result.message
    else:
        assert result.threshold_expr is None  # a constant expression is a plain number


def test_relative_threshold_without_baseline_errors_and_asks_for_a_holdout():
    result = evaluate_rule(rule(threshold="min(2 * baseline, 0.15)"), run_of(metric(baseline=None)))
    assert result.status == "error"
    assert "--holdout" in result.message


def test_threshold_dividing_by_zero_errors_the_rule():
    result = evaluate_rule(rule(threshold="0.1 / baseline"), run_of(metric(baseline=0.0)))
    assert result.status == "error" and "cannot be evaluated" in result.message


@pytest.mark.parametrize("status", [Status.ERROR, Status.SKIPPED])
def test_a_metric_without_a_value_fails_its_rule_and_says_why(status):
    result = evaluate_rule(rule(), run_of(metric(status=status, message="needs a holdout")))
    assert result.status == "error"
    assert status.value in result.message and "needs a holdout" in result.message


def test_a_metric_missing_from_the_run_fails_its_rule():
    result = evaluate_rule(rule(metric="fidelity.js"), run_of(metric()))
    assert result.status == "error" and "not computed" in result.message


VERDICTS = [
    # (severity, status) of each rule → verdict
    ([("error", "pass"), ("warn", "pass")], "pass"),
    ([("error", "pass"), ("warn", "fail")], "warn"),
    ([("error", "pass"), ("warn", "error")], "warn"),
    ([("error", "fail"), ("warn", "pass")], "fail"),
    ([("error", "error")], "fail"),
    ([("error", "waived"), ("warn", "waived")], "pass"),
    ([("warn", "fail"), ("error", "fail")], "fail"),
]


@pytest.mark.parametrize(("rules", "verdict"), VERDICTS, ids=[v + str(i) for i, (_, v) in enumerate(VERDICTS)])
def test_verdict(rules, verdict):
    results = [
        RuleResult(id=f"r{i}", metric="fidelity.ks", op="<=", severity=sev, status=st)
        for i, (sev, st) in enumerate(rules)
    ]
    assert verdict_of(results) == verdict


@pytest.mark.parametrize(("severity", "verdict"), [("error", "fail"), ("warn", "warn")])
def test_severity_of_a_failing_rule_sets_the_verdict(severity, verdict):
    policy = Policy(id="p", version="1", rules=[rule(severity=severity, threshold=0.05)])
    judged = apply_policy(run_of(metric(value=0.10)), _loaded(policy))
    assert judged.verdict == verdict
    assert judged.rules[0].severity == severity and judged.rules[0].status == "fail"


WAIVERS = [
    # observed, expires, expected status, phrase in the message
    (0.10, date(2026, 12, 31), "waived", "waived by ana until 2026-12-31"),
    (0.10, TODAY, "waived", "waived by ana"),  # the expiry day itself still counts
    (0.10, date(2026, 11, 21), "fail", "expired on 2026-11-21 and no longer applies"),
    (0.01, date(2026, 12, 31), "pass", "not needed"),
]


@pytest.mark.parametrize(
    ("observed", "expires", "expected", "phrase"), WAIVERS, ids=["active", "expires-today", "expired", "unneeded"]
)
def test_waivers(observed, expires, expected, phrase):
    waiver = Waiver(rule="r", owner="ana", reason="known gap, fix in DATA-7", expires=expires)
    result = evaluate_rule(rule(threshold=0.05), run_of(metric(value=observed)), waiver, today=TODAY)
    assert result.status == expected
    assert phrase in result.message
    assert result.waiver["owner"] == "ana" and result.waiver["active"] == (expires >= TODAY)


def test_waived_error_rule_keeps_the_verdict_passing_and_shows_the_waiver():
    policy = Policy(
        id="p",
        version="1",
        rules=[rule(threshold=0.05)],
        waivers=[Waiver(rule="r", owner="ana", reason="r", expires=date(2030, 1, 1))],
    )
    judged = apply_policy(run_of(metric(value=0.10)), _loaded(policy), today=TODAY)
    assert judged.verdict == "pass" and judged.rules[0].status == "waived"
    assert "ana" in judged.to_json()


def test_rules_keep_file_order_and_family():
    policy = Policy(id="p", version="1", rules=[rule(id="b"), rule(id="a", metric="fidelity.js")])
    results = evaluate_policy(policy, run_of(metric(), metric("fidelity.js")))
    assert [r.id for r in results] == ["b", "a"]
    assert results[1].family is Family.FIDELITY


def test_apply_policy_round_trips_through_json():
    policy = Policy(id="p", version="1.2.0", rules=[rule(threshold="min(2 * baseline, 0.15)")])
    judged = apply_policy(run_of(metric()), _loaded(policy))
    again = Run.from_json(judged.to_json())
    assert again == judged
    data = judged.to_dict()
    assert data["verdict"] == "pass" and data["policy"]["id"] == "p" and data["policy"]["version"] == "1.2.0"
    assert set(data["rules"][0]) >= {
        "id",
        "metric",
        "family",
        "field",
        "op",
        "threshold",
        "observed",
        "severity",
        "status",
        "message",
    }


def _loaded(policy: Policy):
    from qaharness.policy import LoadedPolicy

    return LoadedPolicy(policy=policy, source="<test>", sha256="0" * 64)


# -- rule kinds, metric parameters, hostile YAML (the house contract) -------------------------------
def _policy_text(extra: str = "", rule_extra: str = "") -> str:
    return (
        "id: p\nversion: '1'\nrules:\n  - id: dcr\n    metric: privacy.dcr\n    op: '<='\n    threshold: 0.6\n"
        + rule_extra
        + extra
    )


def test_rule_kind_defaults_to_metric_and_unknown_kind_is_named():
    policy = parse_policy(_policy_text()).policy
    assert policy.rules[0].kind == "metric" and policy.metric_ids() == ["privacy.dcr"]
    with pytest.raises(
        PolicyError, match=r"t.yaml:4: rules\[0\] \(id 'dcr'\): unknown rule kind 'magic'; kinds: metric"
    ):
        parse_policy(_policy_text(rule_extra="    kind: magic\n"), source="t.yaml")


def test_policy_params_are_validated_with_their_line():
    loaded = parse_policy(_policy_text("params:\n  privacy.dcr:\n    max_queries: 500\n"))
    assert loaded.policy.metric_params() == {"privacy.dcr": {"max_queries": 500}}
    with pytest.raises(PolicyError, match=r"t.yaml:10: params.privacy.dcr: privacy.dcr has no parameter 'max_query'"):
        parse_policy(_policy_text("params:\n  privacy.dcr:\n    max_query: 500\n"), source="t.yaml")
    with pytest.raises(PolicyError, match=r"t.yaml:9: params: unknown metric id 'privacy.dcx'"):
        parse_policy(_policy_text("params:\n  privacy.dcx: {max_queries: 5}\n"), source="t.yaml")
    with pytest.raises(PolicyError, match=r"The 'max_queries' parameter of privacy.dcr must be greater than or equal"):
        parse_policy(_policy_text("params:\n  privacy.dcr: {max_queries: 0}\n"), source="t.yaml")


def test_yaml_alias_bomb_is_refused_before_it_expands():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    bomb += "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("bcdefgh", "cdefghi"))
    with pytest.raises(PolicyError, match=r"bomb.yaml:2: YAML aliases \(\*name\) are not allowed"):
        parse_policy(bomb, source="bomb.yaml")


def test_impossible_waiver_date_is_a_policy_error_with_its_line():
    text = _policy_text("waivers:\n  - {rule: dcr, owner: a, reason: b, expires: 2026-02-30}\n")
    with pytest.raises(PolicyError, match=r"t.yaml:9: a value cannot be read: day is out of range") as info:
        parse_policy(text, source="t.yaml")
    assert info.value.exit_code == 2


def test_min_rows_makes_a_rule_insufficient_not_passing(mixed_frames):
    real, synthetic, holdout = mixed_frames
    run = evaluate(real, synthetic, holdout.head(20), target="label", metrics=["privacy.dcr"])
    loaded = parse_policy(_policy_text(rule_extra="    min_rows: {holdout: 100}\n"))
    [rule] = evaluate_policy(loaded, run)
    assert rule.status == "insufficient" and rule.details["rows_needed"] == {"holdout": 100}
    assert "needs at least 100 holdout rows (has 20)" in rule.message
    assert verdict_of([rule]) == "fail"
    enough = evaluate(real, synthetic, holdout, target="label", metrics=["privacy.dcr"])
    assert evaluate_policy(loaded, enough)[0].status in ("pass", "fail")
