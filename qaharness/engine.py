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
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._draws import ROW_DRAW_MAX, BaselineMethod, draw_scale
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
    "baseline_plan",
    "BaselinePlan",
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


@dataclass(frozen=True)
class BaselinePlan:
    """How a metric's holdout baseline is drawn (``details.baseline_method`` …).

    ``method``: "holdout" (one draw, the whole holdout), "rows" (holdout rows at the synthetic
    size), "marginals" (per-column counts drawn from the holdout's: ``_draws.MarginalDraw``),
    "rows_capped" (``rows`` holdout rows, the value rescaled root-n to the synthetic size).
    ``scale`` multiplies every draw's value."""

    method: BaselineMethod
    draws: int
    rows: int
    replace: bool
    scale: float


def baseline_plan(metric: Metric, data: EvalInput) -> BaselinePlan:
    """The draws for ``metric``'s baseline. Up to ``ROW_DRAW_MAX`` synthetic rows (every size the
    calibration grid measured) always rows; above, a summary-based metric reads per-column marginal
    draws, or with ``baseline_joint`` (associations need rows together) draws of ``ROW_DRAW_MAX`` rows
    rescaled root-n (``_draws.draw_scale``; a metric without ``root_n`` scaling uses them unscaled,
    a floor that errs high). Frame-based metrics read a row draw of the frame at any size."""
    summaries = data.summaries()
    n_real, n_synthetic, n_holdout = (summaries.n_rows(seat) for seat in ("real", "synthetic", "holdout"))
    replace = n_synthetic >= n_holdout
    if not metric.baseline_at_synthetic_size or (replace and not metric.baseline_resample):
        return BaselinePlan("holdout", 1, n_holdout, False, 1.0)
    root_n = metric.baseline_scaling == "root_n"
    if metric.summary_based and metric.baseline_joint and n_synthetic > ROW_DRAW_MAX:
        rows, replace = ROW_DRAW_MAX, n_holdout <= ROW_DRAW_MAX
        scale = draw_scale(n_real, n_synthetic, n_holdout, rows, replace) if root_n else 1.0
        return BaselinePlan("rows_capped", metric.baseline_draws, rows, replace, scale)
    scale = bootstrap_scale(n_real, n_synthetic, n_holdout) if replace and root_n else 1.0
    marginals = metric.summary_based and n_synthetic > ROW_DRAW_MAX
    return BaselinePlan("marginals" if marginals else "rows", metric.baseline_draws, n_synthetic, replace, scale)


def baseline_inputs(
    data: EvalInput,
    context: RunContext,
    draws: int,
    *,
    resample: bool = True,
    rows: int | None = None,
    frames: bool = True,
) -> Iterator[EvalInput]:
    """Inputs with a holdout sample in the synthetic seat, each of the synthetic table's size (or ``rows``).

    The noise floor of a comparison depends on the size of the table compared, so the baseline
    compares real with as many holdout rows as synthetic has, ``draws`` times (the same samples for
    every metric of the run, drawn from the run seed and kept in the run's context): without
    replacement when the holdout is larger than synthetic; with replacement (a bootstrap) when it is
    not, which adds the holdout's own sampling noise and so errs towards a higher floor. With
    ``resample=False`` (a metric that duplicated rows would mislead) a holdout no larger than
    synthetic gives one draw: the whole holdout; so does ``draws=0`` (a metric with
    ``baseline_at_synthetic_size = False``). Rows are picked by position in the holdout's
    canonical order (``EvalInput.holdout_sample``), so every engine draws the same rows. Above
    ``ROW_DRAW_MAX`` synthetic rows the draws' summaries are per-column marginal draws
    (``EvalInput.holdout_marginals``, frames still row draws); ``rows`` asks for row draws of that
    many rows instead (``baseline_plan``: "rows_capped"), without replacement when the holdout has more.
    """
    if data.holdout is None:
        return
    summaries = data.summaries()
    n_synthetic, n_holdout = summaries.n_rows("synthetic"), summaries.n_rows("holdout")
    replace = (n_synthetic if rows is None else rows) >= n_holdout
    if (replace and not resample) or draws == 0:
        yield context.cached(data, "holdout-as-synthetic", data.baseline_input)
        return
    for i in range(draws):
        yield context.cached(data, *_draw(data, context, i, replace, rows, frames))


def _draw(
    data: EvalInput, context: RunContext, i: int, replace: bool, rows: int | None, frames: bool
) -> tuple[Any, Callable[[], EvalInput]]:
    """The cache key and the builder of baseline draw ``i`` (``baseline_inputs``)."""
    seed = int(context.seed)
    if rows is not None:
        rng = np.random.default_rng([seed, zlib.crc32(b"baseline-rows"), rows, i])
        return ("holdout-rows", rows, i), lambda: data.holdout_sample(rng, replace=replace, rows=rows)
    rng = np.random.default_rng([seed, zlib.crc32(b"baseline-sample"), i])
    large = data.summaries().n_rows("synthetic") > ROW_DRAW_MAX
    if frames and (large or data.frames_are_samples):
        return ("holdout-frames", i), lambda: data.holdout_frames(rng, replace=replace)
    if large:
        return ("holdout-sample", i), lambda: data.holdout_marginals(rng, replace=replace)
    return ("holdout-sample", i), lambda: data.holdout_sample(rng, replace=replace)


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
    plan = baseline_plan(metric, data)
    draws_wanted = 0 if plan.method == "holdout" else plan.draws
    capped = plan.rows if plan.method == "rows_capped" else None
    inputs = baseline_inputs(
        data, context, draws_wanted, resample=metric.baseline_resample, rows=capped, frames=not metric.summary_based
    )
    draws = [
        _guarded(metric, baseline_input, context, metric_rng(seed, metric.id, f"baseline{i}" if i else "baseline"))
        for i, baseline_input in enumerate(inputs)
    ]
    ok = [d for d in draws if d.ok and d.value is not None]
    if len(ok) < len(draws) or not ok:
        return result  # a baseline draw failed: report no baseline rather than a partial one
    scale = plan.scale
    worse = BASELINE_QUANTILE if metric.goal is Goal.MINIMIZE else 1 - BASELINE_QUANTILE
    values = [scale * float(d.value) for d in ok if d.value is not None]
    details = {
        **result.details,
        "baseline_method": plan.method,
        "baseline_rows": plan.rows,
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
    last_reader = _last_value_counts_reader(metrics)
    for i, metric in enumerate(metrics):
        if progress:
            progress(metric.id)
        started = time.perf_counter()
        results.append(run_metric(metric, data, seed=seed, context=context))
        if i == last_reader < len(metrics) - 1:  # the rest of the run reads no value counts
            data.summaries().forget_value_counts()
        timings[metric.id] = round(time.perf_counter() - started, 3)
    return results, timings


def _last_value_counts_reader(metrics: list[Metric]) -> int:
    """Position of the last metric that reads value counts (``Metric.reads_value_counts``), -1: none."""
    reads = [m.summary_based if m.reads_value_counts is None else m.reads_value_counts for m in metrics]
    return max((i for i, r in enumerate(reads) if r), default=-1)
