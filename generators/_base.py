"""The generator protocol, its config and report models, and the registry.

A generator is one file in ``qaharness.generators`` (or a third-party module behind the
``qaharness.generators`` entry-point group) holding a ``Generator`` subclass decorated
with ``@register_generator``. ``__init__`` only validates and stores parameters (a pydantic
``Config``); learned state is set in ``fit`` and ends in ``_``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qaharness._format import boolean_word
from qaharness.errors import BadInputError, GeneratorError
from qaharness.registry import Registry
from qaharness.schema import ColumnKind, Schema, coerce_frame, infer_schema

from ._domain import ColumnDomain, fit_domains, preprocessing_source

__all__ = [
    "Generator",
    "GeneratorConfig",
    "FitReport",
    "Capabilities",
    "Progress",
    "register_generator",
    "generator_registry",
    "get_generator",
    "generator_ids",
    "resolve_device",
    "load_generator",
]

Progress = Callable[[int, int, float, "float | None"], None]  # (epoch, epochs, loss, ε spent)
generator_registry: Registry[type[Generator]] = Registry(
    "generator", package="qaharness.generators", entry_point_group="qaharness.generators"
)
_STATE_FILE, _WEIGHTS_FILE = "generator.json", "weights.pt"
_MAX_CONDITION_DRAWS = 50


def register_generator(cls: type[Generator]) -> type[Generator]:
    return generator_registry.register(cls)


def get_generator(generator_id: str) -> type[Generator]:
    return generator_registry.get(generator_id)


def generator_ids() -> list[str]:
    return generator_registry.ids()


class Capabilities(BaseModel):
    """What a generator can do: DP training, native conditional sampling, CUDA, column kinds."""

    model_config = ConfigDict(frozen=True)
    dp: bool = False
    conditional: bool = Field(False, description="native conditional sampling (others reject-sample)")
    gpu: bool = False
    kinds: tuple[str, ...] = ("numeric", "categorical", "boolean", "datetime", "identifier")


class GeneratorConfig(BaseModel):
    """Parameters every generator accepts; subclasses add theirs."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    epochs: int | None = Field(None, ge=1, description="training epochs (None: the generator's default)")
    max_minutes: float | None = Field(None, gt=0, description="stop training after this long")
    epsilon: float | None = Field(None, gt=0, description="DP budget ε (None: no DP)")
    delta: float | None = Field(None, gt=0, lt=1, description="DP δ (None: 1/n²)")
    accountant: Literal["rdp", "prv"] = "rdp"
    preprocessing_share: float = Field(0.1, gt=0, lt=1, description="share of ε/δ spent on undeclared domains")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(1, ge=1, description="CPU threads for torch while fitting/sampling (None: torch's)")


class FitReport(BaseModel):
    """What one ``fit`` did. Losses are per completed epoch."""

    model_config = ConfigDict(frozen=True)
    generator: str
    version: str
    rows: int = Field(ge=0, description="training rows used")
    epochs: int = Field(0, ge=0, description="epochs completed (0: no iterative training)")
    epochs_planned: int = Field(0, ge=0)
    steps: int = Field(0, ge=0)
    losses: tuple[float, ...] = ()
    seconds: float = Field(ge=0)
    device: str = "cpu"
    stopped: str | None = Field(None, description="why training ended early: max_minutes | epsilon | early_stopping")
    validation_losses: tuple[float, ...] = Field((), description="per-epoch loss on the held-out validation rows")
    best_epoch: int | None = Field(None, description="epoch whose weights were kept (early stopping)")
    epsilon: float | None = Field(None, description="total ε spent (preprocessing + training)")
    delta: float | None = None
    accountant: str | None = None
    noise_multiplier: float | None = None
    sample_rate: float | None = Field(None, description="DP-SGD Poisson sampling rate q (what an accountant needs)")
    dp_steps: int | None = Field(None, ge=0, description="DP-SGD steps the accountant recorded")
    preprocessing_epsilon: float | None = None
    preprocessing_delta: float | None = Field(None, description="part of delta spent on preprocessing")
    preprocessing: str = Field(description="declared_schema | data_dependent_budgeted | data_dependent_not_private")
    validation_rows: int = Field(0, ge=0, description="rows held out from training for early stopping")

    def summary(self) -> str:
        """One line for people: what was trained, for how long, how it ended, what DP spent."""
        parts = [
            f"{self.generator} v{self.version}",
            f"{self.rows} training rows" + (f" + {self.validation_rows} validation" if self.validation_rows else ""),
            f"{self.epochs}/{self.epochs_planned} epochs" if self.epochs_planned else "no training loop",
            f"{self.seconds:.1f} s on {self.device}",
        ]
        if self.best_epoch is not None:
            parts.append(f"weights of epoch {self.best_epoch} kept")
        if self.stopped:
            parts.append(f"stopped early ({self.stopped})")
        if self.epsilon is not None:
            parts.append(f"ε spent {self.epsilon:.3g} (δ {self.delta or 0:.2g}, {self.accountant})")
        return ", ".join(parts)

    def __repr__(self) -> str:  # the losses alone can run to thousands of numbers
        return f"FitReport({self.summary()})"

    __str__ = __repr__


def resolve_device(device: str) -> str:
    """'auto' → cuda when available, else cpu; asking for cuda without one is a GeneratorError."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise GeneratorError("--device cuda asked for, but CUDA is not available here (use auto or cpu)")
    if device not in ("cpu", "cuda"):
        raise GeneratorError(f"unknown device {device!r}; use auto, cpu or cuda")
    return device


def _config_error(cls: type[Generator], exc: ValidationError) -> GeneratorError:
    err = exc.errors()[0]
    name = ".".join(str(p) for p in err.get("loc", ())) or "?"
    got = err.get("input")
    return GeneratorError(
        f"The {name!r} parameter of {cls.id} {err.get('msg', 'is invalid').lower()}. Got {got!r} instead.",
        generator=cls.id,
    )


class Generator:
    """Base class: ``fit(real, schema, *, seed) -> FitReport``, ``sample(n_rows, *, seed)``, save/load."""

    id: ClassVar[str]
    version: ClassVar[str] = "1"
    description: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    Config: ClassVar[type[GeneratorConfig]] = GeneratorConfig

    def __init__(self, **params: Any):
        try:
            self.config = self.Config(**params)
        except ValidationError as exc:
            raise _config_error(type(self), exc) from None
        if self.config.epsilon is not None and not self.capabilities.dp:
            raise GeneratorError(
                "does not support differential privacy; pick one whose capabilities "
                "list dp (qaharness generators list)",
                generator=self.id,
            )
        self.fit_report_: FitReport | None = None

    # -- identity --------------------------------------------------------------------
    def config_dict(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    def config_hash(self) -> str:
        body = json.dumps({"id": self.id, "version": self.version, **self.config_dict()}, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()

    @property
    def private(self) -> bool:
        return self.config.epsilon is not None

    # -- fit ---------------------------------------------------------------------------
    def fit(
        self,
        real: pd.DataFrame,
        schema: Schema | Mapping[str, Any] | None = None,
        *,
        seed: int,
        declared: dict[str, dict[str, Any]] | None = None,
        progress: Progress | None = None,
    ) -> FitReport:
        """Learn from ``real``. ``declared`` holds schema-declared domains (bounds, categories)."""
        started = time.perf_counter()
        schema = _as_schema(real, schema)
        frame = self._check_frame(real, schema)
        unknown = sorted(set(declared or {}) - set(schema))
        if unknown:
            raise BadInputError(f"declared domain for column(s) not in the data: {', '.join(unknown)}", source="schema")
        self.schema_ = schema
        self.dtypes_ = {c: str(real[c].dtype) for c in schema}
        self.spelling_ = {} if self.private else _boolean_spelling(real, schema)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
        eps_pre = delta_pre = None
        if self.private:
            target = float(self.config.epsilon or 0.0)
            delta = self.config.delta or 1.0 / max(len(frame), 2) ** 2
            share = self.config.preprocessing_share
            self.domains_, eps_pre, delta_pre = fit_domains(
                frame, schema, declared, epsilon=share * target, delta=share * delta, rng=rng
            )
            budget: tuple[float, float] | None = (target - eps_pre, delta - delta_pre)
        else:
            self.domains_, _, _ = fit_domains(frame, schema, declared)
            budget = None
        with _threads(self.config.threads):
            stats = self._fit(frame, seed=seed, budget=budget, progress=progress)
        epsilon = None if stats.get("epsilon") is None else stats["epsilon"] + (eps_pre or 0.0)
        delta_total = None if stats.get("delta") is None else stats["delta"] + (delta_pre or 0.0)
        self.fit_report_ = FitReport(
            generator=self.id,
            version=self.version,
            rows=stats.get("rows", len(frame)),
            epochs=stats.get("epochs", 0),
            epochs_planned=stats.get("epochs_planned", 0),
            steps=stats.get("steps", 0),
            losses=tuple(stats.get("losses", ())),
            seconds=time.perf_counter() - started,
            device=stats.get("device", "cpu"),
            stopped=stats.get("stopped"),
            validation_losses=tuple(stats.get("validation_losses", ())),
            best_epoch=stats.get("best_epoch"),
            validation_rows=stats.get("validation_rows", 0),
            epsilon=epsilon,
            delta=delta_total,
            accountant=self.config.accountant if self.private else None,
            noise_multiplier=stats.get("noise_multiplier"),
            sample_rate=stats.get("sample_rate"),
            dp_steps=stats.get("dp_steps"),
            preprocessing_epsilon=eps_pre,
            preprocessing_delta=delta_pre,
            preprocessing=preprocessing_source(self.domains_),
        )
        return self.fit_report_

    def _check_frame(self, real: pd.DataFrame, schema: Schema) -> pd.DataFrame:
        if not isinstance(real, pd.DataFrame):
            raise BadInputError("real data must be a DataFrame", source="real")
        missing = [c for c in schema if c not in real.columns]
        if missing:
            raise BadInputError(f"schema names column(s) not in the data: {', '.join(missing)}", source="real")
        if len(real) < 2:
            raise BadInputError(f"need at least 2 rows to fit a generator, got {len(real)}", source="real")
        for column, kind in schema.items():
            if kind.value not in self.capabilities.kinds:
                raise BadInputError(
                    f"column {column!r} is {kind.value}, which {self.id} cannot synthesise; drop it "
                    "or declare another kind in the schema",
                    source="real",
                    column=column,
                )
        return coerce_frame(real, schema, source="real")

    def _fit(
        self, frame: pd.DataFrame, *, seed: int, budget: tuple[float, float] | None, progress: Progress | None
    ) -> dict[str, Any]:
        raise NotImplementedError

    # -- sample --------------------------------------------------------------------------
    def sample(self, n_rows: int, *, seed: int, conditions: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """``n_rows`` synthetic rows with the training columns and dtypes; same seed → same frame."""
        if self.fit_report_ is None:
            raise GeneratorError("sample() called before fit() or load()", generator=self.id)
        if isinstance(n_rows, bool) or not isinstance(n_rows, (int, np.integer)) or n_rows < 0:
            raise BadInputError(f"n_rows must be an int >= 0, got {n_rows!r}", source="--rows")
        conditions = self._check_conditions(conditions or {})
        with _threads(self.config.threads):
            if conditions:
                frame = self._sample_conditional(int(n_rows), seed, conditions)
            else:
                frame = self._sample(int(n_rows), seed=seed)
        frame = _fill_identifiers(frame.reset_index(drop=True), self.schema_)
        frame = _restore_dtypes(frame[list(self.schema_)], self.dtypes_, self.schema_)
        for column, spelling in getattr(self, "spelling_", {}).items():
            frame[column] = frame[column].map(lambda v, s=spelling: s.get(v, v) if v is not None else None)
        return frame

    def _sample(self, n_rows: int, *, seed: int) -> pd.DataFrame:
        raise NotImplementedError

    def _check_conditions(self, conditions: Mapping[str, Any]) -> dict[str, str]:
        out = {}
        for column, value in conditions.items():
            domain: ColumnDomain | None = self.domains_.get(column)
            if domain is None:
                raise BadInputError(f"condition on unknown column {column!r}", source="--condition", column=column)
            if not domain.discrete:
                raise BadInputError(
                    f"conditions work on categorical or boolean columns; {column!r} is {domain.kind}",
                    source="--condition",
                    column=column,
                )
            text = _canonical_value(value, domain.kind)
            if text not in domain.categories:
                raise BadInputError(
                    f"value {value!r} of column {column!r} is not in the training domain "
                    f"({len(domain.categories)} categories)",
                    source="--condition",
                    column=column,
                )
            out[column] = text
        return out

    def _sample_conditional(self, n_rows: int, seed: int, conditions: dict[str, str]) -> pd.DataFrame:
        """Rejection sampling: draw batches, keep matching rows. Generators may override with native ones."""
        return _reject_sample(lambda n, s: self._sample(n, seed=s), n_rows, seed, conditions, self.id)

    # -- persistence -----------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``generator.json`` (+ ``weights.pt`` for torch models) into ``directory``."""
        if self.fit_report_ is None:
            raise GeneratorError("save() called before fit()", generator=self.id)
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {
            "id": self.id,
            "version": self.version,
            "config": self.config_dict(),
            "schema": self.schema_.to_json(),
            "dtypes": self.dtypes_,
            "spelling": self.spelling_,
            "domains": {c: d.to_json() for c, d in self.domains_.items()},
            "fit_report": self.fit_report_.model_dump(mode="json"),
            "state": self._state(),
        }
        (directory / _STATE_FILE).write_text(json.dumps(state, indent=1, allow_nan=False), encoding="utf-8")
        tensors = self._tensors()
        if tensors:
            import torch

            torch.save({k: v.detach().cpu() for k, v in tensors.items()}, directory / _WEIGHTS_FILE)
        return directory

    @classmethod
    def load(cls, directory: str | Path, *, device: str | None = None) -> Generator:
        """Restore a saved generator; the class comes from the registry by the saved id."""
        directory = Path(directory)
        path = directory / _STATE_FILE
        if not path.is_file():
            raise BadInputError(f"no {_STATE_FILE} in this folder", source=str(directory))
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            raise BadInputError(f"{_STATE_FILE} is not valid JSON", source=str(directory)) from None
        target = get_generator(state["id"])
        if cls is not Generator and target is not cls:
            raise GeneratorError(f"folder holds a {state['id']!r} generator", generator=cls.id)
        if str(state["version"]) != str(target.version):
            raise GeneratorError(
                f"saved with version {state['version']}, this is {target.version}", generator=target.id
            )
        config = dict(state["config"], **({"device": device} if device else {}))
        self = target(**config)
        self.schema_ = Schema.from_mapping(state["schema"])
        self.dtypes_ = state["dtypes"]
        self.spelling_ = state.get("spelling", {})
        self.domains_ = {c: ColumnDomain.from_json(d) for c, d in state["domains"].items()}
        self.fit_report_ = FitReport(**state["fit_report"])
        tensors = {}
        if (directory / _WEIGHTS_FILE).is_file():
            import torch

            tensors = torch.load(directory / _WEIGHTS_FILE, map_location="cpu", weights_only=True)
        self._restore(state["state"], tensors)
        return self

    def _state(self) -> dict[str, Any]:
        return {}

    def _tensors(self) -> dict[str, Any]:
        return {}

    def _restore(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        pass


def load_generator(directory: str | Path, *, device: str | None = None) -> Generator:
    return Generator.load(directory, device=device)


def _threads(n: int | None):
    """torch's CPU thread count for the block (only when torch is already in use)."""
    import sys

    if "torch" not in sys.modules:
        from contextlib import nullcontext

        return nullcontext()
    from ._torch import cpu_threads

    return cpu_threads(n)


def _as_schema(real: pd.DataFrame, schema: Schema | Mapping[str, Any] | None) -> Schema:
    if schema is None:
        return infer_schema(real)
    if isinstance(schema, Schema):
        return schema
    return Schema.from_mapping({c: (k.value if isinstance(k, ColumnKind) else k) for c, k in schema.items()})


def _canonical_value(value: Any, kind: str) -> str:
    text = str(value).strip()
    if kind == "boolean":
        word = boolean_word(text, digits=True)
        if word is not None:
            return str(word)
    return text


def _reject_sample(
    draw: Callable[[int, int], pd.DataFrame], n_rows: int, seed: int, conditions: dict[str, str], generator: str
) -> pd.DataFrame:
    if n_rows == 0:
        return draw(0, seed)
    kept, have = [], 0
    batch = max(2 * n_rows, 1000)
    for attempt in range(_MAX_CONDITION_DRAWS):
        if have >= n_rows:
            break
        draw_seed = int(np.random.SeedSequence([seed, 7, attempt]).generate_state(1)[0])
        frame = draw(batch, draw_seed)
        mask = np.ones(len(frame), dtype=bool)
        for column, value in conditions.items():
            mask &= (frame[column].astype(object) == value).to_numpy()
        kept.append(frame[mask])
        have += int(mask.sum())
    if have < n_rows:
        raise GeneratorError(
            f"only {have} of {n_rows} rows matched {conditions} in {_MAX_CONDITION_DRAWS} draws "
            f"of {batch}; the condition is too rare for this model",
            generator=generator,
        )
    return pd.concat(kept, ignore_index=True).iloc[:n_rows]


def _fill_identifiers(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Identifier columns get fresh surrogate keys (never real ones)."""
    ids = schema.columns(ColumnKind.IDENTIFIER)
    if not ids:
        return frame
    frame = frame.copy()
    for column in ids:
        frame[column] = pd.Series([f"syn-{i:08d}" for i in range(len(frame))], dtype=object)
    return frame


def _restore_dtypes(frame: pd.DataFrame, dtypes: dict[str, str], schema: Schema) -> pd.DataFrame:
    """Back to the training frame's dtypes where lossless: ints (nullable if missing), bools, datetimes."""
    out = {}
    for column, kind in schema.items():
        series, dtype = frame[column], dtypes.get(column, "object")
        if kind is ColumnKind.IDENTIFIER and dtype.startswith(("int", "Int", "uint")):
            series = pd.Series(np.arange(1, len(frame) + 1), dtype="int64")
        elif kind is ColumnKind.NUMERIC and dtype.lower().startswith(("int", "uint")) and _integral(series):
            series = series.astype("Int64" if series.isna().any() or dtype.startswith("Int") else dtype)
        elif kind is ColumnKind.BOOLEAN and dtype in ("bool", "boolean"):
            mapped = series.map({"True": True, "False": False})
            series = mapped.astype("boolean" if series.isna().any() or dtype == "boolean" else "bool")
        elif kind is ColumnKind.BOOLEAN and dtype.lower().startswith(("int", "float", "uint")):
            series = series.map({"True": 1, "False": 0}).astype("float64" if series.isna().any() else dtype)
        elif kind is ColumnKind.CATEGORICAL and dtype.lower().startswith(("int", "float", "uint")):
            series = _numeric_codes(series, dtype)  # codes declared categorical come back as numbers
        out[column] = series.reset_index(drop=True)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _numeric_codes(series: pd.Series, dtype: str) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce")
    if dtype.lower().startswith(("int", "uint")):
        return values.astype("Int64" if values.isna().any() or dtype.startswith("Int") else dtype)
    return values.astype("float64")


def _integral(series: pd.Series) -> bool:
    values = series.dropna().to_numpy(dtype=float)
    return bool(np.all(np.mod(values, 1) == 0))


def _boolean_spelling(real: pd.DataFrame, schema: Schema) -> dict[str, dict[str, str]]:
    """For text boolean columns ("yes"/"no"), the most common raw spelling of "True" and "False"."""
    out = {}
    for column in schema.columns(ColumnKind.BOOLEAN):
        raw = real[column]
        if raw.dtype != object:
            continue
        canonical = coerce_frame(raw.to_frame(), Schema({column: ColumnKind.BOOLEAN}), source="real")[column]
        pairs = pd.DataFrame({"c": canonical, "r": raw.astype(str)}).dropna()
        spelling = {str(c): str(group.value_counts().index[0]) for c, group in pairs.groupby("c")["r"]}
        if spelling:
            out[column] = spelling
    return out
