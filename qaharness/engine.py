"""The metric engine: runs registered metrics over an ``EvalInput``.

Only the engine catches a metric's exception, recording ``status: error`` with the
message. Each metric draws from its own ``np.random.Generator`` seeded from
(seed, metric id), so adding a metric never changes another's numbers.
"""

from __future__ import annotations

import logging
import time
import traceback
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .errors import BadInputError
from .inputs import EvalInput
from .metrics import metric_registry
from .metrics._base import Metric, RunContext
from .results import Family, MetricResult

__all__ = ["select_metrics", "run_metric", "run_metrics", "metric_rng"]

log = logging.getLogger("qaharness.engine")
Progress = Callable[[str], None]


def metric_rng(seed: int, metric_id: str, salt: str = "") -> np.random.Generator:
    """The metric's own generator: a stable function of the run seed and the id."""
    return np.random.default_rng([int(seed), zlib.crc32(f"{metric_id}{salt}".encode())])


def select_metrics(selection: Iterable[str] | None = None) -> list[str]:
    """Metric ids from ids and/or family names (``fidelity``); None → every registered metric."""
    known = metric_registry.ids()
    if selection is None:
        return known
    chosen: list[str] = []
    families = {f.value for f in Family}
    for item in selection:
        item = item.strip()
        if item in families:
            chosen += [m for m in known if m.startswith(f"{item}.")]
        elif item in known:
            chosen.append(item)
        else:
            raise BadInputError(
                f"unknown metric or family {item!r}; known: {', '.join(sorted(families))}, {', '.join(known)}",
                source="--metrics",
            )
    return list(dict.fromkeys(chosen))


def run_metric(metric: Metric, data: EvalInput, *, seed: int, context: RunContext | None = None) -> MetricResult:
    """Compute one metric (and its holdout baseline), never raising for the metric's own faults.

    ``context`` is the run's shared work (a fresh one when omitted: a metric run alone shares nothing).
    """
    context = context if context is not None else RunContext(seed=seed)
    if metric.requires_holdout and data.holdout is None:
        return metric.skipped("needs a holdout (real rows the generator never saw): pass --holdout")
    if metric.requires_target and data.target is None:
        return metric.skipped("needs a target column: pass --target")
    result = _guarded(metric, data, context, metric_rng(seed, metric.id))
    if result.ok and metric.has_baseline and data.holdout is not None:
        baseline_input = context.cached(data, "holdout-as-synthetic", data.baseline_input)
        baseline = _guarded(metric, baseline_input, context, metric_rng(seed, metric.id, "baseline"))
        if baseline.ok:
            details = (
                {**result.details, "baseline_per_column": baseline.per_column}
                if baseline.per_column
                else result.details
            )
            result = result.model_copy(update={"baseline": baseline.value, "details": details})
    if data.sample is not None and not metric.summary_based:  # it read the frames: say they are a sample
        result = result.model_copy(update={"details": {**result.details, "sample": data.sample}})
    return result


def _guarded(metric: Metric, data: EvalInput, context: RunContext, rng: np.random.Generator) -> MetricResult:
    try:
        result = metric.compute(data, context, rng=rng)
        if not isinstance(result, MetricResult):
            raise TypeError(f"compute() returned {type(result).__name__}, not MetricResult")
        return result
    except Exception as exc:  # the one place a metric's failure is caught
        log.debug("metric %s failed:\n%s", metric.id, traceback.format_exc())
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return metric.error(message, details={"exception": type(exc).__name__})


def run_metrics(
    data: EvalInput,
    metric_ids: Iterable[str],
    *,
    seed: int = 0,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Progress | None = None,
) -> tuple[list[MetricResult], dict[str, float]]:
    """Run the metrics in order; returns results and seconds per metric.

    ``params`` maps a metric id to its parameters; they are validated by the metric's ``Params``
    (a bad one raises ``ParameterError`` before any metric runs). One ``RunContext`` is shared by
    every metric of the run.
    """
    params = params or {}
    ids = list(metric_ids)
    unknown = [m for m in params if m not in ids]
    if unknown:
        raise BadInputError(
            f"parameters given for {', '.join(unknown)}, which this run does not compute; it computes: "
            f"{', '.join(ids)}",
            source="--param",
        )
    metrics = [metric_registry.get(metric_id)(**params.get(metric_id, {})) for metric_id in ids]
    context = RunContext(seed=seed)
    results, timings = [], {}
    for metric in metrics:
        if progress:
            progress(metric.id)
        started = time.perf_counter()
        results.append(run_metric(metric, data, seed=seed, context=context))
        timings[metric.id] = round(time.perf_counter() - started, 3)
    return results, timings
