"""Metric registry. Every module here not starting with ``_`` is a metric plugin."""

from ._base import Metric, get_metric, metric_ids, metric_registry, register_metric

__all__ = ["Metric", "register_metric", "get_metric", "metric_ids", "metric_registry"]
