"""The metric engine: runs registered metrics over an ``EvalInput``.

Only the engine catches a metric's exception, recording ``status: error`` with the
message. Each metric draws from its own ``np.random.Generator`` seeded from
(seed, metric id), so adding a metric never changes another's numbers.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from .errors import BadInputError
from .inputs import EvalInput
from .metrics import metric_registry
from .metrics._base import Metric, RunContext
from .results import Family, Goal, MetricResult

__all__ = [
    "select_metrics",
    "run_metric",
    "run_metrics",
    "metric_rng",
    "baseline_inputs",
    "baseline_size",
    "bootstrap_scale",
    "BASELINE_QUANTILE",
    "worst_ratio",
]

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


#: the baseline is this quantile of the holdout draws, towards the metric's worse end: a noise ceiling
BASELINE_QUANTILE = 0.9


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
        result = _with_baseline(metric, result, data, context, seed)
    if data.sample is not None and not metric.summary_based:  # it read the frames: say they are a sample
        result = result.model_copy(update={"details": {**result.details, "sample": data.sample}})
    return result


def baseline_size(data: EvalInput, resample: bool = True) -> int:
    """Rows of each holdout sample in the synthetic seat (see ``baseline_inputs``)."""
    summaries = data.summaries()
    size, available = summaries.n_rows("synthetic"), summaries.n_rows("holdout")
    return available if size >= available and not resample else size


def baseline_inputs(data: EvalInput, context: RunContext, draws: int, *, resample: bool = True) -> Iterator[EvalInput]:
    """Inputs with a holdout sample in the synthetic seat, each of the synthetic table's size.

    The noise floor of a comparison depends on the size of the table compared, so the baseline
    compares real with as many holdout rows as synthetic has, ``draws`` times (the same samples for
    every metric of the run, drawn from the run seed and kept in the run's context): without
    replacement when the holdout is larger than synthetic; with replacement (a bootstrap) when it is
    not, which adds the holdout's own sampling noise and so errs towards a higher floor. With
    ``resample=False`` (a metric that duplicated rows would mislead) a holdout no larger than
    synthetic gives one draw: the whole holdout; so does ``draws=0`` (a metric with
    ``baseline_at_synthetic_size = False``). Rows are picked by position in the holdout's
    canonical order (``EvalInput.holdout_sample``), so every engine draws the same rows.
    """
    if data.holdout is None:
        return
    summaries = data.summaries()
    replace = summaries.n_rows("synthetic") >= summaries.n_rows("holdout")
    if (replace and not resample) or draws == 0:
        yield context.cached(data, "holdout-as-synthetic", data.baseline_input)
        return
    for i in range(draws):

        def draw(i: int = i) -> EvalInput:
            rng = np.random.default_rng([int(context.seed), zlib.crc32(b"baseline-sample"), i])
            return data.holdout_sample(rng, replace=replace)

        yield context.cached(data, ("holdout-sample", i), draw)


def bootstrap_scale(n_real: int, n_synthetic: int, n_holdout: int) -> float:
    """Factor that takes a bootstrap draw's noise back to an honest synthetic table's.

    Real vs a bootstrap sample of the holdout varies with 1/n_real + 1/n_holdout + 1/n_synthetic
    (the sample re-draws the holdout, itself a draw); real vs honest synthetic with 1/n_real +
    1/n_synthetic. A statistic whose noise scales with the square root of that variance (KS, JS,
    W1, association and rate differences) is multiplied by the square root of the ratio.
    """
    honest = 1 / n_real + 1 / n_synthetic
    return math.sqrt(honest / (honest + 1 / n_holdout))


def _with_baseline(
    metric: Metric, result: MetricResult, data: EvalInput, context: RunContext, seed: int
) -> MetricResult:
    draws_wanted = metric.baseline_draws if metric.baseline_at_synthetic_size else 0
    inputs = baseline_inputs(data, context, draws_wanted, resample=metric.baseline_resample)
    draws = [
        _guarded(metric, baseline_input, context, metric_rng(seed, metric.id, f"baseline{i}" if i else "baseline"))
        for i, baseline_input in enumerate(inputs)
    ]
    ok = [d for d in draws if d.ok and d.value is not None]
    if len(ok) < len(draws) or not ok:
        return result  # a baseline draw failed: report no baseline rather than a partial one
    summaries = data.summaries()
    n_real, n_synthetic, n_holdout = (summaries.n_rows(seat) for seat in ("real", "synthetic", "holdout"))
    bootstrapped = metric.baseline_resample and metric.baseline_at_synthetic_size and n_synthetic >= n_holdout
    scale = 1.0
    if bootstrapped and metric.baseline_scaling == "root_n":
        scale = bootstrap_scale(n_real, n_synthetic, n_holdout)
    worse = BASELINE_QUANTILE if metric.goal is Goal.MINIMIZE else 1 - BASELINE_QUANTILE
    values = [scale * float(d.value) for d in ok if d.value is not None]
    details = {
        **result.details,
        "baseline_rows": baseline_size(data, metric.baseline_resample)
        if metric.baseline_at_synthetic_size
        else n_holdout,
        "baseline_draws": [round(v, 6) for v in values],
        "baseline_quantile": BASELINE_QUANTILE,
        "baseline_scale": round(scale, 6),
    }
    columns = [set(d.per_column or {}) for d in ok]
    if all(columns) and all(c == columns[0] for c in columns):
        details["baseline_per_column"] = {
            column: scale * float(np.quantile([(d.per_column or {})[column] for d in ok], worse))
            for column in ok[0].per_column or {}
        }
        if metric.goal is Goal.MINIMIZE:
            details.update(worst_ratio(result.per_column or {}, details["baseline_per_column"]))
    return result.model_copy(update={"baseline": float(np.quantile(values, worse)), "details": details})


#: no column's noise floor is taken below this share of the table's largest column floor (a constant
#: column has a floor of 0), nor below ``RATIO_FLOOR_MIN``, so every ratio is a finite number
RATIO_FLOOR_SHARE = 0.1
RATIO_FLOOR_MIN = 1e-9


def worst_ratio(per_column: Mapping[str, float], floors: Mapping[str, float]) -> dict[str, Any]:
    """Each column against its own noise floor: the largest value_c / floor_c and its column.

    ``floors`` are the per-column baseline quantiles (``details.baseline_per_column``); a floor is
    guarded below at ``RATIO_FLOOR_SHARE`` × the largest floor and at ``RATIO_FLOOR_MIN``, so a
    column whose holdout draws never differ from real (a constant column: floor 0) scores 0 when
    synthetic matches it too and a large finite ratio when it does not. Columns without a floor are
    left out; ``ratio_columns`` counts those judged (the policy's bar grows with it). Empty when no
    column has both a value and a floor.
    """
    shared = [c for c in per_column if c in floors]
    if not shared:
        return {}
    guard = max(RATIO_FLOOR_SHARE * max(floors[c] for c in shared), RATIO_FLOOR_MIN)
    ratios = {c: float(per_column[c]) / max(floors[c], guard) for c in shared}
    column = max(ratios, key=lambda c: ratios[c])
    return {"worst_ratio": ratios[column], "worst_ratio_column": column, "ratio_columns": len(shared)}


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
