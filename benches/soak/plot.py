"""An SVG of the soak's series over time, written with the standard library alone: one panel
a series group (Envoy's resident memory, the VMs' linear memory, latency), time along the
bottom. `python3 plot.py SOAK.csv SOAK.svg [TITLE]` draws it again from the CSV."""

import csv
import sys
from xml.sax.saxutils import escape

WIDTH, PANEL_HEIGHT, LEFT, RIGHT, TOP, GAP = 760, 200, 64, 16, 28, 56
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def nice_max(value):
    """The smallest of 1, 2, 5 × 10^n at or above value (at least 1)."""
    step = 1.0
    while step * 10 < value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def panel(out, top, title, unit, times, series):
    """series: [(label, [value or None])]."""
    t_max = max(times[-1], 1e-9)
    values = [v for _, vs in series for v in vs if v is not None]
    v_max = nice_max(max(values) if values else 1.0)
    height = PANEL_HEIGHT
    right = WIDTH - RIGHT

    def x(t):
        return LEFT + (right - LEFT) * t / t_max

    def y(v):
        return top + height - height * v / v_max

    out.append(f'<text x="{LEFT}" y="{top - 8}" font-size="13">{escape(title)}</text>')
    out.append(f'<rect x="{LEFT}" y="{top}" width="{right - LEFT}" height="{height}" '
               'fill="none" stroke="#999"/>')
    for i in range(5):
        v = v_max * i / 4
        out.append(f'<line x1="{LEFT}" x2="{right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   'stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" font-size="11" '
                   f'text-anchor="end">{v:g}</text>')
    minutes = t_max >= 300
    for i in range(6):
        t = t_max * i / 5
        label = f"{t / 60:.0f}" if minutes else f"{t:.0f}"
        out.append(f'<text x="{x(t):.1f}" y="{top + height + 16}" font-size="11" '
                   f'text-anchor="middle">{label}</text>')
    out.append(f'<text x="{right}" y="{top + height + 32}" font-size="11" '
               f'text-anchor="end">{"minutes" if minutes else "seconds"}; {escape(unit)}</text>')
    for n, (label, vs) in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(times, vs) if v is not None)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                   f'points="{points}"/>')
        out.append(f'<text x="{LEFT + 8 + 190 * n}" y="{top + 14}" font-size="11" '
                   f'fill="{colour}">{escape(label)}</text>')


def write_svg(path, title, times, panels):
    """panels: [(title, unit, [(label, [value])])]; times in seconds."""
    height = TOP + len(panels) * (PANEL_HEIGHT + GAP) + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'font-family="sans-serif">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           f'<text x="{LEFT}" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    for n, (panel_title, unit, series) in enumerate(panels):
        panel(out, TOP + 18 + n * (PANEL_HEIGHT + GAP), panel_title, unit, times, series)
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def svg_from_csv(csv_path, svg_path, title):
    """The soak's three panels from its CSV."""
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))

    def column(name):
        return [float(r[name]) if r[name] else None for r in rows]

    write_svg(svg_path, title, column("t_s"), [
        ("Envoy resident memory", "MiB", [("Envoy RSS", column("envoy_rss_mib"))]),
        ("akguard VM linear memory (akguard.vm_memory_bytes samples)", "MiB",
         [("highest", column("vm_memory_max_mib")), ("lowest", column("vm_memory_min_mib"))]),
        ("Latency per bucket", "ms", [("p99", column("p99_ms")), ("p50", column("p50_ms"))]),
    ])


if __name__ == "__main__":
    svg_from_csv(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "akguard soak")
