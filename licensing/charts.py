"""The dashboard's line chart of users used against licenses, drawn as server-side SVG.

Why SVG from a template: the pages run under a strict Content Security Policy (no inline
script, no CDN), the chart has two series and 90 points, and an SVG needs no JavaScript,
no vendored library to keep patched, prints, and reads with the data table beside it.
"""

import datetime as dt
import math

from licensing.reports import CHART_DAYS

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


def _nice_ceiling(value):
    """1, 2, 5, 10, 20, 50...: the smallest such number >= value, for a readable axis."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def usage_chart(history, *, today, days=CHART_DAYS):
    """Coordinates of the chart: ``{"used", "licenses"}`` polylines, axis ticks, and the
    snapshots for the table. ``history``: snapshots ``{"day", "used", "licenses"}``, oldest first."""
    first = today - dt.timedelta(days=days - 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_value = _nice_ceiling(max([1] + [max(s["used"], s["licenses"]) for s in history]))

    def x(day):
        return round(LEFT + (day - first).days * plot_w / max(days - 1, 1), 1)

    def y(value):
        return round(TOP + plot_h - value * plot_h / top_value, 1)

    def points(field):
        return " ".join(f"{x(s['day'])},{y(s[field])}" for s in history)

    y_ticks = [{"value": v, "y": y(v)} for v in sorted({0, top_value // 2, top_value})]
    x_ticks = [{"label": d.strftime("%d %b"), "x": x(d)} for d in (first, first + dt.timedelta(days=(days - 1) // 2), today)]
    over = [{"x": x(s["day"]), "y": y(s["used"])} for s in history if s["used"] > s["licenses"]]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "top": TOP,
        "bottom": HEIGHT - BOTTOM,
        "used": points("used"),
        "licenses": points("licenses"),
        "over": over,
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
        "snapshots": history,
        "first_day": first,
    }
