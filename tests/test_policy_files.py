"""Policy files: the shipped ones load; malformed ones fail naming the file and the line."""

from __future__ import annotations

import textwrap

import pytest
from typer.testing import CliRunner

from qaharness.cli import app
from qaharness.errors import PolicyError
from qaharness.policy import bundled_policies, known_metric_ids, load_policy, parse_policy

GOOD = """\
id: team-policy
version: 1.0.0
description: a test policy
rules:
  - id: marginals
    metric: fidelity.ks
    op: "<="
    threshold: min(2 * baseline, 0.15)
    rationale: two times the noise floor
  - id: categories
    metric: fidelity.js
    field: value
    op: "<="
    threshold: 0.2
    severity: warn
waivers:
  - rule: categories
    owner: ana
    reason: known rare-category gap
    expires: 2027-01-31
"""


def _replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


def test_a_good_policy_loads_with_its_hash():
    loaded = parse_policy(GOOD, source="team.yaml")
    policy = loaded.policy
    assert (policy.id, policy.version, len(policy.rules)) == ("team-policy", "1.0.0", 2)
    assert policy.rules[0].parsed_threshold.relative and policy.rules[1].threshold == 0.2
    assert policy.waivers[0].expires.isoformat() == "2027-01-31"
    assert len(loaded.sha256) == 64 and loaded.ref.id == "team-policy"
    assert policy.metric_ids() == ["fidelity.ks", "fidelity.js"]


# (name, text, line expected in the error, phrase expected in the error)
MALFORMED = [
    (
        "yaml-syntax",
        _replace('    op: "<="\n    threshold: 0.2', '    op: "<=\n    threshold: 0.2'),
        None,
        "not valid YAML",
    ),
    ("not-a-mapping", "- just\n- a list\n", 1, "a policy is a YAML mapping"),
    ("empty", "", 1, "got an empty file"),
    ("unknown-metric", _replace("metric: fidelity.js", "metric: fidelity.jss"), 11, "unknown metric id 'fidelity.jss'"),
    ("threshold-list", _replace("threshold: 0.2", "threshold: [0.1, 0.2]"), 14, "threshold must be a number"),
    ("threshold-bool", _replace("threshold: 0.2", "threshold: true"), 14, "threshold must be a number"),
    ("threshold-eval", _replace("threshold: 0.2", "threshold: __import__('os').system('true')"), 14, "not allowed"),
    ("threshold-name", _replace("threshold: 0.2", "threshold: 2 * noise"), 14, "unknown name 'noise'"),
    ("threshold-syntax", _replace("threshold: 0.2", "threshold: 2 * (baseline"), 14, "cannot parse"),
    ("bad-op", _replace('    op: "<="\n    threshold: 0.2', '    op: "=<"\n    threshold: 0.2'), 13, "op"),
    ("bad-field", _replace("field: value", "field: median"), 12, "field must be one of"),
    ("bad-severity", _replace("severity: warn", "severity: fatal"), 15, "severity"),
    ("missing-op", _replace('    op: "<="\n    threshold: 0.2', "    threshold: 0.2"), 10, "op: required but missing"),
    ("typo-key", _replace("severity: warn", "severty: warn"), 15, "unknown key"),
    ("duplicate-key", _replace("severity: warn", "severity: warn\n    severity: error"), 16, "appears twice"),
    ("duplicate-rule", _replace("id: categories", "id: marginals"), 10, "used twice"),
    ("waiver-unknown-rule", _replace("rule: categories", "rule: nope"), 17, "no rule 'nope'"),
    ("waiver-bad-date", _replace("expires: 2027-01-31", "expires: someday"), 20, "expires"),
    ("waiver-no-owner", _replace("    owner: ana\n", ""), 17, "owner: required but missing"),
    ("numeric-version", _replace("version: 1.0.0", "version: 1.0"), 2, "quote it"),
    ("no-rules", "id: x\nversion: '1'\nrules: []\n", 3, "rules"),
]


@pytest.mark.parametrize(("name", "text", "line", "phrase"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_policies_name_the_file_and_line(name, text, line, phrase):
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="team.yaml")
    message = str(caught.value)
    assert message.startswith("team.yaml"), message
    assert phrase in message, message
    if line is not None:
        assert caught.value.line == line, message
        assert message.startswith(f"team.yaml:{line}:"), message


def test_yaml_syntax_error_carries_a_line():
    with pytest.raises(PolicyError) as caught:
        parse_policy(MALFORMED[0][1], source="team.yaml")
    assert caught.value.line is not None


def test_unknown_metric_error_lists_the_known_ids():
    with pytest.raises(PolicyError) as caught:
        parse_policy(_replace("metric: fidelity.js", "metric: fidelity.jss"), source="team.yaml")
    for metric_id in known_metric_ids():
        assert metric_id in str(caught.value)


def test_provenance_tagged_is_accepted():
    assert "provenance.tagged" in known_metric_ids()
    loaded = parse_policy(_replace("metric: fidelity.js", "metric: provenance.tagged"), source="p.yaml")
    assert loaded.policy.rules[1].metric == "provenance.tagged"


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(PolicyError, match="no such policy file; bundled policies: .*default"):
        load_policy(tmp_path / "absent.yaml")
    with pytest.raises(PolicyError, match="is a folder"):
        load_policy(tmp_path)
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(tmp_path / "bin.yaml")


def test_same_text_same_hash_and_a_changed_file_another(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(GOOD)
    first = load_policy(path)
    assert first.sha256 == parse_policy(GOOD).sha256
    path.write_text(GOOD.replace("0.2", "0.25"))
    assert load_policy(path).sha256 != first.sha256


@pytest.mark.parametrize("name", ["default", "ml-training", "external-sharing"])
def test_shipped_policies_load_and_every_rule_has_a_rationale(name):
    assert name in bundled_policies()
    loaded = load_policy(name)
    assert loaded.policy.id == name
    assert loaded.source.endswith(f"{name}.yaml")
    for rule in loaded.policy.rules:
        assert len(rule.rationale) > 40, f"{name}:{rule.id} needs a rationale"


def test_default_policy_is_used_when_none_is_given():
    assert load_policy(None).policy.id == "default"


def test_cli_gate_with_a_malformed_policy_exits_2_naming_file_and_line(tmp_path):
    policy = tmp_path / "bad.yaml"
    policy.write_text(textwrap.dedent(_replace("threshold: 0.2", "threshold: {times: 2}")))
    result = CliRunner().invoke(
        app,
        ["gate", "--real", "r.csv", "--synthetic", "s.csv", "--policy", str(policy), "--out", str(tmp_path / "out")],
    )
    assert result.exit_code == 2, result.output
    assert f"{policy}:14" in result.output and "threshold must be a number" in result.output
    assert "Traceback" not in result.output
