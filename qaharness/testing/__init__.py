"""Helpers for testing qaharness plugins, public so a plugin author can run them on their own.

``qaharness.testing.metrics`` — the metric conformance suite: ``check_metric(MyMetric)`` runs every
check on a metric class; ``metric_check_cases()`` / ``run_metric_check()`` parametrise a test over
registered metrics (see ``tests/test_conformance_metrics.py``).
"""

from __future__ import annotations

from .metrics import METRIC_CHECKS, CheckSkipped, ConformanceData, check_metric, metric_check_cases, run_metric_check

__all__ = ["METRIC_CHECKS", "CheckSkipped", "ConformanceData", "check_metric", "metric_check_cases", "run_metric_check"]
