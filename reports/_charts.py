"""Static charts for reports: matplotlib → SVG, byte-for-byte deterministic.

Every function takes plain numbers (read from results.json) and returns a
``data:image/svg+xml;base64,…`` URI to put in an ``<img>`` — self-contained, no network,
and each SVG keeps its own ids. Determinism: ``svg.hashsalt`` fixed, no date in the
metadata, text kept as text (``svg.fonttype: none``), mathtext off so a ``$`` in a
column name is shown as written.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "REAL",
    "SYNTHETIC",
    "HOLDOUT",
    "histogram",
    "categories",
    "heatmap",
    "interval_bars",
    "paired_bars",
    "roc_curve",
    "distance_histogram",
    "svg_uri",
]

REAL, SYNTHETIC, HOLDOUT = "#1f4e79", "#e07b39", "#7f7f7f"
_RC = {
    "svg.hashsalt": "qaharness",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 7.5,
    "text.parse_math": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 8.5,
    "legend.fontsize": 7,
    "legend.frameon": False,
}


def _short(label: object, width: int = 28) -> str:
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "…"


def svg_uri(fig: Figure) -> str:
    with matplotlib.rc_context(_RC):
        buffer = io.BytesIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "qaharness"})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


def histogram(
    title: str, edges: Sequence[float], real: Sequence[float], synthetic: Sequence[float], *, datetime: bool = False
) -> str:
    """Real vs synthetic shares per bin (outline bars on shared edges)."""
    with matplotlib.rc_context(_RC):
        fig = _figure(2.6, 1.55)
        ax = fig.subplots()
        edges_arr = np.asarray(edges, dtype=float)
        x = edges_arr.astype("datetime64[ns]") if datetime else edges_arr
        ax.stairs(real, x, fill=True, color=REAL, alpha=0.35, label="real")
        ax.stairs(synthetic, x, color=SYNTHETIC, linewidth=1.3, label="synthetic")
        ax.set_title(_short(title, 40), loc="left")
        ax.set_ylabel("share")
        ax.tick_params(axis="x", labelrotation=25 if datetime else 0, labelsize=6.5)
        return svg_uri(fig)


def categories(title: str, labels: Sequence[str], real: Sequence[float], synthetic: Sequence[float]) -> str:
    """Top categories: real vs synthetic share side by side (horizontal)."""
    with matplotlib.rc_context(_RC):
        n = max(len(labels), 1)
        fig = _figure(2.6, 0.75 + 0.16 * n)
        ax = fig.subplots()
        y = np.arange(len(labels))
        ax.barh(y - 0.2, real, height=0.4, color=REAL, label="real")
        ax.barh(y + 0.2, synthetic, height=0.4, color=SYNTHETIC, label="synthetic")
        ax.set_yticks(y, [_short(v, 18) for v in labels], fontsize=6.5)
        ax.invert_yaxis()
        ax.set_xlabel("share")
        ax.set_title(_short(title, 40), loc="left")
        return svg_uri(fig)


def heatmap(columns: Sequence[str], real: Sequence[Sequence[float]], synthetic: Sequence[Sequence[float]]) -> str:
    """Three panels: real associations, synthetic associations, |difference|."""
    real_m, synthetic_m = np.asarray(real, dtype=float), np.asarray(synthetic, dtype=float)
    diff = np.abs(real_m - synthetic_m)
    k = len(columns)
    side = min(2.4, max(1.6, 0.13 * k + 0.9))
    with matplotlib.rc_context(_RC):
        fig = _figure(3 * side + 0.9, side + 0.5)
        axes = fig.subplots(1, 3)
        labels = [_short(c, 16) for c in columns]
        for ax, matrix, name, cmap, limits in (
            (axes[0], real_m, "real", "RdBu_r", (-1, 1)),
            (axes[1], synthetic_m, "synthetic", "RdBu_r", (-1, 1)),
            (axes[2], diff, "|real − synthetic|", "Oranges", (0, max(0.5, float(diff.max())))),
        ):
            image = ax.imshow(matrix, cmap=cmap, vmin=limits[0], vmax=limits[1], interpolation="nearest")
            ax.set_title(name, loc="left")
            fontsize = 6 if k <= 20 else 4.5
            ax.set_xticks(range(k), labels if k <= 40 else [""] * k, rotation=90, fontsize=fontsize)
            ax.set_yticks(range(k), labels if (ax is axes[0] and k <= 40) else [""] * k, fontsize=fontsize)
            ax.spines[:].set_visible(False)
            if ax is not axes[0]:
                fig.colorbar(image, ax=ax, shrink=0.8)
        return svg_uri(fig)


def interval_bars(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    intervals: Sequence[tuple[float, float] | None],
    *,
    colors: Sequence[str] | None = None,
    reference: float | None = None,
    xlabel: str = "",
    limits: tuple[float, float] | None = None,
    width: float = 5.2,
) -> str:
    """Horizontal points with confidence-interval whiskers (one row per label)."""
    with matplotlib.rc_context(_RC):
        n = max(len(labels), 1)
        fig = _figure(width, 0.7 + 0.22 * n)
        ax = fig.subplots()
        y = np.arange(len(labels))
        colors = list(colors or [REAL] * len(labels))
        for i, (value, interval) in enumerate(zip(values, intervals)):
            if interval is not None:
                ax.plot(interval, [i, i], color=colors[i], linewidth=2.2, alpha=0.55, solid_capstyle="butt")
            ax.plot([value], [i], "o", color=colors[i], markersize=4.5)
        if reference is not None:
            ax.axvline(reference, color="#555555", linewidth=0.8, linestyle="--")
        ax.set_yticks(y, [_short(v, 34) for v in labels])
        ax.invert_yaxis()
        if limits:
            ax.set_xlim(*limits)
        ax.set_xlabel(xlabel)
        ax.set_title(title, loc="left")
        ax.grid(axis="x", linewidth=0.3, alpha=0.5)
        return svg_uri(fig)


def paired_bars(
    title: str,
    labels: Sequence[str],
    first: Sequence[float],
    second: Sequence[float],
    names: tuple[str, str] = ("real", "synthetic"),
    xlabel: str = "",
) -> str:
    """Two values per label side by side (e.g. feature importances real vs synthetic)."""
    with matplotlib.rc_context(_RC):
        n = max(len(labels), 1)
        fig = _figure(5.2, 0.7 + 0.2 * n)
        ax = fig.subplots()
        y = np.arange(len(labels))
        ax.barh(y - 0.2, first, height=0.4, color=REAL, label=names[0])
        ax.barh(y + 0.2, second, height=0.4, color=SYNTHETIC, label=names[1])
        ax.set_yticks(y, [_short(v, 30) for v in labels])
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.set_title(title, loc="left")
        ax.legend(loc="lower right")
        return svg_uri(fig)


def roc_curve(title: str, fpr: Sequence[float], tpr: Sequence[float], auc: float | None = None) -> str:
    """ROC curve of an attack; the diagonal is guessing."""
    with matplotlib.rc_context(_RC):
        fig = _figure(2.7, 2.5)
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], color="#999999", linewidth=0.8, linestyle="--", label="chance")
        label = "attack" if auc is None else f"attack (AUC {auc:.3f})"
        ax.plot(fpr, tpr, color=SYNTHETIC, linewidth=1.4, label=label)
        ax.set_xlim(0, 1), ax.set_ylim(0, 1)
        ax.set_xlabel("false positive rate"), ax.set_ylabel("true positive rate")
        ax.set_title(title, loc="left")
        ax.legend(loc="lower right")
        return svg_uri(fig)


def distance_histogram(title: str, edges: Sequence[float], series: dict[str, Sequence[float]]) -> str:
    """Distributions of distances to the closest record, e.g. training vs holdout rows."""
    palette = [REAL, HOLDOUT, SYNTHETIC]
    with matplotlib.rc_context(_RC):
        fig = _figure(3.6, 1.9)
        ax = fig.subplots()
        edges_arr = np.asarray(edges, dtype=float)
        for i, (name, shares) in enumerate(series.items()):
            ax.stairs(
                shares,
                edges_arr,
                color=palette[i % 3],
                linewidth=1.3,
                label=name,
                fill=i == 0,
                alpha=0.35 if i == 0 else 1.0,
            )
        ax.set_xlabel("distance to closest synthetic record")
        ax.set_ylabel("share")
        ax.set_title(title, loc="left")
        ax.legend(loc="upper right")
        return svg_uri(fig)
