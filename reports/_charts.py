"""Static charts for reports: matplotlib → SVG, byte-for-byte deterministic.

Every function takes plain numbers (read from results.json) and returns a
``data:image/svg+xml;base64,…`` URI to put in an ``<img>`` — self-contained, no network,
and each SVG keeps its own ids. Determinism: ``svg.hashsalt`` fixed, no date in the
metadata, text kept as text (``svg.fonttype: none``), mathtext off so a ``$`` in a
column name is shown as written.

Colours and styles live in one place (``STYLES``): the real/synthetic key printed above the
distribution charts is drawn by :func:`legend_key` from the same artists' styles, so a
swatch always matches the fill it names. Charts with other series carry their own legend.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib import dates as mdates
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

__all__ = [
    "REAL",
    "SYNTHETIC",
    "HOLDOUT",
    "IDEAL",
    "LIMIT",
    "STYLES",
    "Scale",
    "histogram",
    "histogram_figure",
    "categories",
    "heatmap",
    "heatmap_figure",
    "interval_bars",
    "paired_bars",
    "roc_curve",
    "distance_histogram",
    "scales",
    "legend_key",
    "compact_number",
    "svg_uri",
]

REAL, SYNTHETIC, HOLDOUT = "#1f4e79", "#e07b39", "#7f7f7f"
IDEAL, LIMIT = "#2e7d32", "#c62828"
#: how real and synthetic are drawn in the distribution charts (and in their key)
STYLES: dict[str, dict[str, Any]] = {
    "real": {"color": REAL, "alpha": 0.35, "fill": True, "linewidth": 0},
    "synthetic": {"color": SYNTHETIC, "fill": False, "linewidth": 1.4},
}
_RC: dict[Any, Any] = {  # matplotlib types keys as a Literal; these are all valid
    "svg.hashsalt": "qaharness",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 7.5,
    "text.parse_math": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 8.5,
    "axes.titlelocation": "left",
    "legend.fontsize": 7,
    "legend.frameon": False,
}


def _short(label: object, width: int = 28) -> str:
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "…"


def compact_number(value: float, _pos: object = None) -> str:
    """Axis tick text that stays short: 1.2M, 350k, 0.25, 1e-05."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    magnitude = abs(value)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}" if magnitude >= 1e-3 else f"{value:.0e}"


def svg_uri(fig: Figure) -> str:
    with matplotlib.rc_context(_RC):
        buffer = io.BytesIO()
        # a small pad keeps titles and rotated labels inside the SVG's box
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "qaharness"}, pad_inches=0.04)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


def _few_ticks(axis: Any, n: int = 4) -> None:
    axis.set_major_locator(MaxNLocator(nbins=n, min_n_ticks=2))
    axis.set_major_formatter(FuncFormatter(compact_number))


def histogram(
    title: str, edges: Sequence[float], real: Sequence[float], synthetic: Sequence[float], *, datetime: bool = False
) -> str:
    """Real vs synthetic shares per bin on shared edges (real filled, synthetic outlined)."""
    with matplotlib.rc_context(_RC):
        return svg_uri(histogram_figure(title, edges, real, synthetic, datetime=datetime))


def histogram_figure(
    title: str, edges: Sequence[float], real: Sequence[float], synthetic: Sequence[float], *, datetime: bool = False
) -> Figure:
    with matplotlib.rc_context(_RC):
        fig = _figure(2.2, 1.5)
        ax = fig.subplots()
        edges_arr = np.asarray(edges, dtype=float)
        if datetime:
            ax.stairs(real, edges_arr.astype("datetime64[ns]"), label="real", **STYLES["real"])
            ax.stairs(synthetic, edges_arr.astype("datetime64[ns]"), label="synthetic", **STYLES["synthetic"])
            locator = mdates.AutoDateLocator(minticks=2, maxticks=4)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        else:
            ax.stairs(real, edges_arr, label="real", **STYLES["real"])
            ax.stairs(synthetic, edges_arr, label="synthetic", **STYLES["synthetic"])
            _few_ticks(ax.xaxis)
        _few_ticks(ax.yaxis, 3)
        ax.set_title(_short(title, 40))
        ax.set_ylabel("share")
        ax.tick_params(axis="x", labelsize=6.5)
        return fig


