"""The run report: one self-contained HTML page (inline SVG plots, no JavaScript, no network) built from the
manifest's counts, so it costs nothing at corpus scale."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence

from apache_beam.io.filesystems import FileSystems

from pipelines import layout

BAR = "#3b6ea5"
STYLE = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#1a7f37}.bad{color:#c62828}
svg text{font:12px system-ui,sans-serif}"""


def bar_chart(items: Sequence[tuple[str, float]], title: str, unit: str = "", fmt: str = "{:,.0f}") -> str:
    """A horizontal bar chart as inline SVG."""
    if not items:
        return f"<p><em>{html.escape(title)}: nothing to plot</em></p>"
    width, label_w, row_h = 760, 220, 20
    top = max(v for _, v in items) or 1
    height = row_h * len(items) + 30
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">']
    parts.append(f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>')
    for i, (label, value) in enumerate(items):
        y = 24 + i * row_h
        w = max(1.0, (width - label_w - 90) * value / top)
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{html.escape(label[:34])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}" fill="{BAR}"/>')
        parts.append(f'<text x="{label_w + w + 5:.1f}" y="{y + 13}">{html.escape(fmt.format(value))}{unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


def scatter_plot(points: Sequence[tuple[float, float, str]], title: str, x_label: str, y_label: str) -> str:
    """Labelled points with the y = x diagonal, as inline SVG (predicted vs measured)."""
    if not points:
        return f"<p><em>{html.escape(title)}: nothing to plot</em></p>"
    size, pad = 420, 50
    values = [v for x, y, _ in points for v in (x, y)]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.05 * span, hi + 0.05 * span

    def pos(v: float, flip: bool = False) -> float:
        frac = (v - lo) / (hi - lo)
        return pad + (1 - frac if flip else frac) * (size - 2 * pad)

    parts = [f'<svg width="{size}" height="{size + 20}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>',
             f'<line x1="{pos(lo)}" y1="{pos(lo, True)}" x2="{pos(hi)}" y2="{pos(hi, True)}" stroke="#bbb"/>',
             f'<text x="{size / 2}" y="{size - 10}" text-anchor="middle">{html.escape(x_label)} '
             f"({lo:.3f} … {hi:.3f})</text>",
             f'<text x="12" y="{size / 2}" transform="rotate(-90 12 {size / 2})" text-anchor="middle">'
             f"{html.escape(y_label)}</text>"]  # fmt: skip
    for x, y, label in points:
        parts.append(f'<circle cx="{pos(x):.1f}" cy="{pos(y, True):.1f}" r="4" fill="{BAR}"/>')
        parts.append(f'<text x="{pos(x) + 6:.1f}" y="{pos(y, True) - 4:.1f}">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stage_composition_section(out: str, stages: Sequence[str]) -> str:
    """Tokens by language / domain / education / length / source per stage, from the stage manifests."""
    parts = []
    for stage in stages:
        path = layout.stage_manifest_path(out, stage)
        if not FileSystems.exists(path):
            continue
        with FileSystems.open(path) as f:
            m = json.loads(f.read())
        t = m["totals"]
        parts.append(
            f"<h3>{html.escape(stage)} ({html.escape(m['recipe_id'])})</h3><p>{t['tokens']:,} tokens in {t['rows']:,} "
            f"rows, {t['files']} files ({t['upsampled_rows']:,} upsampled rows); budget {m['budget_tokens']:,}, "
            f"shortfall {m['shortfall_tokens']:,}</p>"
        )
        for name in ("lang", "domain", "edu", "length", "source"):
            items = sorted(m["tokens_by"].get(name, {}).items(), key=lambda kv: -kv[1])[:30]
            parts.append(bar_chart(items, f"{stage}: tokens by {name}"))
    return "\n".join(parts) or "<p><em>no stage manifests</em></p>"


def ablation_report_section(out: str) -> str:
    path = FileSystems.join(layout.ablation_dir(out), "results.json")
    if not FileSystems.exists(path):
        return "<p><em>no ablation run (python -m pipelines.mix --ablation)</em></p>"
    from pipelines.ablation import ablation_section

    with FileSystems.open(path) as f:
        return ablation_section(json.loads(f.read()))


def _select(counts: Sequence[Mapping], outcome: str, stage: str | None = None) -> list[tuple[str, float]]:
    rows = [
        (r["reason"], r["count"]) for r in counts if r["outcome"] == outcome and (stage is None or r["stage"] == stage)
    ]
    return sorted(rows, key=lambda kv: -kv[1])


def _table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{c:,}</td>' if isinstance(c, int) else f"<td>{html.escape(str(c))}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def dedup_curve_section(config_json: str) -> str:
    """The near-dedup banding of the run and its detection curve P(candidate | Jaccard)."""
    from curation.dedup.minhash import MinHashParams, detection_curve

    dedup = json.loads(config_json).get("dedup") or {}
    if not dedup.get("near", True):
        return "<p>near dedup off</p>"
    params = MinHashParams.from_mapping(dedup.get("minhash"))
    rows = [(f"{j:.2f}", f"{p:.4f}") for j, p in detection_curve(params)]
    verify = dedup.get("verify_jaccard")
    note = f"; candidates verified at true Jaccard ≥ {verify}" if verify is not None else ""
    head = (
        f"{params.bands} bands × {params.rows} rows ({params.num_perm} permutations): P(candidate | J) = "
        f"1-(1-J^{params.rows})^{params.bands}, steepest near J≈{params.threshold:.3f}{note}"
    )
    return f"<p>{html.escape(head)}</p>" + _table(rows, ["Jaccard", "P(candidate)"])


def render_report(
    manifest: Mapping, timings: Mapping[str, float], metrics: Mapping[str, int], out: str | None = None
) -> str:
    counts = manifest["counts"]
    totals = manifest["totals"]
    ok = manifest["balanced"]
    status = (
        f'<span class="ok">balanced: {totals["input"]:,} in = {totals["kept"]:,} kept + {totals["rejected"]:,} '
        f"rejected + {totals['duplicate']:,} duplicate</span>"
        if ok
        else f'<span class="bad">NOT balanced: {totals}</span>'
    )
    rejected = [(f"{r['stage']}:{r['reason']}", r["count"]) for r in counts if r["outcome"] == "rejected"]
    rejected.sort(key=lambda kv: -kv[1])
    edu = sorted(_select(counts, "edu_bucket"), key=lambda kv: kv[0])
    sections = [
        f"<h1>Curation run {html.escape(manifest['run_id'])}</h1>",
        f"<p>{status}<br>started {manifest['started_at']}, finished {manifest['finished_at']}, "
        f"schema {manifest['schema_version']}</p>",
        "<h2>Wall time per pipeline</h2>",
        _table([(k, f"{v:.1f} s") for k, v in timings.items()], ["pipeline", "wall time"]),
        "<h2>Where every document went</h2>",
        bar_chart([(k, totals[k]) for k in ("input", "kept", "rejected", "duplicate")], "documents"),
        bar_chart(_select(counts, "input", "read"), "input documents per source"),
        bar_chart(rejected, "rejections by stage:reason"),
        bar_chart(_select(counts, "duplicate"), "duplicates by method"),
        "<h2>Near-dedup detection curve</h2>",
        dedup_curve_section(manifest["config"]),
        "<h2>Languages of kept documents</h2>",
        bar_chart(_select(counts, "lang")[:40], "kept documents per language (ISO 639-3 + script)"),
        "<h2>Education value (annotator)</h2>",
        bar_chart(edu, "documents per rounded education score (0-5)"),
        bar_chart(_select(counts, "annotated") + _select(counts, "ok") + _select(counts, "failed"), "annotation rows"),
        "<h2>Stage shards</h2>",
        bar_chart(_select(counts, "tokens", "mix"), "Qwen tokens per stage", ""),
        bar_chart(_select(counts, "instances", "mix"), "instances per stage"),
        bar_chart(_select(counts, "bucket_tokens", "mix"), "tokens per stage:length bucket"),
        "<h2>Stage compositions</h2>",
        stage_composition_section(out, layout.STAGES) if out else "",
        "<h2>Mixture ablation</h2>",
        ablation_report_section(out) if out else "",
        "<h2>Counters</h2>",
        _table(sorted(metrics.items()), ["counter", "value"]),
        "<h2>Outputs</h2>",
        _table(sorted(manifest["outputs"].items()), ["output", "path"]),
        "<h2>Versions</h2>",
        _table(sorted(manifest["versions"].items()), ["component", "version"]),
    ]
    body = "\n".join(sections)
    head = f'<meta charset="utf-8"><title>Curation run report</title><style>{STYLE}</style>'
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def write_report(manifest: Mapping, timings: Mapping[str, float], metrics: Mapping[str, int], out: str) -> str:
    path = layout.report_path(out)
    with FileSystems.create(path) as f:
        f.write(render_report(manifest, timings, metrics, out).encode("utf-8"))
    return path
