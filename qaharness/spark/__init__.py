"""The Spark engine: the same gate, metrics and results.json for tables that outgrow one machine.

``--engine spark`` reads Parquet paths (local, ``s3a://``, ``hdfs://``: whatever Spark reads) or
``spark:SELECT … FROM catalog.table`` (or, from Python, Spark DataFrames). Nothing but built-in
Spark SQL runs on the executors, so a cluster needs no Python packages; the driver needs qaharness.

- **Exact on the whole tables.** The metrics that declare ``summary_based`` (KS, JS, Wasserstein,
  coverage, missingness, association differences, exact matches and holdout overlap, the provenance
  tag share) read ``EvalInput.summaries()``: here ``SparkSummaries``, which computes the same compact
  summaries as the pandas engine (sorted distinct values with counts, category counts, association
  sufficient statistics, row-match profiles from row-hash joins) with Spark, and the metric finishes
  them with the same Python.
- **Sampled where the method is.** Every other metric runs its single-machine code on the frames of
  the input, which here are stratified samples Spark draws (``--spark-sample-rows`` per table,
  proportional to the target's classes, seeded from the run seed); their ``details.sample`` says
  how many rows of how many, the seed and the strata, and their intervals come from the sample.

This module imports without pyspark; ``require_pyspark`` turns its absence into the install line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import BadInputError

if TYPE_CHECKING:
    from ..inputs import EvalInput

__all__ = [
    "SparkOptions",
    "INSTALL_HINT",
    "DEFAULT_SAMPLE_ROWS",
    "require_pyspark",
    "java_problem",
    "spark_session",
    "spark_inputs",
    "prepare_spark_inputs",
]

INSTALL_HINT = "pip install 'qaharness[spark]'"
DEFAULT_SAMPLE_ROWS = 200_000


@dataclass(frozen=True)
class SparkOptions:
    """How to reach Spark. ``master`` None: Spark's own choice (spark-submit's ``--master``, a
    notebook's session, else ``local[*]``). ``session``: an existing SparkSession to use (never stopped)."""

    master: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    session: Any = None


def require_pyspark() -> Any:
    """The pyspark module, or ``BadInputError`` (exit 2) with the exact install line."""
    try:
        import pyspark
    except ImportError:
        raise BadInputError(
            f"pyspark is not installed; install the Spark extra: {INSTALL_HINT}", source="--engine spark"
        ) from None
    return pyspark


def java_problem() -> str | None:
    """Why pyspark cannot start a Java runtime here (None when one is found)."""
    from ._session import java_problem as problem

    return problem()


@contextmanager
def spark_session(options: SparkOptions | None = None) -> Iterator[Any]:
    """A SparkSession for one run: the given or active one (left running), else a new one (stopped after)."""
    require_pyspark()
    from ._session import open_session

    with open_session(options or SparkOptions()) as session:
        yield session


def prepare_spark_inputs(session: Any, real: Any, synthetic: Any, holdout: Any = None, **kwargs: Any) -> EvalInput:
    """``qaharness.inputs.prepare_inputs`` for Spark sources on ``session``. The input reads Spark
    lazily, so the session must stay open while it is used, with the run's settings
    (``qaharness.spark._session.RUN_CONF``: UTC, Arrow), which this sets on it; ``spark_inputs``
    does all that and restores the session's settings afterwards."""
    require_pyspark()
    from ._prepare import prepare
    from ._session import RUN_CONF

    for key, value in RUN_CONF.items():
        session.conf.set(key, value)
    return prepare(session, real, synthetic, holdout, **kwargs)


@contextmanager
def spark_inputs(
    real: Any,
    synthetic: Any,
    holdout: Any = None,
    *,
    options: SparkOptions | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> Iterator[EvalInput]:
    """Validated inputs over Spark tables, valid while the session is open (``qaharness.api.open_inputs``)."""
    options = options or SparkOptions()
    require_pyspark()
    from ._prepare import prepare

    with spark_session(options) as session:  # the run's settings hold inside, restored after
        data = prepare(session, real, synthetic, holdout, seed=seed, sample_rows=options.sample_rows, **kwargs)
        try:
            yield data
        finally:
            getattr(data.summaries(), "release", lambda: None)()
