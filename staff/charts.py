"""Server-rendered SVG line charts: no script, so they pass the strict Content Security Policy."""

from django.utils.html import format_html, format_html_join

COLOURS = ["#2f5bea", "#b42318", "#b54708", "#067647", "#7a5af8", "#5b6578"]


def line_chart_svg(*, labels, series, width=640, height=200, title=""):
    """``labels``: x-axis labels (dates); ``series``: [(name, [values...])] of equal length."""
    pad_left, pad_bottom, pad_top = 48, 22, 10
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - pad_top
    top = max([max(values, default=0) for _, values in series] + [1])
    n = max(len(labels), 2)

    def point(i, v):
        x = pad_left + plot_w * i / (n - 1)
        y = pad_top + plot_h * (1 - v / top)
        return f"{x:.1f},{y:.1f}"

    lines = format_html_join(
        "",
        '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"><title>{}</title></polyline>',
        (
            (COLOURS[k % len(COLOURS)], " ".join(point(i, v) for i, v in enumerate(values)), name)
            for k, (name, values) in enumerate(series)
        ),
    )
    legend = format_html_join(
        "",
        '<tspan fill="{}" dx="12">■ {}</tspan>',
        ((COLOURS[k % len(COLOURS)], name) for k, (name, _) in enumerate(series)),
    )
    first, last = (labels[0], labels[-1]) if labels else ("", "")
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" height="{}">'
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#dde2ea"/>'
        '<text x="4" y="{}" font-size="11">{}</text><text x="4" y="{}" font-size="11">0</text>'
        '<text x="{}" y="{}" font-size="11">{}</text><text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>'
        '{}<text x="{}" y="{}" font-size="11">{}</text></svg>',
        title, width, height, width, height,
        pad_left, pad_top + plot_h, width - 8, pad_top + plot_h,
        pad_top + 10, f"{top:,.0f}", pad_top + plot_h,
        pad_left, height - 4, first, width - 8, height - 4, last,
        lines, pad_left, pad_top + 10, legend,
    )
