"""Server-side SVG charts for the admin: pure functions from numbers to SVG text.

No JavaScript, no CDN, no Django: each function takes plain numbers and labels and returns
one ``<svg>`` element as a string. Every piece of text is XML-escaped here, so a caller may
insert the result into a page as it is. Missing values (None, NaN, infinities) are skipped,
never drawn as zero; a chart with nothing to draw says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

SERIES_COLOURS = ("#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#5d4037", "#ad1457")
TEXT_COLOUR = "#333"
GRID_COLOUR = "#e0e0e0"
AXIS_COLOUR = "#888"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="11"'
MINUS = "\u2212"


@dataclass(frozen=True)
class Margins:
    top: float = 32
    right: float = 16
    bottom: float = 44
    left: float = 60


@dataclass(frozen=True)
class Bar:
    """One drawn bar: its category, series and value, and its rectangle in SVG units."""

    category: str
    series: str
    value: float
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarLayout:
    bars: list[Bar]
    categories: list[str]
    ticks: list[float]
    domain: tuple[float, float]
    plot: tuple[float, float, float, float]  # left, top, width, height
    band: float


@dataclass(frozen=True)
class LiftSeries:
    """One treatment's cumulative relative lift by day: the point, the fixed 95 % interval and the always-valid band."""

    name: str
    relative: Sequence[float | None]
    interval: Sequence[Sequence[float | None] | None]
    band: Sequence[Sequence[float | None] | None]


