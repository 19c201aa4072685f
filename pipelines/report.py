"""The run report: one self-contained HTML page (inline SVG plots, no JavaScript, no network) built from the
manifest's counts, so it costs nothing at corpus scale."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence

from apache_beam.io.filesystems import FileSystems

from pipelines import layout
from pipelines.atomic import write_atomic

BAR = "#3b6ea5"
BAR2 = "#e08a2c"
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
    parts = [
        f'<svg class="plot" data-plot="{_slug(title)}" width="{width}" height="{height}" role="img"'
        f' aria-label="{html.escape(title)}">'
    ]
    parts.append(f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>')
    for i, (label, value) in enumerate(items):
        y = 24 + i * row_h
        w = max(1.0, (width - label_w - 90) * value / top)
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{html.escape(label[:34])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row_h - 5}" fill="{BAR}"/>')
        parts.append(f'<text x="{label_w + w + 5:.1f}" y="{y + 13}">{html.escape(fmt.format(value))}{unit}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _slug(title: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())[:60]


def histogram(items: Sequence[tuple[str, float]], title: str, xlabel: str = "") -> str:
    """A vertical-bar histogram as inline SVG; ``items`` are (bin label, count) in bin order."""
    if not items:
        return f"<p><em>{html.escape(title)}: nothing to plot</em></p>"
    width, height, left, bottom, top_pad = 760, 260, 50, 40, 30
    top = max(v for _, v in items) or 1
    slot = (width - left - 10) / len(items)
    parts = [
        f'<svg class="plot" data-plot="{_slug(title)}" width="{width}" height="{height}" role="img"'
        f' aria-label="{html.escape(title)}">',
        f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#888"/>',
    ]
    for i, (label, value) in enumerate(items):
        h = max(1.0, (height - bottom - top_pad) * value / top)
        x = left + i * slot
        y = height - bottom - h
        bar = f'x="{x + 2:.1f}" y="{y:.1f}" width="{max(1.0, slot - 4):.1f}" height="{h:.1f}" fill="{BAR}"'
        parts.append(f"<rect {bar}><title>{html.escape(label)}: {value:,.0f}</title></rect>")
        parts.append(f'<text x="{x + slot / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{value:,.0f}</text>')
        anchor = f'x="{x + slot / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle"'
        parts.append(f"<text {anchor}>{html.escape(label[:12])}</text>")
    if xlabel:
        parts.append(f'<text x="{width / 2:.0f}" y="{height - 6}" text-anchor="middle">{html.escape(xlabel)}</text>')
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


def paired_bars(items: Sequence[tuple[str, float, float | None]], title: str, first: str, second: str) -> str:
    """Two bars per label (e.g. tokens written vs the stage's token budget) as inline SVG."""
    if not items:
        return f"<p><em>{html.escape(title)}: nothing to plot</em></p>"
    width, label_w, row_h = 760, 120, 34
    top = max(max(a, b or 0) for _, a, b in items) or 1
    height = row_h * len(items) + 50
    parts = [
        f'<svg class="plot" data-plot="{_slug(title)}" width="{width}" height="{height}" role="img"'
        f' aria-label="{html.escape(title)}">',
        f'<text x="0" y="14" font-weight="bold">{html.escape(title)}</text>',
        f'<rect x="{label_w}" y="22" width="10" height="10" fill="{BAR}"/>',
        f'<text x="{label_w + 14}" y="31">{html.escape(first)}</text>',
        f'<rect x="{label_w + 160}" y="22" width="10" height="10" fill="{BAR2}"/>'
        f'<text x="{label_w + 174}" y="31">{html.escape(second)}</text>',
    ]
    scale = (width - label_w - 120) / top
    for i, (label, a, b) in enumerate(items):
        y = 42 + i * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 18}" text-anchor="end">{html.escape(label[:16])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(1.0, a * scale):.1f}" height="13" fill="{BAR}"/>')
        parts.append(f'<text x="{label_w + max(1.0, a * scale) + 5:.1f}" y="{y + 11}">{a:,.0f}</text>')
        if b is not None:
            parts.append(
                f'<rect x="{label_w}" y="{y + 15}" width="{max(1.0, b * scale):.1f}" height="13" fill="{BAR2}"/>'
            )
            parts.append(f'<text x="{label_w + max(1.0, b * scale) + 5:.1f}" y="{y + 26}">{b:,.0f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _bins(counts: Sequence[Mapping], outcome: str, order: Sequence[str] | None = None) -> list[tuple[str, float]]:
    """(bin, count) rows of one outcome, in ``order`` (or sorted by the bin's leading number)."""
    rows = {r["reason"]: r["count"] for r in counts if r["outcome"] == outcome}
    if order is not None:
        return [(b, rows[b]) for b in order if b in rows] + [(b, v) for b, v in rows.items() if b not in order]

    def lead(label: str) -> tuple[float, str]:
        head = label.split("-")[0].rstrip("+")
        try:
            return float(head), label
        except ValueError:
            return float("inf"), label

    return sorted(rows.items(), key=lambda kv: lead(kv[0]))


def token_budgets(counts: Sequence[Mapping], config: Mapping) -> list[tuple[str, float, float | None]]:
    """(stage, tokens written, token budget or None) for every mixture stage (budget keys of ``mix.stages[]``)."""
    written = {r["reason"]: r["count"] for r in counts if r["outcome"] == "tokens" and r["stage"] == "mix"}
    rows = []
    stages = (config.get("mix") or {}).get("stages") or {}
    specs = (
        [{"name": k, **(v or {})} for k, v in stages.items() if v is not None]
        if isinstance(stages, Mapping)
        else stages
    )
    for spec in specs:
        budget = next((spec[k] for k in ("token_budget", "budget_tokens", "tokens") if spec.get(k) is not None), None)
        rows.append((spec["name"], float(written.get(spec["name"], 0)), None if budget is None else float(budget)))
    return rows


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


def _code_section(counts: Sequence[Mapping]) -> list[str]:
    """Kept source files per programming language and licence, and the code filters' rejections (code sources only)."""
    languages = _select(counts, "code_language")
    if not languages:
        return []
    return [
        "<h2>Source code</h2>",
        bar_chart(languages[:40], "kept source files per programming language"),
        bar_chart(_select(counts, "rejected", "code"), "source files rejected by the code filters"),
        bar_chart(_select(counts, "code_license")[:20], "kept source files per licence (SPDX)"),
    ]


def _pdf_section(counts: Sequence[Mapping]) -> list[str]:
    """PDF pages by how their text was obtained, and OCR pages per Tesseract packs, script and decision source."""
    methods = _select(counts, "pages", "extract")
    if not methods:
        return []
    return [
        "<h2>PDF pages and OCR</h2>",
        bar_chart(methods, "PDF pages by method (text layer, OCR backend, failed ...)"),
        bar_chart(_select(counts, "ocr_langs", "extract")[:40], "OCR pages per OCR language (Tesseract packs)"),
        bar_chart(_select(counts, "ocr_script", "extract"), "OCR pages per detected script (ISO 15924)"),
        bar_chart(
            _select(counts, "ocr_source", "extract"),
            "how each OCR page's language was chosen (declared, PDF text layer, detected, document's previous page)",
        ),
    ]


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
    manifest: Mapping,
    timings: Mapping[str, float],
    metrics: Mapping[str, int],
    stages: Mapping | None = None,
    out: str | None = None,
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
        _table(_stage_rows(timings, stages), ["pipeline", "wall time", "status", "attempts"]),
        "<h2>Where every document went</h2>",
        bar_chart([(k, totals[k]) for k in ("input", "kept", "rejected", "duplicate")], "documents"),
        bar_chart(_select(counts, "input", "read"), "input documents per source"),
        bar_chart(rejected, "rejections by stage:reason"),
        bar_chart(_select(counts, "duplicate"), "duplicates by method"),
        histogram(_bins(counts, "cluster_size"), "near/exact duplicate clusters by size", "documents per cluster"),
        "<h2>Near-dedup detection curve</h2>",
        dedup_curve_section(manifest["config"]),
        "<h2>Languages of kept documents</h2>",
        bar_chart(_select(counts, "lang")[:40], "kept documents per language (ISO 639-3 + script)"),
        histogram(_bins(counts, "lang_score"), "language ID score of kept documents", "lang_score"),
        *_code_section(counts),
        *_pdf_section(counts),
        "<h2>Education value (annotator)</h2>",
        histogram(edu, "documents per rounded education score (0-5)", "edu score"),
        bar_chart(_select(counts, "label")[:40], "annotation labels (task:label)"),
        bar_chart(_select(counts, "annotated") + _select(counts, "ok") + _select(counts, "failed"), "annotation rows"),
        "<h2>Stage shards</h2>",
        paired_bars(
            token_budgets(counts, json.loads(manifest["config"])), "stage token budgets", "tokens written", "budget"
        ),
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


def _stage_rows(timings: Mapping[str, float], stages: Mapping | None) -> list[tuple[str, str, str, object]]:
    rows = []
    for name, seconds in timings.items():
        outcome = (stages or {}).get(name)
        status = getattr(outcome, "status", "ran")
        attempts = getattr(outcome, "attempts", 1)
        rows.append((name, f"{seconds:.1f} s", status, attempts if status == "ran" else "-"))
    return rows


def write_report(
    manifest: Mapping, timings: Mapping[str, float], metrics: Mapping[str, int], out: str, stages: Mapping | None = None
) -> str:
    return write_atomic(layout.report_path(out), render_report(manifest, timings, metrics, stages, out).encode("utf-8"))
