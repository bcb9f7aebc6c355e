"""Per-head (and per-layer) attention heatmaps with selectors, for lessons 04 to 06."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from course_lib.widgets import interactive_figure


def head_explorer(tokens: Sequence[str], weights, title: str = "attention weights") -> widgets.VBox:
    """Choose a head (and a layer, when there are several) and see its attention map.

    ``weights`` has shape (n_heads, seq_len, seq_len) or (n_layers, n_heads, seq_len, seq_len): a tensor or
    an array, computed once; the selectors only pick which map to show.
    """
    maps = np.asarray(weights.detach() if hasattr(weights, "detach") else weights, dtype=float)
    if maps.ndim == 3:
        maps = maps[None]
    n_layers, n_heads, seq_len, _ = maps.shape
    head = widgets.Dropdown(options=list(range(n_heads)), value=0, description="head")
    layer = widgets.Dropdown(options=list(range(n_layers)), value=0, description="layer")
    controls = [layer, head] if n_layers > 1 else [head]

    figure = Figure(figsize=(6, 5), layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(maps[0, 0], vmin=0, vmax=1, cmap="viridis")
    positions = np.arange(seq_len)
    ax.set_xticks(positions, tokens, rotation=45, ha="right")
    ax.set_yticks(positions, tokens)
    ax.set_xlabel("key (looked at)")
    ax.set_ylabel("query (looking)")
    figure.colorbar(image, ax=ax, fraction=0.046)

    def draw() -> None:
        image.set_data(maps[layer.value, head.value])
        where = f"layer {layer.value}, head {head.value}" if n_layers > 1 else f"head {head.value}"
        ax.set_title(f"{title}: {where}", fontsize=10)

    return interactive_figure(controls, figure, draw, [])
