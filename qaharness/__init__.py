"""qaharness — may this synthetic dataset be released for this purpose? Evidence, not vibes."""

from ._version import __version__
from .api import evaluate, evaluate_input
from .errors import BadInputError, GeneratorError, PolicyError, QAHarnessError, SchemaMismatchError, UnknownPluginError
from .inputs import EvalInput, prepare_inputs
from .metrics import Metric, get_metric, metric_ids, register_metric
from .results import Family, Goal, MetricResult, Run, Status
from .schema import ColumnKind, Schema, infer_schema

__all__ = [
    "__version__",
    "evaluate",
    "evaluate_input",
    "prepare_inputs",
    "EvalInput",
    "Metric",
    "register_metric",
    "get_metric",
    "metric_ids",
    "MetricResult",
    "Run",
    "Family",
    "Goal",
    "Status",
    "ColumnKind",
    "Schema",
    "infer_schema",
    "QAHarnessError",
    "BadInputError",
    "SchemaMismatchError",
    "UnknownPluginError",
    "PolicyError",
    "GeneratorError",
]
