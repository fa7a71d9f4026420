"""Helpers for testing and calibrating qaharness, public so a plugin author can run them on their own.

- ``qaharness.testing.metrics`` — the metric conformance suite: ``check_metric(MyMetric)`` runs every
  check on a metric class; ``metric_check_cases()`` / ``run_metric_check()`` parametrise a test over
  registered metrics (see ``tests/test_conformance_metrics.py``).
- ``qaharness.testing.cases`` builds every calibration case (``cases.build(table, shape, case, seed)``)
  from the seeded tables of ``qaharness.testing.tables``; ``qaharness.testing.calibration`` runs one
  through the gate (``gate_case``) and judges the verdict against what the case expects (``judge``).
- ``qaharness.testing.generators`` — the generator conformance checks a plugin author runs on their own
  generator (``GeneratorChecks(id).run(name)``; ``tests/test_generators.py`` runs them over every
  registered generator).

Nothing here touches global random state.
"""

from __future__ import annotations

from . import calibration, cases, tables
from .calibration import GateOutcome, Judgement, gate_case, judge
from .cases import Case, build
from .metrics import METRIC_CHECKS, CheckSkipped, ConformanceData, check_metric, metric_check_cases, run_metric_check

__all__ = [
    "METRIC_CHECKS",
    "CheckSkipped",
    "ConformanceData",
    "check_metric",
    "metric_check_cases",
    "run_metric_check",
    "calibration",
    "cases",
    "tables",
    "Case",
    "build",
    "GateOutcome",
    "Judgement",
    "gate_case",
    "judge",
]