def finite(value) -> float | None:
    """Return ``value`` as a float, or None when it is missing, not a number or infinite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def text(value) -> str:
    """Escape ``value`` for SVG text and attribute values."""
    return escape(str(value), quote=True)


def _n(value: float) -> str:
    """A coordinate, short: 12.5 not 12.500000001."""
    rounded = round(value, 2)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.2f}".rstrip("0")


def _svg(width: float, height: float, body: str, *, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(height)}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" role="img" aria-label="{text(label)}" {FONT}>'
        f"<title>{text(label)}</title>{body}</svg>"
    )


def no_data_svg(message: str = "No data yet", *, width: float = 480, height: float = 120, title: str = "") -> str:
    """A placeholder chart that says there is nothing to draw."""
    heading = f'<text x="8" y="18" font-weight="bold" fill="{TEXT_COLOUR}">{text(title)}</text>' if title else ""
    body = (
        f'<rect x="0.5" y="0.5" width="{_n(width - 1)}" height="{_n(height - 1)}" fill="#fafafa" stroke="{GRID_COLOUR}"/>'
        f"{heading}"
        f'<text class="no-data" x="{_n(width / 2)}" y="{_n(height / 2 + 4)}" text-anchor="middle" fill="#777">{text(message)}</text>'
    )
    return _svg(width, height, body, label=f"{title}: {message}" if title else message)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Return round tick values (1, 2 or 5 times a power of ten apart) covering ``low`` to ``high``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("nice_ticks needs finite bounds")
    if high < low:
        low, high = high, low
    if high == low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(multiple * magnitude for multiple in (1, 2, 2.5, 5, 10) if multiple * magnitude >= raw)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    ticks = []
    value = first
    while value <= last + step / 2:
        ticks.append(round(value, 12))
        value += step
    return ticks


def percent_label(value: float, *, signed: bool = True, digits: int = 0) -> str:
    """0.052 -> "+5 %"; the minus is a real minus sign."""
    number = value * 100
    label = f"{abs(number):.{digits}f} %"
    if number < 0 and round(abs(number), digits) != 0:
        return MINUS + label
    return ("+" if signed and round(number, digits) != 0 else "") + label


def number_label(value: float) -> str:
    """A short tick label: 1200 -> "1.2k", 0.25 -> "0.25"."""
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        label = f"{value / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"
    elif magnitude >= 10_000:
        label = f"{value / 1000:.0f}k"
    elif magnitude >= 1000:
        label = f"{value / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    elif magnitude == 0 or magnitude >= 1:
        label = f"{value:.2f}".rstrip("0").rstrip(".")
    else:
        label = f"{value:.3g}"
    return label.replace("-", MINUS)


def _truncate(label: str, characters: int) -> str:
    characters = max(characters, 3)
    return label if len(label) <= characters else label[: characters - 1] + "\u2026"


# Bar charts ---------------------------------------------------------------------------------


def bar_layout(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    width: float = 640,
    height: float = 260,
    margins: Margins = Margins(),
) -> BarLayout | None:
    """Place the bars of a (grouped) bar chart; None when no value is drawable.

    ``series`` is a list of (name, values), the values aligned with ``categories``. A missing
    value leaves its slot empty; a category with no value in any series is left out.
    """
    kept = [
        index for index in range(len(categories))
        if any(finite(values[index]) is not None for _, values in series if index < len(values))
    ]  # fmt: skip
    if not kept:
        return None
    drawable = [
        value for _, series_values in series for index in kept if index < len(series_values)
        if (value := finite(series_values[index])) is not None
    ]  # fmt: skip
    ticks = nice_ticks(min(0.0, *drawable), max(0.0, *drawable))
    low, high = ticks[0], ticks[-1]
    left, top = margins.left, margins.top
    plot_width = width - margins.left - margins.right
    plot_height = height - margins.top - margins.bottom

    def y_of(value: float) -> float:
        return top + plot_height * (high - value) / (high - low)

    band = plot_width / len(kept)
    bar_width = band * 0.8 / max(len(series), 1)
    baseline = y_of(0.0)
    bars = []
    for slot, index in enumerate(kept):
        for position, (name, series_values) in enumerate(series):
            value = finite(series_values[index]) if index < len(series_values) else None
            if value is None:
                continue
            y = y_of(value)
            bars.append(
                Bar(
                    category=str(categories[index]),
                    series=str(name),
                    value=value,
                    x=left + slot * band + band * 0.1 + position * bar_width,
                    y=min(y, baseline),
                    width=bar_width,
                    height=abs(baseline - y),
                )
            )
    return BarLayout(
        bars=bars,
        categories=[str(categories[index]) for index in kept],
        ticks=ticks,
        domain=(low, high),
        plot=(left, top, plot_width, plot_height),
        band=band,
    )


def bar_chart(
    items: Sequence[tuple[str, float | None]],
    *,
    title: str = "",
    width: float = 640,
    height: float = 260,
    value_format: Callable[[float], str] = number_label,
    axis_format: Callable[[float], str] = number_label,
) -> str:
    """A bar per (label, value); missing values are skipped."""
    return grouped_bar_chart(
        [label for label, _ in items],
        [("", [value for _, value in items])],
        title=title,
        width=width,
        height=height,
        value_format=value_format,
        axis_format=axis_format,
    )


def grouped_bar_chart(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str = "",
    width: float = 640,
    height: float = 260,
    value_format: Callable[[float], str] = number_label,
    axis_format: Callable[[float], str] = number_label,
) -> str:
    """Bars grouped by category, one colour per series, with a legend when there are several series."""
    layout = bar_layout(categories, series, width=width, height=height)
    if layout is None:
        return no_data_svg("No data yet", width=width, height=min(height, 120), title=title)
    left, top, plot_width, plot_height = layout.plot
    low, high = layout.domain
    parts = []
    if title:
        parts.append(f'<text x="{_n(left)}" y="16" font-weight="bold" font-size="13" fill="{TEXT_COLOUR}">{text(title)}</text>')
    for tick in layout.ticks:
        y = top + plot_height * (high - tick) / (high - low)
        colour = AXIS_COLOUR if tick == 0 else GRID_COLOUR
        parts.append(f'<line x1="{_n(left)}" x2="{_n(left + plot_width)}" y1="{_n(y)}" y2="{_n(y)}" stroke="{colour}"/>')
        parts.append(
            f'<text class="tick" x="{_n(left - 6)}" y="{_n(y + 4)}" text-anchor="end" fill="#555">{text(axis_format(tick))}</text>'
        )
    colours = {name: SERIES_COLOURS[index % len(SERIES_COLOURS)] for index, (name, _) in enumerate(series)}
    for bar in layout.bars:
        label = f"{bar.series + ' · ' if bar.series else ''}{bar.category}: {value_format(bar.value)}"
        parts.append(
            f'<rect class="bar" data-category="{text(bar.category)}" data-series="{text(bar.series)}" '
            f'x="{_n(bar.x)}" y="{_n(bar.y)}" width="{_n(bar.width)}" height="{_n(bar.height)}" '
            f'fill="{colours[bar.series]}"><title>{text(label)}</title></rect>'
        )
        if len(series) == 1 and bar.width >= 18:
            above = bar.y - 4 if bar.value >= 0 else bar.y + bar.height + 12
            parts.append(
                f'<text class="value" x="{_n(bar.x + bar.width / 2)}" y="{_n(above)}" text-anchor="middle" '
                f'fill="{TEXT_COLOUR}">{text(value_format(bar.value))}</text>'
            )
    characters = int(layout.band / 6.5)
    for slot, category in enumerate(layout.categories):
        x = left + slot * layout.band + layout.band / 2
        parts.append(
            f'<text class="category" x="{_n(x)}" y="{_n(top + plot_height + 16)}" text-anchor="middle" fill="#555">'
            f"<title>{text(category)}</title>{text(_truncate(category, characters))}</text>"
        )
    parts.append(
        f'<line x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" y2="{_n(top + plot_height)}" stroke="{AXIS_COLOUR}"/>'
    )
    if len(series) > 1:
        parts.append(_legend([(name, colours[name], "") for name, _ in series], x=left, y=top + plot_height + 34))
    return _svg(width, height, "".join(parts), label=title or "Bar chart")


def _legend(entries: Sequence[tuple[str, str, str]], *, x: float, y: float) -> str:
    """Legend entries (name, colour, dash pattern) in one row."""
    parts = []
    for name, colour, dash in entries:
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{_n(x)}" x2="{_n(x + 18)}" y1="{_n(y - 4)}" y2="{_n(y - 4)}" stroke="{colour}" stroke-width="3"{dashed}/>'
            f'<text class="legend" x="{_n(x + 22)}" y="{_n(y)}" fill="{TEXT_COLOUR}">{text(name)}</text>'
        )
        x += 30 + 6.5 * len(name)
    return "".join(parts)


# Intervals ----------------------------------------------------------------------------------


def symmetric_limit(values: Sequence[float | None], *, floor: float = 0.05, cap: float = 2.0) -> float:
    """A round bound L so that [-L, L] holds every value (within ``floor`` .. ``cap``)."""
    largest = max((abs(value) for value in map(finite, values) if value is not None), default=0.0)
    largest = min(max(largest, floor), cap)
    return nice_ticks(0.0, largest, count=4)[-1]


INTERVAL_COLOURS = ("#2e7d32", "#c62828", "#757575")  # whole interval above 0, below 0, spanning 0


def interval_bar(
    point: float | None,
    low: float | None,
    high: float | None,
    *,
    limit: float,
    width: float = 160,
    height: float = 20,
    name: str = "lift",
    value_format: Callable[[float], str] | None = None,
    colours: tuple[str, str, str] = INTERVAL_COLOURS,
) -> str:
    """A relative lift's interval as a bar around 0 on [-limit, limit], with the point as a dot.

    Green when the whole interval is above 0, red when below, grey when it spans 0 (``colours``:
    above, below, spanning). Parts beyond the scale are cut at the edge and marked with an arrow.
    ``name`` and ``value_format`` (default: a signed percentage) word the accessible label, for
    an interval of something else than a lift.
    """
    value_format = value_format or (lambda value: percent_label(value, digits=1))
    point, low, high = finite(point), finite(low), finite(high)
    if point is None and (low is None or high is None):
        body = f'<text x="{_n(width / 2)}" y="{_n(height / 2 + 4)}" text-anchor="middle" fill="#999">no data</text>'
        return _svg(width, height, body, label="No interval yet")
    limit = limit if finite(limit) and limit > 0 else 1.0
    pad = 6.0
    centre = width / 2
    scale = (width / 2 - pad) / limit

    def x_of(value: float) -> float:
        return centre + max(-limit, min(limit, value)) * scale

    parts = [
        f'<line x1="{_n(pad)}" x2="{_n(width - pad)}" y1="{_n(height / 2)}" y2="{_n(height / 2)}" stroke="{GRID_COLOUR}"/>',
        f'<line class="zero" x1="{_n(centre)}" x2="{_n(centre)}" y1="2" y2="{_n(height - 2)}" stroke="{AXIS_COLOUR}"/>',
    ]
    label = []
    if low is not None and high is not None:
        colour = colours[0] if low > 0 else colours[1] if high < 0 else colours[2]
        x1, x2 = x_of(low), x_of(high)
        parts.append(
            f'<rect class="interval" x="{_n(x1)}" y="{_n(height / 2 - 4)}" width="{_n(max(x2 - x1, 1))}" height="8" '
            f'rx="3" fill="{colour}" fill-opacity="0.55"/>'
        )
        if low < -limit:
            parts.append(f'<path d="M{_n(pad - 4)} {_n(height / 2)} l5 -5 v10 z" fill="{colour}"/>')
        if high > limit:
            parts.append(f'<path d="M{_n(width - pad + 4)} {_n(height / 2)} l-5 -5 v10 z" fill="{colour}"/>')
        label.append(f"95 % interval {value_format(low)} to {value_format(high)}")
    if point is not None:
        parts.append(f'<circle class="point" cx="{_n(x_of(point))}" cy="{_n(height / 2)}" r="3.5" fill="#212121"/>')
        label.insert(0, f"{name} {value_format(point)}")
    return _svg(width, height, "".join(parts), label="; ".join(label))


# The lift-by-day chart ----------------------------------------------------------------------


def _segments(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """Split (x, y) points into runs without missing y."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((x, y))
    return [run for run in runs if run]