def categories(title: str, labels: Sequence[str], real: Sequence[float], synthetic: Sequence[float]) -> str:
    """Top categories: real (filled) vs synthetic (outlined) share side by side, horizontal."""
    with matplotlib.rc_context(_RC):
        n = max(len(labels), 1)
        fig = _figure(2.2, 0.75 + 0.125 * n)
        ax = fig.subplots()
        y = np.arange(len(labels))
        real_style = {k: v for k, v in STYLES["real"].items() if k != "fill"}
        ax.barh(y - 0.2, real, height=0.4, label="real", **real_style)
        ax.barh(
            y + 0.2,
            synthetic,
            height=0.4,
            label="synthetic",
            edgecolor=SYNTHETIC,
            facecolor="none",
            linewidth=STYLES["synthetic"]["linewidth"],
        )
        ax.set_yticks(y, [_short(v, 18) for v in labels], fontsize=6.5)
        ax.invert_yaxis()
        _few_ticks(ax.xaxis, 3)
        ax.set_xlabel("share")
        ax.set_title(_short(title, 40))
        return svg_uri(fig)


def legend_key() -> str:
    """The real/synthetic key of the distribution charts, drawn with the charts' own styles."""
    from matplotlib.patches import Patch

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(2.4, 0.22))
        real = Patch(facecolor=REAL, alpha=STYLES["real"]["alpha"], label="real", linewidth=0)
        synthetic = Patch(
            facecolor="none", edgecolor=SYNTHETIC, linewidth=STYLES["synthetic"]["linewidth"], label="synthetic"
        )
        fig.legend(handles=[real, synthetic], loc="center left", ncols=2, frameon=False, borderaxespad=0)
        return svg_uri(fig)


def heatmap(columns: Sequence[str], real: Sequence[Sequence[float]], synthetic: Sequence[Sequence[float]]) -> str:
    """Three panels: real associations, synthetic associations, |difference| (titles above each)."""
    with matplotlib.rc_context(_RC):
        return svg_uri(heatmap_figure(columns, real, synthetic))


def heatmap_figure(
    columns: Sequence[str], real: Sequence[Sequence[float]], synthetic: Sequence[Sequence[float]]
) -> Figure:
    real_m, synthetic_m = np.asarray(real, dtype=float), np.asarray(synthetic, dtype=float)
    diff = np.abs(real_m - synthetic_m)
    k = len(columns)
    side = min(1.8, max(1.5, 0.13 * k + 0.9))
    label_room = 0.07 * min(16, max(len(str(c)) for c in columns)) if k <= 40 else 0.1
    with matplotlib.rc_context(_RC):
        fig = _figure(3 * side + 1.4, side + label_room + 0.45)
        axes = fig.subplots(1, 3)
        labels = [_short(c, 16) for c in columns]
        fontsize = 6 if k <= 20 else 4.5
        for ax, matrix, name, cmap, limits in (
            (axes[0], real_m, "real", "RdBu_r", (-1, 1)),
            (axes[1], synthetic_m, "synthetic", "RdBu_r", (-1, 1)),
            (axes[2], diff, "|real − synthetic|", "Oranges", (0, max(0.5, float(diff.max())))),
        ):
            image = ax.imshow(matrix, cmap=cmap, vmin=limits[0], vmax=limits[1], interpolation="nearest")
            ax.set_title(name, pad=4)
            ax.set_xticks(range(k), labels if k <= 40 else [""] * k, rotation=90, fontsize=fontsize)
            ax.set_yticks(range(k), labels if (ax is axes[0] and k <= 40) else [""] * k, fontsize=fontsize)
            ax.spines[:].set_visible(False)
            if ax is not axes[0]:
                fig.colorbar(image, ax=ax, shrink=0.8)
        return fig


