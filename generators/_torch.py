"""Shared PyTorch pieces: seeded init and dropout, activations, the epoch loop, DP-SGD set-up.

Every random draw takes a ``torch.Generator`` (parameter init, dropout masks, Gumbel
noise, Poisson sampling, the DP noise); nothing seeds a global RNG.

DP-SGD goes through Opacus 1.6 pieces used directly (the encoded data stays on the
device, so no DataLoader): ``GradSampleModule`` for per-sample gradients, ``DPOptimizer``
for clipping and noise, and a named accountant (``rdp`` or ``prv``) that picks the noise
multiplier for the planned steps (``get_noise_multiplier``) and records every step.
Batches are Poisson samples (each row in with probability q = batch_size / n), which is
what the accounting assumes.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from qaharness.errors import GeneratorError

from ._transform import Span

__all__ = [
    "private_backward",
    "cpu_threads",
    "seeded",
    "init_module",
    "SeededDropout",
    "activate",
    "DPPlan",
    "plan_dp",
    "make_private",
    "run_epochs",
    "norm_layer",
    "BatchRows",
    "setup_dp",
]


@contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` intra-op CPU threads, restoring the previous count after.

    The small MLPs here gain little from more threads, and on a loaded 2-core machine
    OpenMP's spinning made a 2-thread step 10-30× slower than a 1-thread one.
    """
    previous = torch.get_num_threads()
    if n is not None and n != previous:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def seeded(seed: int, salt: int, device: str) -> torch.Generator:
    """A torch.Generator on ``device`` from (seed, salt)."""
    g = torch.Generator(device=device)
    g.manual_seed((int(seed) * 1_000_003 + salt) % (2**63 - 1))
    return g


