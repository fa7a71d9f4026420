"""The network of the autoregressive generator: one conditional head per column.

Every column ``c`` has an embedding of its tokens plus one extra row meaning "not known yet".
Head ``j`` predicts column ``j``'s token from the embeddings of the columns known before it
(the others show their "not known" row), through a small MLP of its own. For a row and a
column order, ``known[b, j, c]`` says whether column ``c`` comes before column ``j``; training
draws a random order per row, so every head learns every subset of its predecessors and any set
of columns can be conditioned on at sampling time (TabularARGN's any-order training; Tiwald et
al., 2025). All heads run in one batched matrix product (``HeadwiseLinear``), which has its own
Opacus per-sample-gradient rule for DP-SGD.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ._torch import SeededDropout

__all__ = [
    "HeadwiseLinear",
    "ARGN",
    "embedding_dim",
    "known_mask",
    "filter_logits",
    "draw_tokens",
    "register_dp_rule",
]


class HeadwiseLinear(nn.Module):
    """``heads`` independent linear maps at once: (B, heads, in) → (B, heads, out)."""

    def __init__(self, heads: int, in_features: int, out_features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(heads, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(heads, out_features))

    def reset(self, generator: torch.Generator) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] else 0.0
        with torch.no_grad():
            self.weight.uniform_(-bound, bound, generator=generator)
            self.bias.uniform_(-bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bji,jio->bjo", x, self.weight) + self.bias

    def one(self, x: torch.Tensor, head: int) -> torch.Tensor:
        """Head ``head`` alone on (B, in)."""
        return torch.addmm(self.bias[head], x, self.weight[head])


def register_dp_rule() -> None:
    """Opacus per-sample gradients for ``HeadwiseLinear`` (one einsum, no functorch fallback)."""
    from opacus.grad_sample import register_grad_sampler

    @register_grad_sampler(HeadwiseLinear)
    def _grad_sample(layer: HeadwiseLinear, activations, backprops: torch.Tensor):
        x = activations[0]
        out = {}
        if layer.weight.requires_grad:
            out[layer.weight] = torch.einsum("bji,bjo->bjio", x, backprops)
        if layer.bias.requires_grad:
            out[layer.bias] = backprops
        return out


def embedding_dim(vocabulary: int, scale: float) -> int:
    """Embedding width for a vocabulary: grows like its fourth root, never above the vocabulary."""
    return int(min(vocabulary + 1, max(4, math.ceil(scale * vocabulary**0.25))))


class ARGN(nn.Module):
    """Embeddings + one MLP head per column; ``forward`` returns each head's logits."""

    spread: torch.Tensor  # (columns, D) 0/1: which embedding dimensions belong to which column

    def __init__(self, sizes: list[int], *, hidden: tuple[int, ...], embedding_scale: float, dropout: float):
        super().__init__()
        self.sizes = list(sizes)
        embeddings = [nn.Embedding(v + 1, embedding_dim(v, embedding_scale)) for v in sizes]
        widths = [e.embedding_dim for e in embeddings]
        self.embeddings = nn.ModuleList(embeddings)
        column_of_dim = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(widths))
        spread = (column_of_dim[None, :] == torch.arange(len(sizes))[:, None]).float()  # (C, D) 0/1
        self.register_buffer("spread", spread, persistent=False)
        dim, layers = sum(widths), list[nn.Module]()
        for width in hidden:
            layers += [HeadwiseLinear(len(sizes), dim, width), nn.ReLU(), SeededDropout(dropout)]
            dim = width
        self.body = nn.Sequential(*layers)
        self.heads = [nn.Linear(dim, v) for v in sizes]
        self.out = nn.ModuleList(self.heads)

    def reset(self, generator: torch.Generator, log_priors: list[torch.Tensor] | None = None) -> None:
        """Seeded init; output biases start at the columns' log frequencies when given (faster start)."""
        with torch.no_grad():
            for emb in self.embeddings.parameters():
                emb.normal_(0.0, 1.0, generator=generator)
            for layer in self.body:
                if isinstance(layer, HeadwiseLinear):
                    layer.reset(generator)
                elif isinstance(layer, SeededDropout):
                    layer.generator = generator
            for j, out in enumerate(self.heads):
                nn.init.kaiming_uniform_(out.weight, a=math.sqrt(5), generator=generator)
                if log_priors is not None:
                    out.bias.copy_(log_priors[j])
                else:
                    out.bias.zero_()

    def context(self, tokens: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """(B, heads, D): head j sees column c's embedding where ``known[b, j, c]``, else its "not known" row."""
        rows = len(tokens)
        present = torch.cat([emb(tokens[:, c]) for c, emb in enumerate(self.embeddings)], dim=1)
        unknown = torch.cat(
            [emb(tokens.new_full((rows,), self.sizes[c])) for c, emb in enumerate(self.embeddings)], dim=1
        )
        mask = known.to(present.dtype) @ self.spread  # (B, heads, D): 1 where the dimension's column is known
        return unknown[:, None, :] + mask * (present - unknown)[:, None, :]

    def forward(self, tokens: torch.Tensor, known: torch.Tensor) -> list[torch.Tensor]:
        hidden = self.body(self.context(tokens, known)).unbind(1)
        return [out(h) for h, out in zip(hidden, self.out)]

    def loss(self, tokens: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """Per-row negative log-likelihood (nats), summed over the columns."""
        logits = self.forward(tokens, known)
        return torch.stack(
            [F.cross_entropy(lj, tokens[:, j], reduction="none") for j, lj in enumerate(logits)], dim=1
        ).sum(dim=1)

    def head_logits(self, column: int, tokens: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """Logits of one head for (B,) rows given which columns are ``known`` (B, C)."""
        parts = []
        for c, emb in enumerate(self.embeddings):
            parts.append(emb(torch.where(known[:, c], tokens[:, c], self.sizes[c])))
        x = torch.cat(parts, dim=-1)
        for layer in self.body:
            x = layer.one(x, column) if isinstance(layer, HeadwiseLinear) else layer(x)
        return self.out[column](x)


def known_mask(ranks: torch.Tensor) -> torch.Tensor:
    """(B, C, C) bool from per-row column ranks: ``[b, j, c]`` = column c comes before column j."""
    return ranks[:, None, :] < ranks[:, :, None]


def filter_logits(
    logits: torch.Tensor, *, temperature: float, top_p: float, banned: list[int] | None = None
) -> torch.Tensor:
    """Probabilities after banned tokens, temperature and nucleus (top-p) filtering."""
    if banned:
        logits = logits.clone()
        logits[:, banned] = -torch.inf
    probs = torch.softmax(logits / max(temperature, 1e-3), dim=1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, dim=1, descending=True)
        drop = torch.cumsum(sorted_probs, dim=1) - sorted_probs > top_p  # keep the smallest prefix reaching p
        sorted_probs = sorted_probs.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(1, order, sorted_probs)
        probs = probs / probs.sum(dim=1, keepdim=True)
    return probs


def draw_tokens(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One token per row from (B, V) probabilities by inverse CDF (several times faster than multinomial).

    ``u`` is drawn in (0, total]: a token of probability 0 is never chosen.
    """
    cdf = torch.cumsum(probs, dim=1)
    u = (1.0 - torch.rand(len(probs), 1, generator=generator, device=probs.device)) * cdf[:, -1:]
    return torch.searchsorted(cdf, u).squeeze(1).clamp_(max=probs.shape[1] - 1)
