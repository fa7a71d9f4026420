"""``ctgan``: conditional tabular GAN, written here in PyTorch.

Reference: Xu, Skoularidou, Cuesta-Infante & Veeramachaneni, "Modeling Tabular data using
Conditional GAN", NeurIPS 2019. What differs from the reference implementation:
mode-specific normalisation from a subsample's quantiles (``_transform``), not a Bayesian
GMM per column on every row; the conditional vector and training-by-sampling are
vectorised (a gather from an offsets table of row indices sorted by category); the encoded
data lives on the device; all randomness comes from ``torch.Generator``; ``sample`` runs
in ``eval()`` mode.

Under DP (``epsilon``), only the discriminator sees real data, so only it is trained with
DP-SGD (the generator is post-processing). Training-by-sampling is replaced by Poisson
sampling; each real row is paired with a conditional vector drawn from its own values;
the loss is the logistic GAN loss, since the WGAN gradient penalty needs a double
backward that per-sample-gradient hooks do not support. PacGAN (``pac`` > 1), a gradient
penalty or a BatchNorm discriminator are rejected under DP.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from qaharness.errors import GeneratorError

from ._base import Capabilities, Generator, GeneratorConfig, register_generator, resolve_device
from ._torch import (
    SeededDropout,
    activate,
    init_module,
    make_private,
    norm_layer,
    plan_dp,
    private_backward,
    run_epochs,
    seeded,
)
from ._transform import TableEncoder

__all__ = ["CTGANGenerator"]

_CHUNK = 20_000


class CTGANConfig(GeneratorConfig):
    batch_size: int = Field(500, ge=2)
    embedding_dim: int = Field(128, ge=1)
    generator_dim: tuple[int, ...] = (256, 256)
    discriminator_dim: tuple[int, ...] = (256, 256)
    generator_lr: float = Field(2e-4, gt=0)
    discriminator_lr: float = Field(2e-4, gt=0)
    weight_decay: float = Field(1e-6, ge=0)
    discriminator_steps: int = Field(1, ge=1)
    pac: int | None = Field(None, ge=1, description="PacGAN packing (None: 10, or 1 under DP)")
    gradient_penalty: float | None = Field(None, ge=0, description="WGAN-GP weight (None: 10, or off under DP)")
    discriminator_norm: str = Field("none", pattern="^(none|batch|layer)$")
    log_frequency: bool = True
    max_grad_norm: float = Field(1.0, gt=0)
    tau: float = Field(0.2, gt=0)
    max_modes: int = Field(10, ge=1)


class _Residual(nn.Module):
    def __init__(self, i: int, o: int):
        super().__init__()
        self.fc, self.bn = nn.Linear(i, o), nn.BatchNorm1d(o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.bn(self.fc(x))), x], dim=1)


def _generator_net(dim_in: int, dims: tuple[int, ...], dim_out: int) -> nn.Module:
    layers, dim = [], dim_in
    for width in dims:
        layers.append(_Residual(dim, width))
        dim += width
    return nn.Sequential(*layers, nn.Linear(dim, dim_out))


class _Discriminator(nn.Module):
    def __init__(self, dim_in: int, dims: tuple[int, ...], pac: int, norm: str):
        super().__init__()
        self.pac, layers, dim = pac, [], dim_in * pac
        for width in dims:
            layers += [nn.Linear(dim, width), *norm_layer(norm, width), nn.LeakyReLU(0.2), SeededDropout(0.5)]
            dim = width
        self.body = nn.Sequential(*layers, nn.Linear(dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x.reshape(-1, x.shape[1] * self.pac))


class _CondSampler:
    """Conditional vectors and training-by-sampling, vectorised, on the device."""

    def __init__(self, cat_index: torch.Tensor, n_cats: list[int], probs: torch.Tensor, generator: torch.Generator):
        self.n_disc, self.g = len(n_cats), generator
        device = cat_index.device
        self.offsets = torch.tensor(
            np.concatenate([[0], np.cumsum(n_cats)[:-1]]) if n_cats else [], dtype=torch.long, device=device
        )
        self.width = int(sum(n_cats))
        self.probs = probs  # n_disc × max_cats, rows sum to 1
        self.cat_index = cat_index  # n × n_disc
        if self.n_disc and len(cat_index):
            self.sorted_rows = torch.argsort(cat_index.T, dim=1, stable=True)  # n_disc × n
            counts = torch.stack(
                [torch.bincount(cat_index[:, j], minlength=probs.shape[1]) for j in range(self.n_disc)]
            )
            self.counts = counts
            self.starts = torch.cumsum(counts, dim=1) - counts

    def cond(self, col: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(len(col), self.width, device=col.device)
        out[torch.arange(len(col), device=col.device), self.offsets[col] + cat] = 1.0
        return out

    def draw(self, n: int, probs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(column, category) per row: column uniform, category from ``probs`` (default: training)."""
        probs = self.probs if probs is None else probs
        col = torch.randint(self.n_disc, (n,), generator=self.g, device=probs.device)
        cat = torch.multinomial(probs[col], 1, generator=self.g).squeeze(1)
        return col, cat

    def rows_for(self, col: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        """A random training row holding category ``cat`` in column ``col``, per entry: one gather."""
        u = torch.rand(len(col), generator=self.g, device=col.device)
        pos = self.starts[col, cat] + (u * self.counts[col, cat]).long()
        return self.sorted_rows[col, pos]


@register_generator
class CTGANGenerator(Generator):
    """Conditional tabular GAN (WGAN-GP + PacGAN; DP-SGD on the discriminator under DP)."""

    id = "ctgan"
    version = "1"
    description = "conditional tabular GAN (PyTorch; DP-SGD on the discriminator through Opacus)"
    capabilities = Capabilities(dp=True, conditional=True, gpu=True)
    Config = CTGANConfig
    config: CTGANConfig
    default_epochs = 300
    #: without --epochs, DP plans fewer epochs: the noise is calibrated for the planned steps, so a plan
    #: that --max-minutes cuts short leaves budget unspent and the model noisier than it need be
    default_dp_epochs = 15

    def __init__(self, **params: Any):
        super().__init__(**params)
        c = self.config
        if self.private:
            if c.pac not in (None, 1):
                raise GeneratorError(
                    "PacGAN packing (pac > 1) mixes several real rows into one discriminator "
                    "input, so per-sample clipping would not bound one row; use pac=1 with DP",
                    generator=self.id,
                )
            if c.gradient_penalty:
                raise GeneratorError(
                    "the gradient penalty needs a double backward, which Opacus' per-sample "
                    "hooks do not support; use gradient_penalty=0 with DP",
                    generator=self.id,
                )
        self.pac_ = (1 if self.private else 10) if c.pac is None else c.pac
        self.gp_ = (0.0 if self.private else 10.0) if c.gradient_penalty is None else c.gradient_penalty

    # -- fitting ------------------------------------------------------------------------
    def _fit(self, frame: pd.DataFrame, *, seed: int, budget, progress) -> dict[str, Any]:
        c, device = self.config, resolve_device(self.config.device)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 5]))
        self.encoder_ = TableEncoder.fit(frame, self.domains_, private=self.private, rng=rng, max_modes=c.max_modes)
        matrix, cat_index, _ = self.encoder_.encode(frame)
        if len(matrix) < 2:
            raise GeneratorError("fewer than 2 rows left inside the declared domain", generator=self.id)
        g = seeded(seed, 11, device)
        data = torch.from_numpy(matrix).to(device)
        n_cats = [len(self.domains_[col].categories) for col in self.encoder_.discrete_columns]
        self._build(device, g)
        probs, self.sample_probs_ = self._probabilities(cat_index, n_cats, device)
        sampler = _CondSampler(torch.from_numpy(cat_index).to(device), n_cats, probs, g)
        n = len(data)
        batch = max(self.pac_, min(c.batch_size, n) // self.pac_ * self.pac_)
        steps_per_epoch = max(1, n // batch)
        epochs = c.epochs or (self.default_dp_epochs if self.private else self.default_epochs)
        opt_g = torch.optim.Adam(
            self.generator_.parameters(), lr=c.generator_lr, betas=(0.5, 0.9), weight_decay=c.weight_decay
        )
        opt_d = torch.optim.Adam(self.discriminator_.parameters(), lr=c.discriminator_lr, betas=(0.5, 0.9))
        plan, disc = None, self.discriminator_
        if budget is not None:
            plan = plan_dp(
                epsilon=budget[0],
                delta=budget[1],
                sample_rate=batch / n,
                steps=epochs * steps_per_epoch * c.discriminator_steps,
                accountant=c.accountant,
                generator_id=self.id,
            )
            disc, opt_d = make_private(
                self.discriminator_,
                opt_d,
                plan,
                max_grad_norm=c.max_grad_norm,
                expected_batch_size=batch,
                generator=g,
                generator_id=self.id,
            )
        ctx = dict(data=data, sampler=sampler, batch=batch, g=g, opt_g=opt_g, opt_d=opt_d, disc=disc, plan=plan)
        step = (lambda: self._dp_step(**ctx)) if plan else (lambda: self._step(**ctx))
        stats = run_epochs(
            step,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            max_minutes=c.max_minutes,
            max_steps=None if plan is None else plan.max_steps // c.discriminator_steps,
            progress=progress,
            epsilon=(lambda: plan.spent()) if plan else (lambda: None),
        )
        if plan is not None:
            cast(Any, disc).disable_hooks()
            stats.update(plan.report())
        return {**stats, "rows": n, "device": device}

    def _build(self, device: str, g: torch.Generator) -> None:
        c, width = self.config, self.encoder_.width
        cond_width = sum(len(self.domains_[col].categories) for col in self.encoder_.discrete_columns)
        self.generator_ = _generator_net(c.embedding_dim + cond_width, c.generator_dim, width).to(device)
        self.discriminator_ = _Discriminator(
            width + cond_width, c.discriminator_dim, self.pac_, c.discriminator_norm
        ).to(device)
        init_module(self.generator_, g)
        init_module(self.discriminator_, g)

    def _probabilities(self, cat_index: np.ndarray, n_cats: list[int], device: str):
        """(training probs for conditions, sampling probs): log-frequency / frequency; DP: noisy counts."""
        width = max(n_cats, default=1)
        train, sample = np.zeros((len(n_cats), width)), np.zeros((len(n_cats), width))
        for j, col in enumerate(self.encoder_.discrete_columns):
            domain = self.domains_[col]
            if self.private:
                counts = np.ones(n_cats[j]) if domain.counts is None else np.maximum(np.asarray(domain.counts), 1e-3)
            else:
                counts = np.bincount(cat_index[:, j], minlength=n_cats[j]).astype(float)
            freq = np.log1p(counts) if self.config.log_frequency and not self.private else counts
            train[j, : n_cats[j]] = freq / freq.sum()
            sample[j, : n_cats[j]] = counts / counts.sum()
        return (
            torch.tensor(train, dtype=torch.float32, device=device),
            torch.tensor(sample, dtype=torch.float32, device=device),
        )

    def _fake(self, n: int, cond: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn(n, self.config.embedding_dim, generator=g, device=cond.device)
        raw = self.generator_(torch.cat([z, cond], dim=1))
        return raw, activate(raw, self.encoder_.spans, tau=self.config.tau, generator=g)

    def _conditions(self, sampler: _CondSampler, n: int):
        if sampler.n_disc == 0:
            return None, torch.zeros(n, 0, device=sampler.cat_index.device), None
        col, cat = sampler.draw(n)
        return col, sampler.cond(col, cat), cat

    def _cond_loss(self, raw: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if cond.shape[1] == 0:
            return raw.new_zeros(())
        spans = [s for s in self.encoder_.spans if s.column in self.encoder_.discrete_columns]
        logp = torch.cat([F.log_softmax(raw[:, s.start : s.start + s.width], dim=1) for s in spans], dim=1)
        return -(logp * cond).sum(dim=1).mean()

    def _step(self, *, data, sampler, batch, g, opt_g, opt_d, disc, plan) -> torch.Tensor:
        for _ in range(self.config.discriminator_steps):
            col, cond, cat = self._conditions(sampler, batch)
            rows = (
                sampler.rows_for(col, cat)
                if col is not None
                else torch.randint(len(data), (batch,), generator=g, device=data.device)
            )
            with torch.no_grad():
                _, fake = self._fake(batch, cond, g)
            real_in, fake_in = torch.cat([data[rows], cond], 1), torch.cat([fake, cond], 1)
            loss_d = disc(fake_in).mean() - disc(real_in).mean()
            if self.gp_:
                loss_d = loss_d + self._gradient_penalty(real_in, fake_in, g)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        col, cond, _ = self._conditions(sampler, batch)
        raw, fake = self._fake(batch, cond, g)
        loss_g = -disc(torch.cat([fake, cond], 1)).mean() + self._cond_loss(raw, cond)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return loss_g.detach()

    def _gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        pac = self.pac_
        alpha = torch.rand(real.shape[0] // pac, 1, 1, generator=g, device=real.device)
        alpha = alpha.repeat(1, pac, real.shape[1]).view(-1, real.shape[1])
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        grads = torch.autograd.grad(self.discriminator_(mixed).sum(), mixed, create_graph=True)[0]
        norms = grads.view(-1, pac * real.shape[1]).norm(2, dim=1)
        return self.gp_ * ((norms - 1) ** 2).mean()

    def _dp_step(self, *, data, sampler, batch, g, opt_g, opt_d, disc, plan) -> torch.Tensor:
        """One DP-SGD discriminator step on a Poisson batch, then one generator step (hooks off)."""
        for _ in range(self.config.discriminator_steps):
            rows = torch.nonzero(torch.rand(len(data), generator=g, device=data.device) < plan.sample_rate).squeeze(1)
            if sampler.n_disc:
                own_col = torch.randint(sampler.n_disc, (len(rows),), generator=g, device=data.device)
                real_cond = sampler.cond(own_col, sampler.cat_index[rows, own_col])
            else:
                real_cond = torch.zeros(len(rows), 0, device=data.device)
            _, cond, _ = self._fake_conditions(sampler, batch)
            with torch.no_grad():
                _, fake = self._fake(batch, cond, g)
            disc.enable_hooks()
            logits = disc(torch.cat([torch.cat([data[rows], real_cond], 1), torch.cat([fake, cond], 1)], 0)).squeeze(1)
            n_real = len(rows)
            loss_d = (F.softplus(-logits[:n_real]).sum() + F.softplus(logits[n_real:]).sum()) / len(logits)
            opt_d.zero_grad(set_to_none=True)
            private_backward(loss_d)
            opt_d.step()
            plan.accountant.step(noise_multiplier=plan.noise_multiplier, sample_rate=plan.sample_rate)
        disc.disable_hooks()
        _col, cond, _ = self._fake_conditions(sampler, batch)
        raw, fake = self._fake(batch, cond, g)
        loss_g = F.softplus(-disc(torch.cat([fake, cond], 1))).mean() + self._cond_loss(raw, cond)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return loss_g.detach()

    def _fake_conditions(self, sampler: _CondSampler, n: int):
        if sampler.n_disc == 0:
            return None, torch.zeros(n, 0, device=sampler.cat_index.device), None
        col, cat = sampler.draw(n, self.sample_probs_)
        return col, sampler.cond(col, cat), cat

    # -- sampling -----------------------------------------------------------------------
    def _sample(self, n_rows: int, *, seed: int, fixed: tuple[int, int] | None = None) -> pd.DataFrame:
        device = next(self.generator_.parameters()).device
        g = seeded(seed, 12, str(device.type))
        n_cats = [len(self.domains_[col].categories) for col in self.encoder_.discrete_columns]
        sampler = _CondSampler(
            torch.zeros(0, len(n_cats), dtype=torch.long, device=device), n_cats, self.sample_probs_.to(device), g
        )
        self.generator_.eval()
        parts = []
        with torch.inference_mode():
            for start in range(0, n_rows, _CHUNK):
                m = min(_CHUNK, n_rows - start)
                if fixed is not None:
                    col = torch.full((m,), fixed[0], dtype=torch.long, device=device)
                    cond = sampler.cond(col, torch.full((m,), fixed[1], dtype=torch.long, device=device))
                else:
                    _, cond, _ = self._fake_conditions(sampler, m)
                parts.append(self._fake(m, cond, g)[1].cpu().numpy())
        matrix = np.concatenate(parts) if parts else np.zeros((0, self.encoder_.width), np.float32)
        return self.encoder_.decode(matrix)

    def _sample_conditional(self, n_rows: int, seed: int, conditions: dict[str, str]) -> pd.DataFrame:
        from ._base import _reject_sample

        column = next(iter(conditions))
        j = self.encoder_.discrete_columns.index(column)
        fixed = (j, list(self.domains_[column].categories).index(conditions[column]))
        return _reject_sample(lambda n, s: self._sample(n, seed=s, fixed=fixed), n_rows, seed, conditions, self.id)

    # -- persistence --------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"encoder": self.encoder_.to_json(), "pac": self.pac_, "gradient_penalty": self.gp_}

    def _tensors(self) -> dict[str, Any]:
        out = {f"generator.{k}": v for k, v in self.generator_.state_dict().items()}
        out["sample_probs"] = self.sample_probs_
        return out

    def _restore(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        device = resolve_device(self.config.device)
        self.encoder_ = TableEncoder.from_json(state["encoder"])
        self.pac_, self.gp_ = state["pac"], state["gradient_penalty"]
        self._build(device, seeded(0, 0, device))
        self.generator_.load_state_dict(
            {k[len("generator.") :]: v for k, v in tensors.items() if k.startswith("generator.")}
        )
        self.sample_probs_ = tensors["sample_probs"].to(device)
