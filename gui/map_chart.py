"""The dataset map's Plotly figure (one trace per class, a marker shape per flag) and the browser script that sends
its clicks and lasso selections back to Python (gr.Plot has no click event of its own)."""
from __future__ import annotations

import time
from collections.abc import Collection
from pathlib import Path

import plotly.graph_objects as go

from gui import words
from gui.charts import CLASS_COLOURS

GL_ABOVE = 1000  # more points than this are drawn with WebGL (scattergl): SVG slows down past a thousand or so
OTHER_COLOUR = "#868e96"  # a kept picture whose class is none of the dataset's, or not known ("")
SYMBOLS = {"": "circle", "suspect": "x", "outlier": "diamond", "duplicate": "square", "mistake": "triangle-up",
           "not_sure": "triangle-down", "test": "circle-open", "kept": "star"}  # by the point's first flag
BRIDGE_JS = (Path(__file__).with_name("map_bridge.js")).read_text(encoding="utf-8")  # launch(js=...) runs it
BRIDGE_CSS = "#map-picked {display: none !important;}"  # the box the script writes into: in the page, unseen


def map_figure(drawn: list[dict], classes: list[str], revision: str = "map", selected: Collection[int] = ()
               ) -> go.Figure:
    """The map: `drawn` holds one dict per point to draw ("index" into the map's points, "x", "y", "class", "flag"
    (its first flag, or "") and "hover" text); a legend entry per class and per marker shape used. `revision` keeps
    the zoom and hidden classes across redraws of the same map (Plotly's uirevision); the points of `selected` (map
    indices) are drawn selected, whatever the browser had selected before (a moved point changes trace)."""
    kind = go.Scattergl if len(drawn) > GL_ABOVE else go.Scatter
    selected = set(selected)
    named = classes + sorted({d["class"] for d in drawn} - set(classes))
    fig = go.Figure()
    for i, name in enumerate(named):
        mine = [d for d in drawn if d["class"] == name]
        if not mine:
            continue
        colour = CLASS_COLOURS[i % len(CLASS_COLOURS)] if name in classes else OTHER_COLOUR
        shown = name or words.MAP_KEPT_UNKNOWN_LEGEND  # "": kept pictures whose class their owner has not said
        fig.add_trace(kind(
            x=[d["x"] for d in mine], y=[d["y"] for d in mine], mode="markers", name=shown, legendgroup=shown,
            customdata=[d["index"] for d in mine], hovertext=[d["hover"] for d in mine],
            hovertemplate="%{hovertext}<extra></extra>",
            marker={"color": colour, "size": 9, "symbol": [SYMBOLS.get(d["flag"], "circle") for d in mine],
                    "line": {"width": 0.5, "color": "white"}, "opacity": 0.85},
            selectedpoints=[j for j, d in enumerate(mine) if d["index"] in selected] if selected else None))
    for flag in [f for f in SYMBOLS if f and any(d["flag"] == f for d in drawn)]:  # the shapes' legend entries
        fig.add_trace(kind(x=[None], y=[None], mode="markers", name=words.MAP_FLAG_LEGEND[flag], legendgroup="flags",
                           marker={"color": OTHER_COLOUR, "size": 10, "symbol": SYMBOLS[flag]}, hoverinfo="skip"))
    hidden_axis = {"showticklabels": False, "showgrid": False, "zeroline": False, "title": None}
    fig.update_layout(
        height=620, template="plotly_white", margin={"l": 10, "r": 10, "t": 30, "b": 10}, dragmode="lasso",
        hovermode="closest", uirevision=revision, selectionrevision=f"{revision}-{time.time_ns()}", clickmode="event",
        legend={"itemsizing": "constant", "title": {"text": ""}}, xaxis=hidden_axis,
        yaxis={**hidden_axis, "scaleanchor": "x", "scaleratio": 1})
    return fig