def _pair(value) -> tuple[float | None, float | None]:
    if not value or len(value) != 2:
        return None, None
    low, high = finite(value[0]), finite(value[1])
    return (low, high) if low is not None and high is not None else (None, None)


def lift_chart(
    days: Sequence[str],
    series: Sequence[LiftSeries],
    *,
    title: str = "",
    width: float = 760,
    height: float = 320,
    chart_id: str = "lift",
    floor: float = -1.0,
    cap: float = 2.0,
) -> str:
    """The cumulative relative lift by day: a line per treatment, the fixed 95 % interval shaded,
    the always-valid band dashed, a zero line, and labelled axes.

    The vertical scale covers the drawn values within [floor, cap] (default -100 % to +200 %);
    the early days' very wide bands are cut at the plot's edge.
    """
    def bounds(line: LiftSeries, first_day: int) -> list[float | None]:
        values = [finite(value) for value in line.relative]
        for pairs in (line.interval, line.band):
            values.extend(value for pair in pairs[first_day:] for value in _pair(pair))
        return values

    everything = [value for line in series for value in bounds(line, 0) if value is not None]
    if not days or not everything:
        return no_data_svg("No daily data yet", width=width, height=min(height, 120), title=title)
    # The scale fits every point, and the intervals of the later two thirds of the days: the first
    # days' intervals are very wide and would flatten the rest, so they are cut at the plot's edge.
    focused = [value for line in series for value in bounds(line, len(days) // 3) if value is not None]
    drawable = focused or everything
    margins = Margins(top=34, right=20, bottom=58, left=60)
    ticks = nice_ticks(max(floor, min(0.0, *drawable)), min(cap, max(0.0, *drawable)), count=6)
    low, high = ticks[0], ticks[-1]
    left, top = margins.left, margins.top
    plot_width, plot_height = width - margins.left - margins.right, height - margins.top - margins.bottom
    step = plot_width / max(len(days) - 1, 1)

    def x_of(index: int) -> float:
        return left + (index * step if len(days) > 1 else plot_width / 2)

    def y_of(value: float) -> float:
        return top + plot_height * (high - value) / (high - low)

    clip = text(f"{chart_id}-plot")
    parts = [f'<defs><clipPath id="{clip}"><rect x="{_n(left)}" y="{_n(top)}" width="{_n(plot_width)}" height="{_n(plot_height)}"/></clipPath></defs>']
    if title:
        parts.append(f'<text x="{_n(left)}" y="16" font-weight="bold" font-size="13" fill="{TEXT_COLOUR}">{text(title)}</text>')
    for tick in ticks:
        y = y_of(tick)
        colour = "#616161" if tick == 0 else GRID_COLOUR
        parts.append(f'<line x1="{_n(left)}" x2="{_n(left + plot_width)}" y1="{_n(y)}" y2="{_n(y)}" stroke="{colour}"/>')
        parts.append(f'<text class="tick" x="{_n(left - 6)}" y="{_n(y + 4)}" text-anchor="end" fill="#555">{text(percent_label(tick))}</text>')
    label_every = max(1, math.ceil(len(days) / 7))
    for index, day in enumerate(days):
        if index % label_every and index != len(days) - 1:
            continue
        if index != len(days) - 1 and len(days) - 1 - index < label_every:
            continue  # too close to the last label
        x = x_of(index)
        anchor = "end" if index == len(days) - 1 and len(days) > 1 else "middle"
        parts.append(f'<line x1="{_n(x)}" x2="{_n(x)}" y1="{_n(top + plot_height)}" y2="{_n(top + plot_height + 4)}" stroke="{AXIS_COLOUR}"/>')
        parts.append(f'<text class="day" x="{_n(x)}" y="{_n(top + plot_height + 16)}" text-anchor="{anchor}" fill="#555">{text(day)}</text>')
    parts.append(f'<line x1="{_n(left)}" x2="{_n(left)}" y1="{_n(top)}" y2="{_n(top + plot_height)}" stroke="{AXIS_COLOUR}"/>')
    parts.append(
        f'<text x="14" y="{_n(top + plot_height / 2)}" text-anchor="middle" fill="#555" '
        f'transform="rotate(-90 14 {_n(top + plot_height / 2)})">relative lift vs control</text>'
    )
    parts.append(f'<g clip-path="url(#{clip})">')
    for number, line in enumerate(series):
        colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
        intervals = [_pair(line.interval[index] if index < len(line.interval) else None) for index in range(len(days))]
        bands = [_pair(line.band[index] if index < len(line.band) else None) for index in range(len(days))]
        for run in _segments([(index, None if pair[0] is None else index) for index, pair in enumerate(intervals)]):
            upper = " ".join(f"{_n(x_of(index))},{_n(y_of(intervals[index][1]))}" for index, _ in run)
            lower = " ".join(f"{_n(x_of(index))},{_n(y_of(intervals[index][0]))}" for index, _ in reversed(run))
            parts.append(f'<polygon class="ci" points="{upper} {lower}" fill="{colour}" fill-opacity="0.15" stroke="none"/>')
        for side in (0, 1):
            for run in _segments([(index, pair[side]) for index, pair in enumerate(bands)]):
                points = " ".join(f"{_n(x_of(int(x)))},{_n(y_of(y))}" for x, y in run)
                parts.append(f'<polyline class="band" points="{points}" fill="none" stroke="{colour}" stroke-width="1.2" stroke-dasharray="5 4"/>')
        relative = [(index, finite(line.relative[index]) if index < len(line.relative) else None) for index in range(len(days))]
        for run in _segments(relative):
            points = " ".join(f"{_n(x_of(int(x)))},{_n(y_of(y))}" for x, y in run)
            parts.append(f'<polyline class="lift" points="{points}" fill="none" stroke="{colour}" stroke-width="2.2"/>')
            for x, y in run:
                parts.append(
                    f'<circle cx="{_n(x_of(int(x)))}" cy="{_n(y_of(y))}" r="2.5" fill="{colour}">'
                    f"<title>{text(line.name)} {text(days[int(x)])}: {text(percent_label(y, digits=1))}</title></circle>"
                )
    parts.append("</g>")
    legend = [(line.name, SERIES_COLOURS[index % len(SERIES_COLOURS)], "") for index, line in enumerate(series)]
    legend += [("95 % interval (shaded)", "#bdbdbd", ""), ("always-valid interval", "#757575", "5 4")]
    parts.append(_legend(legend, x=left, y=height - 10))
    return _svg(width, height, "".join(parts), label=title or "Relative lift by day")