def interval_bars(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    intervals: Sequence[tuple[float, float] | None],
    *,
    colors: Sequence[str] | None = None,
    reference: float | None = None,
    reference_label: str = "",
    xlabel: str = "",
    limits: tuple[float, float] | None = None,
    legend: Sequence[tuple[str, str]] = (),
    width: float = 5.2,
) -> str:
    """Horizontal points with confidence-interval whiskers (one row per label).

    ``legend``: (label, colour) pairs explaining the colours used.
    """
    from matplotlib.lines import Line2D

    with matplotlib.rc_context(_RC):
        n = max(len(labels), 1)
        fig = _figure(width, 0.8 + 0.22 * n + (0.2 if legend else 0))
        ax = fig.subplots()
        y = np.arange(len(labels))
        colors = list(colors or [REAL] * len(labels))
        for i, (value, interval) in enumerate(zip(values, intervals)):
            if interval is not None:
                ax.plot(interval, [i, i], color=colors[i], linewidth=2.2, alpha=0.55, solid_capstyle="butt")
            ax.plot([value], [i], "o", color=colors[i], markersize=4.5)
        handles = [Line2D([], [], color=c, marker="o", linewidth=2.2, alpha=0.8, label=t) for t, c in legend]
        if reference is not None:
            ax.axvline(reference, color="#555555", linewidth=0.8, linestyle="--")
            if reference_label:
                handles.append(Line2D([], [], color="#555555", linewidth=0.8, linestyle="--", label=reference_label))
        ax.set_yticks(y, [_short(v, 34) for v in labels])
        ax.invert_yaxis()
        if limits:
            ax.set_xlim(*limits)
        else:
            ax.margins(x=0.2)
        _few_ticks(ax.xaxis, 5)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        ax.grid(axis="x", linewidth=0.3, alpha=0.5)
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)))
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
        fig = _figure(5.2, 0.8 + 0.2 * n)
        ax = fig.subplots()
        y = np.arange(len(labels))
        ax.barh(y - 0.2, first, height=0.4, color=REAL, label=f"trained on {names[0]}")
        ax.barh(y + 0.2, second, height=0.4, color=SYNTHETIC, label=f"trained on {names[1]}")
        ax.set_yticks(y, [_short(v, 30) for v in labels])
        ax.invert_yaxis()
        _few_ticks(ax.xaxis, 5)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        ax.legend(loc="lower right")
        return svg_uri(fig)


def roc_curve(title: str, fpr: Sequence[float], tpr: Sequence[float], auc: float | None = None) -> str:
    """ROC curve of an attack; the diagonal is guessing."""
    with matplotlib.rc_context(_RC):
        fig = _figure(3.0, 2.5)
        ax = fig.subplots()
        ax.plot([0, 1], [0, 1], color="#999999", linewidth=0.8, linestyle="--", label="guessing")
        label = "attack" if auc is None else f"attack (AUC {auc:.3f})"
        ax.plot(fpr, tpr, color=SYNTHETIC, linewidth=1.4, label=label)
        ax.set_xlim(0, 1), ax.set_ylim(0, 1)
        ax.set_xlabel("false positive rate"), ax.set_ylabel("true positive rate")
        ax.set_title(title)
        ax.legend(loc="lower right")
        return svg_uri(fig)


