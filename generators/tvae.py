"""``tvae``: tabular variational autoencoder, written here in PyTorch.

Reference: Xu et al., "Modeling Tabular data using Conditional GAN", NeurIPS 2019 (TVAE is
the paper's VAE baseline). Encoder and decoder are MLPs; scalar parts of the encoding are
modelled as Gaussians with a learned per-dimension σ, one-hot parts with a softmax;
loss = loss_factor · reconstruction + KL. The encoded data stays on the device, every
random draw uses a ``torch.Generator``, and ``sample`` runs the decoder in ``eval()``.

Under DP both encoder and decoder see real data, so the whole VAE is trained with DP-SGD
(Opacus: per-sample clipping, Gaussian noise, a named accountant) on Poisson batches; σ
is then fixed at 0.1 (a free parameter outside any layer would get a non-private gradient).
"""

from __future__ import annotations

from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from qaharness.errors import GeneratorError

from ._base import Capabilities, Generator, GeneratorConfig, register_generator, resolve_device
from ._torch import BatchRows, init_module, norm_layer, private_backward, run_epochs, seeded, setup_dp
from ._transform import TableEncoder

__all__ = ["TVAEGenerator"]

_CHUNK = 20_000
_DP_SIGMA = 0.1


class TVAEConfig(GeneratorConfig):
    batch_size: int = Field(500, ge=2)
    embedding_dim: int = Field(128, ge=1)
    compress_dims: tuple[int, ...] = (128, 128)
    decompress_dims: tuple[int, ...] = (128, 128)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-5, ge=0)
    loss_factor: float = Field(2.0, gt=0)
    encoder_norm: str = Field("none", pattern="^(none|batch|layer)$")
    max_grad_norm: float = Field(1.0, gt=0)
    max_modes: int = Field(10, ge=1)
    categorical_sampling: Literal["softmax", "argmax", "auto"] = Field(
        "softmax",
        description="decode one-hot parts (categories and numeric modes) by drawing from the softmax "
        "(default), or by argmax as the reference TVAE does (it collapses rare categories onto the "
        "frequent ones: coverage 0.05 on Adult); auto: softmax under DP, argmax otherwise (the old default)",
    )


def _mlp(dim: int, dims: tuple[int, ...], norm: str) -> tuple[nn.Sequential, int]:
    layers = []
    for width in dims:
        layers += [nn.Linear(dim, width), *norm_layer(norm, width), nn.ReLU()]
        dim = width
    return nn.Sequential(*layers), dim


class _VAE(nn.Module):
    """Encoder + decoder in one module, so DP-SGD covers everything that sees real rows."""

    def __init__(self, width: int, c: TVAEConfig):
        super().__init__()
        self.encoder, dim = _mlp(width, c.compress_dims, c.encoder_norm)
        self.mu, self.logvar = nn.Linear(dim, c.embedding_dim), nn.Linear(dim, c.embedding_dim)
        body, dim = _mlp(c.embedding_dim, c.decompress_dims, "none")
        self.decoder = nn.Sequential(*body, nn.Linear(dim, width))

    def forward(self, x: torch.Tensor, noise: torch.Tensor):
        h = self.encoder(x)
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + noise * torch.exp(0.5 * logvar)
        return self.decoder(z), mu, logvar


