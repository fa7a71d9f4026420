"""``autoregressive``: a column-by-column generator in the TabularARGN family, written here in PyTorch.

Reference: Tiwald, Krchova, Kulessa, Sidorenko, Ostermann et al., "TabularARGN: A Flexible and
Efficient Auto-Regressive Framework for Generating High-Fidelity Synthetic Data" (2025).

- Every column becomes one token per row (``_tokens``): categories (rare ones pooled behind a
  privacy threshold), numeric and datetime values as frequent exact values or quantile bins
  decoded with a within-bin value, missing as its own token.
- One head per column predicts its token from the embeddings of the columns before it (``_argn``).
  Training draws a random column order per row (``fixed_order_share`` of the rows use the
  sampling order), so any subset of columns can be conditioned on: conditions are native, not
  rejection sampling.
- Early stopping on a validation split held out from training (the guard against memorising
  the training rows): the weights of the best validation epoch are kept.
- Sampling: one column after another in ``column_order``, with ``temperature`` and nucleus
  ``top_p``; the rare token is never emitted.
- Under DP (``epsilon``): DP-SGD through Opacus on Poisson batches (``_torch.make_private``), the
  vocabulary from the DP (or declared) domains only, no validation split (choosing the epoch by a
  validation loss would read data outside the accountant), no frequency-initialised biases.
"""

from __future__ import annotations

import copy
import math
from typing import Any, cast

import numpy as np
import pandas as pd
import torch
from pydantic import Field

from qaharness.errors import GeneratorError
from qaharness.masking import RARE_K

from ._argn import ARGN, draw_tokens, filter_logits, known_mask, register_dp_rule
from ._base import Capabilities, Generator, GeneratorConfig, Progress, register_generator, resolve_device
from ._tokens import ColumnTokens, decode, encode, fit_tokens
from ._torch import BatchRows, private_backward, run_epochs, seeded, setup_dp

__all__ = ["AutoregressiveGenerator"]

_CHUNK = 20_000
_MAX_VALIDATION = 10_000
_MIN_GAIN = 1e-3  # a validation loss this much (relative) below the best counts as better


class AutoregressiveConfig(GeneratorConfig):
    batch_size: int = Field(512, ge=2)
    hidden: tuple[int, ...] = Field((64,), description="hidden layer widths of every column's head")
    embedding_scale: float = Field(4.0, gt=0, description="embedding width ≈ scale · vocabulary^¼")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout after each hidden layer (early stopping regularises)")
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    validation_share: float = Field(0.1, ge=0, lt=1, description="rows held out for early stopping (not under DP)")
    patience: int = Field(3, ge=1, description="epochs without a better validation loss before stopping")
    fixed_order_share: float = Field(0.5, ge=0, le=1, description="training rows in the sampling order")
    column_order: tuple[str, ...] = Field((), description="columns sampled first (the rest follow in table order)")
    rare_threshold: int = Field(RARE_K, ge=0, description="categories / exact values seen at most this often pool")
    max_bins: int = Field(50, ge=1, description="quantile bins per numeric column")
    max_points: int = Field(50, ge=0, description="frequent exact values kept per numeric column")
    max_categories: int = Field(1000, ge=1, description="categories kept per column (most frequent first)")
    temperature: float = Field(1.0, gt=0, description="sampling temperature (< 1: sharper, > 1: flatter)")
    top_p: float = Field(1.0, gt=0, le=1, description="nucleus sampling: keep the smallest set of tokens reaching p")
    max_grad_norm: float = Field(1.0, gt=0, description="DP-SGD per-sample clipping norm")


