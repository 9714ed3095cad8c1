"""Pure chart builders: data in, Plotly figure out. No ``st.*`` calls here, so every chart
is testable without a browser (tests assert traces and values)."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import plotly.graph_objects as go

VERDICT_COLOURS = {"approved": "#2e7d32", "review": "#f9a825", "flagged": "#c62828"}
VERDICT_ORDER = ("approved", "review", "flagged")


def plain_labels(texts: Sequence[str]) -> list[str]:
    """User text as Plotly labels: Plotly renders a subset of HTML in them (<b>, <br>,
    <a href>), so "<", ">" and "&" become entities, which it shows as the characters."""
    return [html.escape(str(text), quote=False) for text in texts]


def _bar(x: Sequence[str], y: Sequence[float], title: str, colour: str | Sequence[str] = "#3b6ea5", y_title: str = "songs") -> go.Figure:
    figure = go.Figure(go.Bar(x=list(x), y=list(y), marker_color=colour, text=[_fmt(v) for v in y], textposition="auto"))
    figure.update_layout(title=title, yaxis_title=y_title, margin={"l": 40, "r": 10, "t": 50, "b": 40}, height=320)
    return figure


def _fmt(value: float) -> str:
    return f"{value:.2f}" if isinstance(value, float) and not value.is_integer() else f"{int(value)}"


def verdict_mix(counts: Mapping[str, Mapping[str, int]] | Iterable[str], title: str = "Verdict mix") -> go.Figure:
    """Songs per verdict in a fixed order and colour; overridden verdicts are a separate,
    hatched part of each bar (``counts`` as from ``song_table.verdict_counts``, or plain verdicts)."""
    if not isinstance(counts, Mapping):
        plain = Counter(counts)
        counts = {"analysis": {v: plain.get(v, 0) for v in VERDICT_ORDER}, "override": {}}
    colours = [VERDICT_COLOURS[v] for v in VERDICT_ORDER]
    figure = go.Figure()
    for part, name, pattern in (("analysis", "by the analysis", ""), ("override", "manual override", "/")):
        values = [counts.get(part, {}).get(v, 0) for v in VERDICT_ORDER]
        if part == "override" and not any(values):
            continue
        figure.add_trace(go.Bar(
            x=list(VERDICT_ORDER), y=values, name=name, marker={"color": colours, "pattern": {"shape": pattern}},
            text=[str(v) if v else "" for v in values], textposition="auto",
        ))
    figure.update_layout(title=title, barmode="stack", yaxis_title="songs", height=320, showlegend=len(figure.data) > 1,
                         margin={"l": 40, "r": 10, "t": 50, "b": 40})
    return figure


def playlist_verdicts(names: Sequence[str], verdicts: Sequence[Mapping[str, int]], unanalysed: Sequence[int],
                      title: str = "Verdicts per playlist") -> go.Figure:
    """One horizontal stacked bar per playlist: songs per verdict, and songs without one."""
    names = plain_labels(names)
    figure = go.Figure()
    for verdict in VERDICT_ORDER:
        figure.add_trace(go.Bar(y=list(names), x=[v.get(verdict, 0) for v in verdicts], name=verdict, orientation="h",
                                marker_color=VERDICT_COLOURS[verdict]))
    figure.add_trace(go.Bar(y=list(names), x=list(unanalysed), name="no result yet", orientation="h",
                            marker_color="#b0b7b3"))
    figure.update_layout(title=title, barmode="stack", xaxis_title="songs", yaxis={"autorange": "reversed"},
                         height=max(220, 40 * len(names) + 120), margin={"l": 10, "r": 10, "t": 50, "b": 40})
    return figure


def label_counts(values: Iterable[str | Sequence[str]], labels: Sequence[str], names: Mapping[str, str], title: str) -> go.Figure:
    """Songs per label, for single labels (emotion) or lists of labels (themes, concerns)."""
    counts: Counter[str] = Counter()
    for value in values:
        counts.update([value] if isinstance(value, str) else list(value))
    return _bar([names.get(k, k) for k in labels], [counts.get(k, 0) for k in labels], title)


def mean_scores(distributions: Iterable[Mapping[str, float]], labels: Sequence[str], names: Mapping[str, str], title: str) -> go.Figure:
    """Mean score per label over songs: the shape of a playlist beyond the top labels."""
    rows = list(distributions)
    means = [sum(d.get(k, 0.0) for d in rows) / len(rows) if rows else 0.0 for k in labels]
    return _bar([names.get(k, k) for k in labels], means, title, y_title="mean score")


def score_bars(scores: Mapping[str, float], names: Mapping[str, str], title: str, highlight: Iterable[str] = ()) -> go.Figure:
    """One song's scores for one task, strongest first; present labels stand out."""
    marked = set(highlight)
    ordered = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    figure = go.Figure(
        go.Bar(
            x=[value for _, value in ordered],
            y=[names.get(key, key) for key, _ in ordered],
            orientation="h",
            marker_color=["#c62828" if key in marked else "#3b6ea5" for key, _ in ordered],
            text=[f"{value:.2f}" for _, value in ordered],
            textposition="auto",
        )
    )
    figure.update_layout(
        title=title, xaxis={"range": [0, 1]}, yaxis={"autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 50, "b": 20}, height=max(200, 28 * len(ordered) + 80),
    )
    return figure


def memory_timeline(times: Sequence[float], rss_mb: Sequence[float], container_mb: Sequence[float], limit_mb: float | None, container_label: str) -> go.Figure:
    """Process RSS and container memory over the last minutes (x: seconds ago)."""
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=list(times), y=list(rss_mb), name="process RSS (MB)", mode="lines"))
    figure.add_trace(go.Scatter(x=list(times), y=list(container_mb), name=f"{container_label} used (MB)", mode="lines"))
    if limit_mb:
        figure.add_hline(y=limit_mb, line_dash="dash", annotation_text=f"{container_label} limit")
    figure.update_layout(title="Memory, last minutes", xaxis_title="seconds ago", yaxis_title="MB", height=340,
                         margin={"l": 40, "r": 10, "t": 50, "b": 40})
    return figure
