#!/usr/bin/env python3
"""The dashboard's panels as one SVG picture, drawn from Prometheus data.

    render_panels.py DATA.json OUT.svg

DATA.json is what tests/prometheus_alerts.rs writes (target/tmp/dashboard-data.json): each
panel's title and its queries' series (legend and range-query values). Panels are laid out as in
deploy/grafana/akguard.json (three a row); a time series panel draws each series as a line, a
stat panel shows its last value. Only the standard library is used.
"""

import json
import os
import sys
from xml.sax.saxutils import escape

WIDTH, HEIGHT, GAP = 360, 200, 12
COLOURS = ["#3274d9", "#e02f44", "#56a64b", "#ff9830", "#a352cc"]


def number(value):
    if value >= 1e6 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.3g}"


def panel_svg(panel, kind, x, y):
    title = escape(panel["title"])
    parts = [
        f'<g transform="translate({x},{y})">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" rx="4" fill="#181b1f" stroke="#2c3235"/>',
        f'<text x="10" y="20" fill="#d8d9da" font-size="13" font-weight="bold">{title}</text>',
    ]
    series = [
        (s["name"], [(float(t), float(v)) for t, v in s["values"]])
        for s in panel["series"]
        if s["values"]
    ]
    if kind == "stat":
        for i, (name, points) in enumerate(series):
            parts.append(
                f'<text x="{WIDTH / 2}" y="{100 + i * 40}" fill="#56a64b" font-size="36" '
                f'text-anchor="middle">{number(points[-1][1])}</text>'
            )
            parts.append(
                f'<text x="{WIDTH / 2}" y="{125 + i * 40}" fill="#8e8e8e" font-size="11" '
                f'text-anchor="middle">{escape(name)}</text>'
            )
    else:
        left, top, right, bottom = 50, 32, WIDTH - 10, HEIGHT - 34
        times = [t for _, points in series for t, _ in points]
        values = [v for _, points in series for _, v in points]
        t0, t1 = min(times), max(times)
        v1 = max(values + [0.0]) or 1.0
        for frac in (0.0, 0.5, 1.0):
            gy = bottom - frac * (bottom - top)
            parts.append(
                f'<line x1="{left}" y1="{gy:.1f}" x2="{right}" y2="{gy:.1f}" stroke="#2c3235"/>'
            )
            parts.append(
                f'<text x="{left - 4}" y="{gy + 4:.1f}" fill="#8e8e8e" font-size="10" '
                f'text-anchor="end">{number(frac * v1)}</text>'
            )
        parts.append(
            f'<text x="{right}" y="{bottom + 14}" fill="#8e8e8e" font-size="10" '
            f'text-anchor="end">{number(t1 - t0)} s</text>'
        )
        for i, (name, points) in enumerate(series):
            colour = COLOURS[i % len(COLOURS)]
            span = (t1 - t0) or 1.0
            line = " ".join(
                f"{left + (t - t0) / span * (right - left):.1f},"
                f"{bottom - v / v1 * (bottom - top):.1f}"
                for t, v in points
            )
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
            parts.append(
                f'<text x="{left + i * 160}" y="{HEIGHT - 8}" fill="{colour}" font-size="10">'
                f"{escape(name)}</text>"
            )
    parts.append("</g>")
    return "\n".join(parts)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().split("\n\n")[1])
    with open(sys.argv[1], encoding="utf-8") as f:
        panels = json.load(f)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "deploy/grafana/akguard.json"), encoding="utf-8") as f:
        kinds = {p["title"]: p["type"] for p in json.load(f)["panels"]}
    columns = 3
    rows = (len(panels) + columns - 1) // columns
    width = columns * (WIDTH + GAP) + GAP
    height = rows * (HEIGHT + GAP) + GAP + 28
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif">',
        f'<rect width="{width}" height="{height}" fill="#111217"/>',
        f'<text x="{GAP}" y="24" fill="#d8d9da" font-size="16">akguard '
        f"(deploy/grafana/akguard.json, panels from the end-to-end test's Prometheus)</text>",
    ]
    for i, panel in enumerate(panels):
        x = GAP + (i % columns) * (WIDTH + GAP)
        y = 36 + (i // columns) * (HEIGHT + GAP)
        body.append(panel_svg(panel, kinds.get(panel["title"], "timeseries"), x, y))
    body.append("</svg>")
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write("\n".join(body) + "\n")


if __name__ == "__main__":
    main()