@register_generator
class AutoregressiveGenerator(Generator):
    """Column-by-column autoregressive model over tokens (TabularARGN family; DP-SGD through Opacus)."""

    id = "autoregressive"
    version = "1"
    description = "column-by-column autoregressive model, any-order trained (TabularARGN family; PyTorch, DP-SGD)"
    capabilities = Capabilities(dp=True, conditional=True, gpu=True)
    Config = AutoregressiveConfig
    config: AutoregressiveConfig
    default_epochs = 200
    #: under DP the noise is calibrated for the planned steps: plan few epochs (see tvae)
    default_dp_epochs = 15

    # -- fitting ------------------------------------------------------------------------
    def _fit(
        self, frame: pd.DataFrame, *, seed: int, budget: tuple[float, float] | None, progress: Progress | None
    ) -> dict[str, Any]:
        c, device = self.config, resolve_device(self.config.device)
        self.columns_ = [col for col, d in self.domains_.items() if d.kind != "identifier"]
        if not self.columns_:
            raise GeneratorError("no column to model (identifiers only)", generator=self.id)
        self.order_ = self._sampling_order()
        self.tokens_ = {
            col: fit_tokens(
                frame[col],
                self.domains_[col],
                private=self.private,
                rare_threshold=c.rare_threshold,
                max_bins=c.max_bins,
                max_points=c.max_points,
                max_categories=c.max_categories,
            )
            for col in self.columns_
        }
        data = self._encode(frame)
        g = seeded(seed, 31, device)
        train, valid = self._split(data, g)
        train, valid = train.to(device), valid.to(device)
        self._build(device)
        self.model_.reset(g, None if self.private else _log_priors(train, self._sizes(), device))
        optimizer = torch.optim.AdamW(self.model_.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        n, batch = len(train), min(c.batch_size, len(train))
        steps_per_epoch = max(1, n // batch)
        epochs = c.epochs or (self.default_dp_epochs if self.private else self.default_epochs)
        if budget is not None:
            register_dp_rule()
        model, optimizer, plan = setup_dp(
            self.model_,
            optimizer,
            budget,
            n=n,
            batch=batch,
            steps=epochs * steps_per_epoch,
            config=c,
            generator=g,
            generator_id=self.id,
        )
        stopper = _EarlyStopping(self, valid, seed=seed, patience=c.patience, optimizer=optimizer)
        batches = BatchRows(n, batch, g, device, None if plan is None else plan.sample_rate)

        def step() -> torch.Tensor:
            return self._train_step(optimizer, train[batches.next()], g, plan)

        self.model_.train()
        stats = run_epochs(
            step,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            max_minutes=c.max_minutes,
            max_steps=None if plan is None else plan.max_steps,
            progress=progress,
            epsilon=(lambda: plan.spent()) if plan else (lambda: None),
            after_epoch=stopper if len(valid) else None,
        )
        stopper.restore_best()
        self.model_.eval()
        if plan is not None:
            cast(Any, model).disable_hooks()
            stats.update(plan.report())
        stats.update(validation_losses=stopper.losses, best_epoch=stopper.best_epoch)
        return {**stats, "rows": n, "validation_rows": len(valid), "device": device}

    def _encode(self, frame: pd.DataFrame) -> torch.Tensor:
        """(rows, columns) token matrix of a coerced frame."""
        return torch.from_numpy(np.column_stack([encode(frame[col], self.tokens_[col]) for col in self.columns_]))

    def _sampling_order(self) -> list[int]:
        unknown = [col for col in self.config.column_order if col not in self.columns_]
        if unknown:
            raise GeneratorError(f"column_order names column(s) not modelled: {', '.join(unknown)}", generator=self.id)
        first = list(dict.fromkeys(self.config.column_order))
        return [self.columns_.index(col) for col in [*first, *[x for x in self.columns_ if x not in first]]]

    def _split(self, data: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(training rows, validation rows); no validation under DP or below 20 rows."""
        n_valid = 0 if self.private or len(data) < 20 else int(len(data) * self.config.validation_share)
        n_valid = min(n_valid, _MAX_VALIDATION)
        perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(int(g.initial_seed())))
        return data[perm[n_valid:]], data[perm[:n_valid]]

    def _sizes(self) -> list[int]:
        return [self.tokens_[col].size for col in self.columns_]

    def _build(self, device: str) -> None:
        c = self.config
        self.model_ = ARGN(self._sizes(), hidden=c.hidden, embedding_scale=c.embedding_scale, dropout=c.dropout)
        self.model_.to(device)

    def _ranks(self, n: int, g: torch.Generator, device: torch.device | str) -> torch.Tensor:
        """Per-row column ranks: random orders, ``fixed_order_share`` of the rows in the sampling order."""
        columns = len(self.columns_)
        ranks = torch.argsort(torch.rand(n, columns, generator=g, device=device), dim=1).argsort(dim=1)
        fixed = torch.empty(columns, dtype=torch.long, device=device)
        fixed[torch.tensor(self.order_, device=device)] = torch.arange(columns, device=device)
        use_fixed = torch.rand(n, generator=g, device=device) < self.config.fixed_order_share
        return torch.where(use_fixed[:, None], fixed[None, :], ranks)

    def _train_step(self, optimizer, rows: torch.Tensor, g: torch.Generator, plan) -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        if len(rows) == 0:  # an empty Poisson batch: no data touched; the step still counts
            plan.accountant.step(noise_multiplier=plan.noise_multiplier, sample_rate=plan.sample_rate)
            return torch.zeros((), device=rows.device)
        loss = self.model_.loss(rows, known_mask(self._ranks(len(rows), g, rows.device))).mean()
        if plan is not None:
            private_backward(loss)
        else:
            loss.backward()
        optimizer.step()
        if plan is not None:
            plan.accountant.step(noise_multiplier=plan.noise_multiplier, sample_rate=plan.sample_rate)
        return loss.detach()

    def validation_loss(self, rows: torch.Tensor, seed: int) -> float:
        """Mean negative log-likelihood per row on ``rows`` under fixed seeded orders (eval mode)."""
        g = seeded(seed, 33, rows.device.type)
        self.model_.eval()
        total = 0.0
        with torch.no_grad():
            for start in range(0, len(rows), 4096):
                part = rows[start : start + 4096]
                total += float(self.model_.loss(part, known_mask(self._ranks(len(part), g, rows.device))).sum())
        self.model_.train()
        return total / max(len(rows), 1)

    # -- sampling -----------------------------------------------------------------------
    def _sample(self, n_rows: int, *, seed: int) -> pd.DataFrame:
        return self._draw(n_rows, seed, {})

    def _sample_conditional(self, n_rows: int, seed: int, conditions: dict[str, str]) -> pd.DataFrame:
        return self._draw(n_rows, seed, conditions)

    def _draw(self, n_rows: int, seed: int, conditions: dict[str, str]) -> pd.DataFrame:
        """Column after column in the sampling order; conditioned columns are set first (native)."""
        device = next(self.model_.parameters()).device
        g = seeded(seed, 32, device.type)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 9]))
        fixed = {self.columns_.index(col): self._condition_token(col, value) for col, value in conditions.items()}
        order = [*fixed, *[j for j in self.order_ if j not in fixed]]
        banned = [[t.rare_token] if t.rare_token is not None and t.values else [] for t in self._column_tokens()]
        self.model_.eval()
        parts = []
        with torch.inference_mode():
            for start in range(0, n_rows, _CHUNK):
                m = min(_CHUNK, n_rows - start)
                tokens = torch.zeros(m, len(self.columns_), dtype=torch.long, device=device)
                known = torch.zeros(m, len(self.columns_), dtype=torch.bool, device=device)
                for j in order:
                    if j in fixed:
                        tokens[:, j] = fixed[j]
                    else:
                        probs = filter_logits(
                            self.model_.head_logits(j, tokens, known),
                            temperature=self.config.temperature,
                            top_p=self.config.top_p,
                            banned=banned[j],
                        )
                        tokens[:, j] = draw_tokens(probs, g)
                    known[:, j] = True
                parts.append(tokens.cpu().numpy())
        matrix = np.concatenate(parts) if parts else np.zeros((0, len(self.columns_)), np.int64)
        out = {
            col: decode(matrix[:, j], self.tokens_[col], self.domains_[col], rng) for j, col in enumerate(self.columns_)
        }
        for col, value in conditions.items():  # a pooled (rare) category asked for by name
            out[col] = pd.Series([value] * n_rows, dtype=object)
        for col in self.domains_:
            out.setdefault(col, pd.Series([None] * n_rows, dtype=object))
        return pd.DataFrame(out)[list(self.domains_)]

    def _column_tokens(self) -> list[ColumnTokens]:
        return [self.tokens_[col] for col in self.columns_]

    def _condition_token(self, column: str, value: str) -> int:
        tokens = self.tokens_[column]
        if value in tokens.values:
            return tokens.offset + tokens.values.index(value)
        if tokens.rare_token is None:
            raise GeneratorError(f"value of condition {column!r} has no token", generator=self.id)
        return tokens.rare_token

    # -- persistence --------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "columns": self.columns_,
            "order": self.order_,
            "tokens": {col: t.to_json() for col, t in self.tokens_.items()},
        }

    def _tensors(self) -> dict[str, Any]:
        return {f"model.{k}": v for k, v in self.model_.state_dict().items()}

    def _restore(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        self.columns_ = list(state["columns"])
        self.order_ = list(state["order"])
        self.tokens_ = {col: ColumnTokens.from_json(t) for col, t in state["tokens"].items()}
        self._build(resolve_device(self.config.device))
        self.model_.load_state_dict({k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")})
        self.model_.eval()


class _EarlyStopping:
    """After each epoch: validation loss, learning rate halved after a plateau, stop after ``patience``."""

    def __init__(self, generator: AutoregressiveGenerator, rows: torch.Tensor, *, seed: int, patience: int, optimizer):
        self.generator, self.rows, self.seed, self.patience = generator, rows, seed, patience
        self.optimizer = optimizer
        self.losses: list[float] = []
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best = math.inf

    def __call__(self, epoch: int) -> str | None:
        loss = self.generator.validation_loss(self.rows, self.seed)
        self.losses.append(loss)
        if self.best_epoch is None or loss < self.best - _MIN_GAIN * abs(self.best):
            self.best, self.best_epoch = loss, epoch
            self.best_state = copy.deepcopy(self.generator.model_.state_dict())
            return None
        since = epoch - (self.best_epoch or 0)
        if since % 2 == 0:  # plateau: halve the learning rate
            for group in self.optimizer.param_groups:
                group["lr"] *= 0.5
        return "early_stopping" if since >= self.patience else None

    def restore_best(self) -> None:
        if self.best_state is not None:
            self.generator.model_.load_state_dict(self.best_state)


def _log_priors(train: torch.Tensor, sizes: list[int], device: str) -> list[torch.Tensor]:
    """Log token frequencies per column (training rows), the output layers' starting biases."""
    out = []
    for j, size in enumerate(sizes):
        counts = torch.bincount(train[:, j].cpu(), minlength=size).double() + 0.5
        out.append(torch.log(counts / counts.sum()).float().to(device))
    return out
