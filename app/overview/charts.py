"""Bar charts drawn on the server as SVG geometry: the page needs no JavaScript, and the CSP
(no inline styles or scripts) holds because the template uses SVG attributes only."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 600, 200
LEFT, BOTTOM, TOP = 40, 30, 16  # room for the axis labels and the values above the bars


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # under the bar (the month)
    value: str  # above the bar, and in its tooltip; "" when there is no figure


@dataclass
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    baseline: float
    top: str  # the axis's highest value, written at its top
    left: int


def _nice_max(value: float) -> float:
    """The axis top: the smallest of 1, 2 or 5 times a power of ten at or above the highest bar."""
    if value <= 0:
        return 1
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value * 10:
        step /= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def bar_chart(points: list[tuple[str, float | None]], fmt: str = "{:g}",
              fixed_max: float | None = None) -> BarChart:
    """One bar per point; a point without a value (no case that month) draws no bar."""
    values = [v for _, v in points if v is not None]
    top = fixed_max if fixed_max is not None else _nice_max(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(points), 1)
    baseline = HEIGHT - BOTTOM
    bars = []
    for i, (label, value) in enumerate(points):
        height = 0.0 if value is None else plot_h * min(value / top, 1)
        bars.append(Bar(x=round(LEFT + i * slot + slot * 0.15, 1),
                        y=round(baseline - height, 1), width=round(slot * 0.7, 1),
                        height=round(height, 1), label=label,
                        value="" if value is None else fmt.format(value)))
    return BarChart(width=WIDTH, height=HEIGHT, bars=bars, baseline=baseline,
                    top=fmt.format(top), left=LEFT)