@register_generator
class TVAEGenerator(Generator):
    """Tabular VAE (DP-SGD on the whole VAE under DP)."""

    id = "tvae"
    version = "1"
    description = "tabular variational autoencoder (PyTorch; DP-SGD through Opacus)"
    capabilities = Capabilities(dp=True, conditional=False, gpu=True)
    Config = TVAEConfig
    config: TVAEConfig
    default_epochs = 300
    #: without --epochs, DP plans fewer epochs: the noise is calibrated for the planned steps, so a plan
    #: that --max-minutes cuts short leaves budget unspent and the model noisier than it need be
    default_dp_epochs = 15

    def _fit(self, frame: pd.DataFrame, *, seed: int, budget, progress) -> dict[str, Any]:
        c, device = self.config, resolve_device(self.config.device)
        rng = np.random.default_rng(np.random.SeedSequence([seed, 6]))
        self.encoder_ = TableEncoder.fit(frame, self.domains_, private=self.private, rng=rng, max_modes=c.max_modes)
        matrix, _, _ = self.encoder_.encode(frame)
        if len(matrix) < 2:
            raise GeneratorError("fewer than 2 rows left inside the declared domain", generator=self.id)
        g = seeded(seed, 21, device)
        data = torch.from_numpy(matrix).to(device)
        self._build(device, g)
        self._layout(device)
        n, batch = len(data), min(c.batch_size, len(data))
        steps_per_epoch = max(1, n // batch)
        epochs = c.epochs or (self.default_dp_epochs if self.private else self.default_epochs)
        params = list(self.vae_.parameters()) + ([] if self.private else [self.sigma_])
        optimizer = torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
        if budget is not None:
            self.sigma_.requires_grad_(False)
        model, optimizer, plan = setup_dp(
            self.vae_,
            optimizer,
            budget,
            n=n,
            batch=batch,
            steps=epochs * steps_per_epoch,
            config=c,
            generator=g,
            generator_id=self.id,
        )
        batches = BatchRows(n, batch, g, device, None if plan is None else plan.sample_rate)

        def step() -> torch.Tensor:
            return self._train_step(model, optimizer, data[batches.next()], g, plan)

        stats = run_epochs(
            step,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            max_minutes=c.max_minutes,
            max_steps=None if plan is None else plan.max_steps,
            progress=progress,
            epsilon=(lambda: plan.spent()) if plan else (lambda: None),
        )
        if plan is not None:
            cast(Any, model).disable_hooks()
            stats.update(plan.report())
        return {**stats, "rows": n, "device": device}

    def _build(self, device: str, g: torch.Generator) -> None:
        self.vae_ = _VAE(self.encoder_.width, self.config).to(device)
        init_module(self.vae_, g)
        self.sigma_ = nn.Parameter(torch.full((self.encoder_.width,), 0.1, device=device))

    def _layout(self, device: str) -> None:
        spans = self.encoder_.spans
        self.tanh_idx_ = torch.tensor(
            [s.start for s in spans if s.activation == "tanh"], dtype=torch.long, device=device
        )
        self.soft_spans_ = [s for s in spans if s.activation == "softmax"]

    def _train_step(self, model, optimizer, real: torch.Tensor, g: torch.Generator, plan) -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        if len(real) == 0:  # an empty Poisson batch: no data touched; the step still counts
            plan.accountant.step(noise_multiplier=plan.noise_multiplier, sample_rate=plan.sample_rate)
            return real.new_zeros(())
        noise = torch.randn(len(real), self.config.embedding_dim, generator=g, device=real.device)
        recon, mu, logvar = model(real, noise)
        loss = self._loss(real, recon, mu, logvar).mean()
        if plan is not None:
            private_backward(loss)
        else:
            loss.backward()
        optimizer.step()
        if plan is not None:
            plan.accountant.step(noise_multiplier=plan.noise_multiplier, sample_rate=plan.sample_rate)
        else:
            with torch.no_grad():
                self.sigma_.clamp_(0.01, 1.0)
        return loss.detach()

    def _loss(self, real, recon, mu, logvar) -> torch.Tensor:
        """Per-row loss: loss_factor · (Gaussian NLL on scalars + CE on one-hots) + KL(q(z|x) ‖ N(0, I))."""
        idx = self.tanh_idx_
        sigma = self.sigma_[idx]
        rec = (((real[:, idx] - torch.tanh(recon[:, idx])) ** 2) / (2 * sigma**2) + torch.log(sigma)).sum(dim=1)
        for s in self.soft_spans_:
            target = real[:, s.start : s.start + s.width].argmax(dim=1)
            rec = rec + F.cross_entropy(recon[:, s.start : s.start + s.width], target, reduction="none")
        kld = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)
        return self.config.loss_factor * rec + kld

    def _sample(self, n_rows: int, *, seed: int) -> pd.DataFrame:
        device = self.sigma_.device
        g = seeded(seed, 22, device.type)
        self.vae_.eval()
        parts = []
        with torch.inference_mode():
            for start in range(0, n_rows, _CHUNK):
                m = min(_CHUNK, n_rows - start)
                z = torch.randn(m, self.config.embedding_dim, generator=g, device=device)
                out = self.vae_.decoder(z)
                noise = torch.randn(m, len(self.tanh_idx_), generator=g, device=device)
                out[:, self.tanh_idx_] = torch.tanh(out[:, self.tanh_idx_]) + noise * self.sigma_[self.tanh_idx_]
                if self._draw_categories():
                    for span in self.soft_spans_:
                        block = out[:, span.start : span.start + span.width]
                        pick = torch.multinomial(torch.softmax(block, dim=1), 1, generator=g).squeeze(1)
                        out[:, span.start : span.start + span.width] = F.one_hot(pick, span.width).to(out.dtype)
                parts.append(out.cpu().numpy())
        matrix = np.concatenate(parts) if parts else np.zeros((0, self.encoder_.width), np.float32)
        return self.encoder_.decode(matrix)

    def _draw_categories(self) -> bool:
        """Argmax decoding keeps only each row's most likely category: rare ones vanish (and under DP, where
        the logits are flat, every category collapses onto the majority)."""
        mode = self.config.categorical_sampling
        return mode == "softmax" or (mode == "auto" and self.private)

    def _state(self) -> dict[str, Any]:
        return {"encoder": self.encoder_.to_json()}

    def _tensors(self) -> dict[str, Any]:
        out = {f"vae.{k}": v for k, v in self.vae_.state_dict().items()}
        out["sigma"] = self.sigma_.data
        return out

    def _restore(self, state: dict[str, Any], tensors: dict[str, Any]) -> None:
        device = resolve_device(self.config.device)
        self.encoder_ = TableEncoder.from_json(state["encoder"])
        self._build(device, seeded(0, 0, device))
        self._layout(device)
        self.vae_.load_state_dict({k[len("vae.") :]: v for k, v in tensors.items() if k.startswith("vae.")})
        with torch.no_grad():
            self.sigma_.copy_(tensors["sigma"].to(device))
