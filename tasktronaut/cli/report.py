"""Run reports: one self-contained HTML page (or JSON) that says what a run did.

The page needs nothing at view time: styles, the script and the pictures (the graph coloured
by state, with a shape per kind of node, and a timeline of attempts per worker) are inline
SVG, CSS and JavaScript. Below them, a table gives each node's state, attempts, duration and
error, its traceback folded; then the run's arguments and settings. The script only adds
comforts (filtering the table by state, a click on a node shows its row); the page reads the
same without it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from html import escape
from pathlib import Path

from tasktronaut.atomic import atomic
from tasktronaut.cli.errors import CliError, describe
from tasktronaut.engine.facts import Attempt, NodeRecord, RunRecord

FORMATS = ("html", "json")

COLORS = {
    "ready": "#98fb98",
    "already ready": "#cdeccd",
    "failed": "#ff6347",
    "blocked": "#ffa500",
    "not ready": "#ffd27f",
    "cancelled": "#a9a9a9",
    "skipped": "#dcdcdc",
    "pending": "#f0f0f0",
    "retried": "#f4a460",
}
"""Fill colour per node state (and per attempt outcome in the timeline)."""

MAX_DRAWN = 1500
"""The largest graph the report draws; a larger one is only listed in the table."""

_W, _H, _GAP_X, _GAP_Y, _PAD = 170, 34, 44, 14, 16
_LANE, _TIMELINE_W, _LABEL_W = 26, 860, 130


def report_format(path: Path | str, fmt: str | None = None) -> str:
    """The format to write: ``fmt`` if given, else the path's suffix (``.json``: JSON)."""
    if fmt is not None:
        return fmt
    return "json" if str(path).lower().endswith(".json") else "html"


def write_report(record: RunRecord, path: Path | str, fmt: str | None = None) -> Path:
    """Write the report of ``record`` to ``path`` (atomically) and return the path."""
    target = Path(path)
    text = record.to_json() if report_format(target, fmt) == "json" else to_html(record)
    with atomic(target) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return target


def save_report(record: RunRecord, path: Path, fmt: str | None = None) -> Path:
    """Write a run report; a path that cannot be written is one usage error."""
    try:
        return write_report(record, path, fmt)
    except OSError as e:
        raise CliError(f"cannot write the report {path}: {describe(e)}") from e


def to_html(record: RunRecord) -> str:
    """The report of ``record`` as one self-contained HTML page."""
    outcome = "ready" if record.ready else "not ready"
    title = f"{record.root}: {outcome}"
    parts = [
        f"<h1>{escape(record.root)} <span class='badge' style='background:"
        f"{COLORS['ready' if record.ready else 'failed']}'>{outcome}</span></h1>",
        _overview(record),
        "<h2>Graph</h2>", _legend(), _graph_svg(record.nodes),
        "<h2>Timeline</h2>", _timeline_svg(record),
        "<h2>Nodes</h2>", _filters(record), _table(record.nodes),
        "<h2>Arguments</h2>", _pairs(record.arguments),
        "<h2>Settings</h2>", _pairs(record.settings),
    ]
    data = json.dumps({"nodes": len(record.nodes), "run": record.run_id}).replace("</", "<\\/")
    return _PAGE.format(title=escape(title), css=_CSS, body="\n".join(parts), data=data,
                        script=_SCRIPT)


def _overview(record: RunRecord) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.start))
    rows = [("Run", record.run_id), ("Process identifier", record.identifier or "-"),
            ("Started", started), ("Elapsed", f"{record.seconds:.3f}s"),
            ("Stopped early", record.stopped or "no")]
    counts = " ".join(
        f"<span class='badge' style='background:{COLORS.get(name, '#eee')}'>"
        f"{escape(name)}: {count}</span>"
        for name, count in record.totals.items() if count and name not in ("total", "ran"))
    rows_html = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    return (f"<table class='pairs'>{rows_html}<tr><th>Nodes</th><td>"
            f"{record.totals['total']} ({record.totals['ran']} ran) {counts}</td></tr></table>")


def _legend() -> str:
    states = [s for s in COLORS if s != "retried"]
    return "<p class='legend'>" + " ".join(
        f"<span class='badge' style='background:{COLORS[s]}'>{s}</span>" for s in states
    ) + (" &nbsp; shapes: task: box, step: rounded box, collection: stacked boxes, "
         "external: ellipse, process: hexagon; a blocked node has a dashed outline</p>")


def _layout(nodes: Sequence[NodeRecord]) -> dict[str, tuple[int, int]]:
    """Column (requirements left of their dependents) and row of each node."""
    level: dict[str, int] = {}
    for node in nodes:  # the record lists requirements first
        level[node.name] = 1 + max((level[r] for r in node.requires if r in level), default=-1)
    rows: dict[int, int] = {}
    out = {}
    for node in nodes:
        column = level[node.name]
        out[node.name] = (column, rows.get(column, 0))
        rows[column] = rows.get(column, 0) + 1
    return out


