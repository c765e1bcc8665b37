"""The SVG charts are pure: exact geometry for hand-made input, escaped labels, and nothing drawn for missing values."""

import math
import xml.etree.ElementTree as ET

import pytest

from experiments import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    return root


def elements(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    return [element for element in root.iter(f"{SVG}{tag}") if cls is None or element.get("class") == cls]


def test_bar_heights_are_proportional_to_values_on_a_shared_baseline():
    root = parse(charts.bar_chart([("a", 10), ("b", 5), ("c", 2.5)], width=400, height=200))
    bars = elements(root, "rect", "bar")
    assert [bar.get("data-category") for bar in bars] == ["a", "b", "c"]
    heights = [float(bar.get("height")) for bar in bars]
    bottoms = [float(bar.get("y")) + float(bar.get("height")) for bar in bars]
    # Plot height is 200 - 32 (top) - 44 (bottom) = 124, and the axis runs 0..10, so 10 fills it.
    assert heights == pytest.approx([124, 62, 31])
    assert bottoms == pytest.approx([156, 156, 156])


def test_bars_sit_in_equal_bands_left_to_right():
    layout = charts.bar_layout(["a", "b"], [("", [4, 2])], width=400, height=200)
    # Plot width 400 - 60 - 16 = 324; two bands of 162; each bar 80 % of its band, 10 % in from its left.
    assert layout.band == pytest.approx(162)
    assert [bar.x for bar in layout.bars] == pytest.approx([60 + 16.2, 60 + 162 + 16.2])
    assert [bar.width for bar in layout.bars] == pytest.approx([129.6, 129.6])
    assert layout.ticks[0] == 0 and layout.ticks[-1] == 4


def test_grouped_bars_share_a_band_and_a_legend_names_each_series():
    root = parse(charts.grouped_bar_chart(["v1", "v2"], [("hybrid", [0.4, 0.5]), ("cf", [0.2, None])], width=400))
    bars = elements(root, "rect", "bar")
    assert [(bar.get("data-category"), bar.get("data-series")) for bar in bars] == [
        ("v1", "hybrid"), ("v1", "cf"), ("v2", "hybrid"),
    ]  # fmt: skip
    assert float(bars[1].get("x")) == pytest.approx(float(bars[0].get("x")) + float(bars[0].get("width")))
    assert [legend.text for legend in elements(root, "text", "legend")] == ["hybrid", "cf"]


def test_negative_values_hang_below_the_zero_line():
    layout = charts.bar_layout(["up", "down"], [("", [2, -2])], width=400, height=200)
    up, down = layout.bars
    assert up.y + up.height == pytest.approx(down.y)
    assert up.height == pytest.approx(down.height)


def test_labels_and_titles_are_escaped():
    svg = charts.bar_chart([('<script>alert("x")</script>', 3)], title="Tom & Jerry's <b>")
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "Tom &amp; Jerry&#x27;s &lt;b&gt;" in svg
    root = parse(svg)
    assert elements(root, "rect", "bar")[0].get("data-category") == '<script>alert("x")</script>'


def test_missing_and_not_a_number_values_are_skipped():
    root = parse(charts.bar_chart([("a", 4), ("gone", None), ("nan", math.nan), ("inf", math.inf), ("b", 2)]))
    assert [bar.get("data-category") for bar in elements(root, "rect", "bar")] == ["a", "b"]
    assert [label.get("class") for label in elements(root, "text", "category")] == ["category", "category"]


@pytest.mark.parametrize("items", [[], [("a", None)], [("a", math.nan), ("b", None)]])
def test_no_drawable_value_gives_a_no_data_chart(items):
    root = parse(charts.bar_chart(items, title="Clicks"))
    assert not elements(root, "rect", "bar")
    assert [text.text for text in elements(root, "text", "no-data")] == ["No data yet"]


def test_nice_ticks_are_round_and_cover_the_range():
    assert charts.nice_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    assert charts.nice_ticks(0, 0.073) == pytest.approx([0, 0.02, 0.04, 0.06, 0.08])
    assert charts.nice_ticks(-0.3, 0.2, count=5) == pytest.approx([-0.3, -0.2, -0.1, 0, 0.1, 0.2])
    assert charts.nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_the_interval_bar_spans_the_interval_around_zero():
    root = parse(charts.interval_bar(0.05, -0.1, 0.2, limit=0.5, width=160, height=20))
    interval = elements(root, "rect", "interval")[0]
    # Centre 80, 74 units per 0.5: -0.1 -> 65.2, +0.2 -> 109.6, the point +0.05 -> 87.4.
    assert float(interval.get("x")) == pytest.approx(65.2)
    assert float(interval.get("width")) == pytest.approx(44.4)
    assert float(elements(root, "circle", "point")[0].get("cx")) == pytest.approx(87.4)
    assert interval.get("fill") == "#757575"  # spans 0: undecided
    assert charts.interval_bar(0.3, 0.1, 0.5, limit=1).count('fill="#2e7d32"') == 1  # all above 0
    assert charts.interval_bar(-0.3, -0.5, -0.1, limit=1).count('fill="#c62828"') == 1  # all below 0


def test_an_interval_beyond_the_scale_is_cut_at_the_edge():
    root = parse(charts.interval_bar(0.1, -3, 3, limit=0.5, width=160))
    interval = elements(root, "rect", "interval")[0]
    assert float(interval.get("x")) == pytest.approx(6)
    assert float(interval.get("width")) == pytest.approx(148)
    assert len(elements(root, "path")) == 2  # an arrow at each cut end


def test_an_interval_bar_without_numbers_says_so():
    root = parse(charts.interval_bar(None, None, math.nan, limit=0.5))
    assert not elements(root, "rect", "interval")
    assert "no data" in "".join(root.itertext())


def test_the_lift_chart_draws_a_line_band_and_interval_per_treatment():
    series = charts.LiftSeries(
        name="Content <only>",
        relative=[0.10, None, 0.05],
        interval=[[0.0, 0.2], None, [-0.02, 0.12]],
        band=[[-0.5, 0.9], [-0.3, 0.5], [-0.2, 0.3]],
    )
    svg = charts.lift_chart(["2025-03-01", "2025-03-02", "2025-03-03"], [series], title="Lift", chart_id="t")
    root = parse(svg)
    lines = elements(root, "polyline", "lift")
    assert len(lines) == 2  # the missing middle day splits the line
    assert len(elements(root, "polygon", "ci")) == 2
    assert len(elements(root, "polyline", "band")) == 2  # lower and upper, each unbroken
    assert all(band.get("stroke-dasharray") for band in elements(root, "polyline", "band"))
    assert [day.text for day in elements(root, "text", "day")] == ["2025-03-01", "2025-03-02", "2025-03-03"]
    assert "+0 %" not in svg and "0 %" in svg  # the zero tick is unsigned
    assert "Content &lt;only&gt;" in svg and "<only>" not in svg


def test_the_lift_chart_points_sit_where_their_values_say():
    series = charts.LiftSeries(name="t", relative=[0.0, 0.5], interval=[None, None], band=[None, None])
    root = parse(charts.lift_chart(["d1", "d2"], [series], width=400, height=300))
    points = elements(root, "polyline", "lift")[0].get("points").split()
    (x1, y1), (x2, y2) = [tuple(map(float, point.split(","))) for point in points]
    # Plot: x 60..380, y 34..242; ticks 0..0.5, so 0 is at the bottom and +50 % at the top.
    assert (x1, x2) == pytest.approx((60, 380))
    assert (y1, y2) == pytest.approx((242, 34))


def test_a_lift_chart_without_values_says_no_data():
    series = charts.LiftSeries(name="t", relative=[None], interval=[None], band=[[math.nan, 1]])
    root = parse(charts.lift_chart(["d1"], [series]))
    assert [text.text for text in elements(root, "text", "no-data")] == ["No daily data yet"]
    assert "No daily data yet" in charts.lift_chart([], [])


def test_percent_labels_use_a_real_minus_sign():
    assert charts.percent_label(-0.052, digits=1) == "\u22125.2 %"
    assert charts.percent_label(0.052) == "+5 %"
    assert charts.percent_label(0.0) == "0 %"
    assert charts.percent_label(-0.0001) == "0 %"