def init_module(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise every Linear like PyTorch's default, drawing from ``generator``."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            if layer.bias is not None:
                bound = 1 / math.sqrt(layer.in_features) if layer.in_features else 0.0
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        if isinstance(layer, SeededDropout):
            layer.generator = generator


class SeededDropout(nn.Module):
    """Dropout whose masks come from a torch.Generator (nn.Dropout uses the global RNG)."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.p
        return x * keep / (1 - self.p)


def norm_layer(kind: str, width: int) -> list[nn.Module]:
    if kind == "batch":
        return [nn.BatchNorm1d(width)]
    if kind == "layer":
        return [nn.LayerNorm(width)]
    return []


def activate(raw: torch.Tensor, spans: list[Span], *, tau: float, generator: torch.Generator) -> torch.Tensor:
    """tanh on scalar spans, Gumbel-softmax (temperature ``tau``) on one-hot spans."""
    parts = []
    for span in spans:
        block = raw[:, span.start : span.start + span.width]
        if span.activation == "tanh":
            parts.append(torch.tanh(block))
        else:
            u = torch.rand(block.shape, generator=generator, device=block.device)
            gumbel = -torch.log(-torch.log(u + 1e-20) + 1e-20)
            parts.append(torch.softmax((block + gumbel) / tau, dim=1))
    return torch.cat(parts, dim=1)


class BatchRows:
    """Row indices per training step: shuffled passes over ``n`` rows, or Poisson samples under DP.

    Under DP each row is in a batch independently with probability ``sample_rate`` (what the
    accountant assumes); otherwise batches of ``batch`` rows walk a fresh permutation per pass.
    """

    def __init__(self, n: int, batch: int, generator: torch.Generator, device: str, sample_rate: float | None):
        self.n, self.batch, self.g, self.device, self.rate = n, batch, generator, device, sample_rate
        self.perm, self.pos = torch.empty(0, dtype=torch.long, device=device), n

    def next(self) -> torch.Tensor:
        if self.rate is not None:
            draws = torch.rand(self.n, generator=self.g, device=self.device)
            return torch.nonzero(draws < self.rate).squeeze(1)
        if self.pos + self.batch > self.n:
            self.perm, self.pos = torch.randperm(self.n, generator=self.g, device=self.device), 0
        rows = self.perm[self.pos : self.pos + self.batch]
        self.pos += self.batch
        return rows


@dataclass
class DPPlan:
    """Noise for a target (ε, δ) over the planned steps, and the accountant that tracks the spend."""

    epsilon: float
    delta: float
    sample_rate: float
    noise_multiplier: float
    max_steps: int
    accountant_name: str
    accountant: Any  # an opacus accountant (rdp or prv)

    def spent(self) -> float:
        if not self.accountant.history:
            return 0.0
        return float(self.accountant.get_epsilon(self.delta, **_epsilon_kwargs(self.accountant_name)))

    def report(self) -> dict:
        """What the fit report (and the provenance manifest) carries: ε/δ spent and what an accountant
        needs to compose this release with others (σ, q and the steps it recorded)."""
        history: list[tuple[float, float, int]] = list(getattr(self.accountant, "history", []))
        steps = sum(int(entry[2]) for entry in history)
        return {
            "epsilon": self.spent(),
            "delta": self.delta,
            "noise_multiplier": self.noise_multiplier,
            "sample_rate": self.sample_rate,
            "dp_steps": steps,
        }


def _epsilon_kwargs(accountant: str) -> dict:
    """RDP over 3 fractional + integer orders: a valid (slightly looser) bound, far faster than Opacus' fine grid."""
    return {"alphas": _ALPHAS} if accountant == "rdp" else {}


_ALPHAS = [1.25, 1.5, 1.75, *range(2, 64), 80, 96, 128, 192, 256]


def private_backward(loss: torch.Tensor) -> None:
    """``loss.backward()`` without Opacus' harmless "full backward hook ... no inputs require gradients" warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Full backward hook is firing", category=UserWarning)
        loss.backward()


def plan_dp(
    *, epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str, generator_id: str
) -> DPPlan:
    """Noise multiplier for ``steps`` at ``sample_rate``; steps capped so ε is never exceeded."""
    from opacus.accountants import create_accountant
    from opacus.accountants.utils import get_noise_multiplier

    try:
        sigma = float(
            get_noise_multiplier(
                target_epsilon=epsilon,
                target_delta=delta,
                sample_rate=sample_rate,
                steps=steps,
                accountant=accountant,
                **_epsilon_kwargs(accountant),
            )
        )
    except ValueError as exc:
        raise GeneratorError(
            f"no noise level reaches ε={epsilon:g} at δ={delta:g} ({exc}); raise epsilon", generator=generator_id
        ) from None

    def eps_after(k: int) -> float:
        acc = create_accountant(accountant)
        acc.history = [(sigma, sample_rate, k)]
        return float(acc.get_epsilon(delta, **_epsilon_kwargs(accountant)))

    max_steps = steps
    if eps_after(max_steps) > epsilon:  # the search's tolerance can overshoot: cut steps until it fits
        low, high = 0, steps
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if eps_after(mid) <= epsilon else (low, mid - 1)
        max_steps = low
    return DPPlan(epsilon, delta, sample_rate, sigma, max_steps, accountant, create_accountant(accountant))


def make_private(
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    plan: DPPlan,
    *,
    max_grad_norm: float,
    expected_batch_size: int,
    generator: torch.Generator,
    generator_id: str,
):
    """(GradSampleModule, DPOptimizer) for ``module``; an invalid module is a GeneratorError."""
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer
    from opacus.validators import ModuleValidator

    errors = ModuleValidator.validate(module, strict=False)
    if errors:
        names = "; ".join(sorted({str(e).splitlines()[0] for e in errors}))
        raise GeneratorError(
            f"the module that sees real data cannot be trained with DP-SGD: {names}", generator=generator_id
        )
    private = GradSampleModule(module, loss_reduction="mean")
    dp_optimizer = DPOptimizer(
        optimizer,
        noise_multiplier=plan.noise_multiplier,
        max_grad_norm=max_grad_norm,
        expected_batch_size=expected_batch_size,
        loss_reduction="mean",
        generator=generator,
    )
    return private, dp_optimizer


def setup_dp(
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    budget: tuple[float, float] | None,
    *,
    n: int,
    batch: int,
    steps: int,
    config: Any,
    generator: torch.Generator,
    generator_id: str,
) -> tuple[Any, Any, DPPlan | None]:
    """(module, optimizer, plan) ready to train: unchanged without a budget, else DP-SGD planned for ``steps``."""
    if budget is None:
        return module, optimizer, None
    plan = plan_dp(
        epsilon=budget[0],
        delta=budget[1],
        sample_rate=batch / n,
        steps=steps,
        accountant=config.accountant,
        generator_id=generator_id,
    )
    private, dp_optimizer = make_private(
        module,
        optimizer,
        plan,
        max_grad_norm=config.max_grad_norm,
        expected_batch_size=batch,
        generator=generator,
        generator_id=generator_id,
    )
    return private, dp_optimizer, plan


def run_epochs(
    step: Callable[[], torch.Tensor],
    *,
    epochs: int,
    steps_per_epoch: int,
    max_minutes: float | None,
    max_steps: int | None,
    progress,
    epsilon: Callable[[], float | None],
    after_epoch: Callable[[int], str | None] | None = None,
) -> dict:
    """Call ``step`` (returns a detached loss) epoch by epoch until done, out of time or out of budget.

    ``after_epoch(epochs_done)`` may return a reason to stop (e.g. "early_stopping").
    """
    started = time.perf_counter()
    losses: list[float] = []
    steps, done = 0, 0
    stopped: str | None = None
    for epoch in range(epochs):
        total: torch.Tensor | None = None
        count = 0
        for _ in range(steps_per_epoch):
            if max_steps is not None and steps >= max_steps:
                stopped = "epsilon"
                break
            if max_minutes is not None and time.perf_counter() - started > 60 * max_minutes:
                stopped = "max_minutes"
                break
            loss = step()
            total = loss if total is None else total + loss
            count += 1
            steps += 1
        if count and total is not None:
            losses.append(float(total.item()) / count)
            if not math.isfinite(losses[-1]):
                raise GeneratorError(
                    f"training diverged in epoch {epoch + 1} (loss {losses[-1]}); lower the learning rate or batch size"
                )
        if stopped:
            break
        done += 1
        if progress is not None:
            progress(epoch + 1, epochs, losses[-1] if losses else float("nan"), epsilon())
        if after_epoch is not None:
            stopped = after_epoch(done)
            if stopped:
                break
    return {"epochs": done, "epochs_planned": epochs, "steps": steps, "losses": losses, "stopped": stopped}