def _shape(kind: str, x: int, y: int, fill: str, dashed: bool) -> str:
    w, h = _W, _H
    style = f"fill='{fill}' stroke='#333'" + (" stroke-dasharray='5 3'" if dashed else "")
    if kind == "step":
        return f"<rect x='{x}' y='{y}' width='{w}' height='{h}' rx='12' {style}/>"
    if kind == "collection":
        return (f"<rect x='{x + 4}' y='{y - 4}' width='{w}' height='{h}' fill='#fff' "
                f"stroke='#333'/><rect x='{x}' y='{y}' width='{w}' height='{h}' {style}/>")
    if kind == "external":
        return f"<ellipse cx='{x + w / 2}' cy='{y + h / 2}' rx='{w / 2}' ry='{h / 2}' {style}/>"
    if kind == "process":
        points = (f"{x + 12},{y} {x + w - 12},{y} {x + w},{y + h / 2} {x + w - 12},{y + h} "
                  f"{x + 12},{y + h} {x},{y + h / 2}")
        return f"<polygon points='{points}' {style}/>"
    return f"<rect x='{x}' y='{y}' width='{w}' height='{h}' {style}/>"


def _graph_svg(nodes: Sequence[NodeRecord]) -> str:
    if len(nodes) > MAX_DRAWN:
        return (f"<p>{len(nodes)} nodes are more than a picture can show (at most "
                f"{MAX_DRAWN} are drawn): see the table of nodes below.</p>")
    place = _layout(nodes)
    where = {name: (_PAD + c * (_W + _GAP_X), _PAD + r * (_H + _GAP_Y))
             for name, (c, r) in place.items()}
    width = max((x for x, _ in where.values()), default=0) + _W + 2 * _PAD
    height = max((y for _, y in where.values()), default=0) + _H + 2 * _PAD
    edges = []
    for node in nodes:
        x1, y1 = where[node.name]
        for req in node.requires:
            if req in where:
                x0, y0 = where[req]
                a, b = (x0 + _W, y0 + _H // 2), (x1, y1 + _H // 2)
                mid = (a[0] + b[0]) / 2
                edges.append(f"<path d='M{a[0]},{a[1]} C{mid},{a[1]} {mid},{b[1]} {b[0]},{b[1]}'"
                             " class='edge' marker-end='url(#arrow)'/>")
    shapes = []
    for node in nodes:
        x, y = where[node.name]
        label = node.name if len(node.name) <= 26 else node.name[:25] + "…"
        shapes.append(
            f"<g class='node' data-name='{escape(node.name)}' data-state='{node.state}'>"
            f"<title>{escape(node.name)}: {node.state}</title>"
            f"{_shape(node.kind, x, y, COLORS.get(node.state, '#eee'), node.state == 'blocked')}"
            f"<text x='{x + _W / 2}' y='{y + _H / 2 + 4}'>{escape(label)}</text></g>")
    return (f"<div class='scroll'><svg id='graph' width='{width}' height='{height}' "
            f"xmlns='http://www.w3.org/2000/svg'><defs><marker id='arrow' viewBox='0 0 10 10' "
            "refX='10' refY='5' markerWidth='7' markerHeight='7' orient='auto-start-reverse'>"
            "<path d='M0,0 L10,5 L0,10 z' fill='#555'/></marker></defs>"
            + "".join(edges) + "".join(shapes) + "</svg></div>")


def _timeline_svg(record: RunRecord) -> str:
    attempts = [(n, a) for n in record.nodes for a in n.attempts]
    if not attempts:
        return "<p>No action ran in this run.</p>"
    workers = sorted({a.worker for _, a in attempts}, key=lambda w: (w != "MainThread", w))
    span = max(record.seconds, max(a.end for _, a in attempts) - record.start, 1e-6)
    scale = _TIMELINE_W / span
    bars = []
    for index, worker in enumerate(workers):
        y = _PAD + index * _LANE
        bars.append(f"<text class='lane' x='{_LABEL_W - 6}' y='{y + 15}'>{escape(worker)}</text>")
    for node, attempt in attempts:
        y = _PAD + workers.index(attempt.worker) * _LANE
        x = _LABEL_W + max(attempt.start - record.start, 0.0) * scale
        bars.append(_bar(node, attempt, x, y, max(attempt.seconds * scale, 2.0)))
    height = 2 * _PAD + len(workers) * _LANE + 14
    axis = (f"<text x='{_LABEL_W}' y='{height - 4}'>0s</text><text class='lane' "
            f"x='{_LABEL_W + _TIMELINE_W}' y='{height - 4}'>{span:.3f}s</text>")
    return (f"<div class='scroll'><svg id='timeline' width='{_LABEL_W + _TIMELINE_W + _PAD}' "
            f"height='{height}' xmlns='http://www.w3.org/2000/svg'>" + "".join(bars) + axis
            + "</svg></div>")


def _bar(node: NodeRecord, attempt: Attempt, x: float, y: float, width: float) -> str:
    tip = f"{node.name}, attempt {attempt.number}: {attempt.outcome}, {attempt.seconds:.3f}s"
    if attempt.error:
        tip += f" ({attempt.error})"
    return (f"<rect class='attempt' data-name='{escape(node.name)}' x='{x:.1f}' y='{y}' "
            f"width='{width:.1f}' height='{_LANE - 6}' "
            f"fill='{COLORS.get(attempt.outcome, '#ccc')}' stroke='#333'>"
            f"<title>{escape(tip)}</title></rect>")


def _filters(record: RunRecord) -> str:
    states = [s for s, n in record.totals.items() if n and s not in ("total", "ran")]
    buttons = "".join(f"<button data-filter='{s}'>{s}</button>" for s in states)
    return f"<p class='filters'><button data-filter=''>all</button>{buttons}</p>"


def _table(nodes: Sequence[NodeRecord]) -> str:
    rows = []
    for node in nodes:
        error = ""
        if node.error:
            error = escape(node.error)
            if node.traceback:
                error = (f"<details><summary>{error}</summary><pre>{escape(node.traceback)}"
                         "</pre></details>")
        waits = f"waits for {escape(', '.join(node.blocked_by))}" if node.blocked_by else ""
        rows.append(
            f"<tr class='row' data-state='{node.state}' id='node-{_anchor(node.name)}'>"
            f"<td class='name'>{escape(node.name)}</td><td>{node.kind}</td>"
            f"<td><span class='badge' style='background:{COLORS.get(node.state, '#eee')}'>"
            f"{node.state}</span> {waits}</td><td>{len(node.attempts)}</td>"
            f"<td>{f'{node.seconds:.3f}s' if node.attempts else ''}</td><td>{error}</td></tr>")
    return ("<table class='nodes'><thead><tr><th>Node</th><th>Kind</th><th>State</th>"
            "<th>Attempts</th><th>Time</th><th>Error</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _anchor(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name)


def _pairs(values: dict[str, object]) -> str:
    if not values:
        return "<p>None.</p>"
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td><code>{escape(json.dumps(v))}</code>"
                   "</td></tr>" for k, v in values.items())
    return f"<table class='pairs'>{rows}</table>"


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ddd}
.badge{display:inline-block;padding:1px 7px;border-radius:8px;border:1px solid #999;
font-size:.85em}
.scroll{overflow:auto;max-width:100%;border:1px solid #eee}
svg text{font-size:12px;text-anchor:middle;font-family:system-ui,sans-serif}
svg text.lane{text-anchor:end}
.edge{fill:none;stroke:#777;stroke-width:1.2}
.node{cursor:pointer}
table{border-collapse:collapse}td,th{padding:3px 8px;text-align:left;vertical-align:top}
table.nodes tr:nth-child(even){background:#fafafa}
table.nodes tr.hit{outline:2px solid #333}
pre{font-size:.8em;white-space:pre-wrap;margin:.3em 0}
.filters button{margin-right:.3em}
"""

_SCRIPT = """
(function () {
  var rows = document.querySelectorAll("tr.row");
  document.querySelectorAll(".filters button").forEach(function (button) {
    button.addEventListener("click", function () {
      var want = button.getAttribute("data-filter");
      rows.forEach(function (row) {
        row.style.display = !want || row.getAttribute("data-state") === want ? "" : "none";
      });
    });
  });
  document.querySelectorAll("g.node, rect.attempt").forEach(function (shape) {
    shape.addEventListener("click", function () {
      var name = shape.getAttribute("data-name");
      rows.forEach(function (row) {
        var hit = row.querySelector(".name").textContent === name;
        row.classList.toggle("hit", hit);
        if (hit) { row.scrollIntoView({block: "center"}); }
      });
    });
  });
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var marker = document.createElement("div");
  marker.id = "report-ready";
  marker.setAttribute("data-nodes", String(data.nodes));
  marker.setAttribute("data-shown", String(document.querySelectorAll("g.node").length));
  marker.setAttribute("data-rows", String(rows.length));
  document.body.appendChild(marker);
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body>
{body}
<script type="application/json" id="report-data">{data}</script>
<script>
window.addEventListener("error", function (e) {{
  var box = document.createElement("div"); box.id = "report-error";
  box.textContent = String(e.message); document.body.appendChild(box);
}});
{script}
</script>
</body></html>
"""