def distance_histogram(
    title: str, edges: Sequence[float], series: Mapping[str, Sequence[float]], *, xlabel: str = "distance"
) -> str:
    """Distributions of distances to the closest record; ``series`` maps a legend label to shares per bin."""
    palette = [REAL, HOLDOUT, SYNTHETIC]
    with matplotlib.rc_context(_RC):
        fig = _figure(3.35, 2.0)
        ax = fig.subplots()
        edges_arr = np.asarray(edges, dtype=float)
        for i, (name, shares) in enumerate(series.items()):
            style: dict[str, Any] = (
                {"fill": True, "alpha": 0.35, "linewidth": 0} if i == 0 else {"fill": False, "linewidth": 1.3}
            )
            ax.stairs(shares, edges_arr, color=palette[i % 3], label=name, **style)
        _few_ticks(ax.xaxis, 5)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("share of synthetic rows")
        ax.set_title(title)
        ax.legend(loc="upper left")
        return svg_uri(fig)


@dataclass(frozen=True)
class Scale:
    """One metric on its own axis: value (with CI), its ideal, the holdout baseline, the policy limit."""

    label: str
    value: float
    low: float  # axis range
    high: float
    ci: tuple[float, float] | None = None
    ideal: float | None = None
    baseline: float | None = None
    limit: float | None = None
    limit_label: str = "limit"
    note: str = ""  # e.g. "ideal 0.5: no memorisation"


def scales(title: str, rows: Sequence[Scale]) -> str:
    """One strip per metric, each on its own x-range, its ideal marked (green), the policy limit (red)."""
    from matplotlib.lines import Line2D

    with matplotlib.rc_context(_RC):
        n = max(len(rows), 1)
        fig = _figure(5.4, 0.6 + 0.46 * n)
        axes = fig.subplots(n, 1, squeeze=False)[:, 0]
        used: set[str] = set()
        for ax, row in zip(axes, rows):
            used |= _scale_strip(ax, row)
        handles = [
            Line2D([], [], color=SYNTHETIC, marker="o", linewidth=3, alpha=0.8, label="synthetic (95% CI)"),
            Line2D([], [], color=IDEAL, marker="D", markersize=4, linewidth=1.6, label="ideal"),
            Line2D([], [], color=HOLDOUT, marker="|", linestyle="none", markersize=9, label="holdout baseline"),
            Line2D([], [], color=LIMIT, linewidth=1.1, linestyle="--", label="policy limit"),
        ]
        shown = [h for h, key in zip(handles, ("value", "ideal", "baseline", "limit")) if key in used]
        fig.legend(handles=shown, loc="outside lower center", ncols=len(shown))
        fig.suptitle(title, x=0.0, ha="left", fontsize=8.5)
        return svg_uri(fig)


def _scale_strip(ax: Any, row: Scale) -> set[str]:
    """Draw one metric's strip; returns which marks it used (for the legend)."""
    used = {"value"}
    span = row.high - row.low
    ax.set_xlim(row.low - 0.02 * span, row.high + 0.02 * span)  # marks on a bound stay visible
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    ax.spines[["left", "top", "right"]].set_visible(False)
    _few_ticks(ax.xaxis, 6)
    ax.tick_params(axis="x", labelsize=6.2, length=2, pad=1)
    if row.ideal is not None:
        ax.axvline(row.ideal, color=IDEAL, linewidth=1.6)
        ax.plot([row.ideal], [0.75], marker="D", color=IDEAL, markersize=4)
        used.add("ideal")
    if row.limit is not None:
        ax.axvline(row.limit, color=LIMIT, linewidth=1.1, linestyle="--")
        used.add("limit")
    if row.baseline is not None:
        ax.plot([row.baseline], [0], marker="|", color=HOLDOUT, markersize=12, markeredgewidth=2)
        used.add("baseline")
    if row.ci is not None:
        ax.plot(row.ci, [0, 0], color=SYNTHETIC, linewidth=3, alpha=0.5, solid_capstyle="butt")
    ax.plot([row.value], [0], "o", color=SYNTHETIC, markersize=5)
    ax.set_title(f"{_short(row.label, 40)}  {compact_number(row.value)}", fontsize=7.2, pad=1)
    if row.note:
        ax.text(1.0, 1.02, row.note, transform=ax.transAxes, ha="right", va="bottom", fontsize=6.2)
    return used
