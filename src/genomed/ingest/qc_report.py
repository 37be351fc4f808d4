"""The QC report of an ingest: JSON for machines and the catalog, one self-contained HTML page for people.

The HTML page carries its plots as base64 PNGs (matplotlib, Agg backend) and no external CSS or
JavaScript, so it can be attached to a case, e-mailed to a laboratory, or opened years later
without a server. Plots are chosen to stay readable from a trio to thousands of samples: bars per
sample up to :data:`BAR_LIMIT` samples, sorted dot plots beyond; every plot draws its thresholds.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, select_autoescape

from genomed.ingest.qc import QCResult, SampleQC

BAR_LIMIT = 60
_COLOURS = {"pass": "#2e7d32", "warn": "#ef6c00", "fail": "#c62828", "n/a": "#757575"}

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
 body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #222; }
 h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
 table { border-collapse: collapse; font-size: 0.9em; }
 th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
 th { background: #f3f3f3; }
 .status { font-weight: bold; color: white; padding: 0.1em 0.5em; border-radius: 0.3em; }
 {% for name, colour in colours.items() %}.s-{{ name | replace('/', '') }} { background: {{ colour }}; }
 {% endfor %}
 .num { text-align: right; font-variant-numeric: tabular-nums; }
 .reason { color: #444; font-size: 0.85em; }
 img { max-width: 100%; }
 dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
 dt { font-weight: bold; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>Overall: <span class="status s-{{ result.status | replace('/', '') }}">{{ result.status }}</span>
 — {{ result.samples | length }} sample(s), {{ result.records }} normalised records.</p>
{% if provenance %}
<dl>{% for key, value in provenance.items() %}<dt>{{ key }}</dt><dd>{{ value }}</dd>{% endfor %}</dl>
{% endif %}

<h2>Samples</h2>
<table>
<tr><th>sample</th><th>status</th><th>variants</th><th>SNV / ins / del / other</th><th>Ti/Tv</th>
<th>het/hom</th><th>call rate</th><th>mean DP</th><th>mean GQ</th><th>chrX het</th><th>chrY calls</th>
<th>sex (inferred)</th><th>reasons</th></tr>
{% for s in result.samples %}
<tr>
 <td>{{ s.sample }}</td>
 <td><span class="status s-{{ s.status | replace('/', '') }}">{{ s.status }}</span></td>
 <td class="num">{{ s.metrics.variants }}</td>
 <td class="num">{{ s.metrics.by_type.snv }} / {{ s.metrics.by_type.insertion }} / {{ s.metrics.by_type.deletion }}
  / {{ s.metrics.by_type.mnv_complex }}</td>
 <td class="num">{{ fmt(s.metrics.ti_tv) }}</td>
 <td class="num">{{ fmt(s.metrics.het_hom_ratio) }}</td>
 <td class="num">{{ fmt(s.metrics.call_rate, 3) }}</td>
 <td class="num">{{ fmt(s.metrics.mean_dp_nonref, 1) }}</td>
 <td class="num">{{ fmt(s.metrics.mean_gq_nonref, 1) }}</td>
 <td class="num">{{ fmt(s.metrics.chrx_het_rate) }}</td>
 <td class="num">{{ s.metrics.chry_nonref }}</td>
 <td>{{ s.metrics.inferred_sex }}</td>
 <td class="reason">{% for c in s.checks if c.status != 'pass' %}<div><b>{{ c.metric }}</b> ({{ c.status }}):
  {{ c.reason }}</div>{% endfor %}</td>
</tr>
{% endfor %}
</table>

{% if result.trios %}
<h2>Trios</h2>
<table>
<tr><th>child</th><th>father</th><th>mother</th><th>status</th><th>informative sites</th><th>errors</th>
<th>of which de novo</th><th>error rate</th><th>reason</th></tr>
{% for t in result.trios %}
<tr><td>{{ t.child }}</td><td>{{ t.father }}</td><td>{{ t.mother }}</td>
 <td><span class="status s-{{ t.status | replace('/', '') }}">{{ t.status }}</span></td>
 <td class="num">{{ t.informative_sites }}</td><td class="num">{{ t.errors }}</td><td class="num">{{ t.de_novo }}</td>
 <td class="num">{{ fmt(t.error_rate, 4) }}</td><td class="reason">{{ t.reason }}</td></tr>
{% endfor %}
</table>
{% endif %}

<h2>Plots</h2>
{% for caption, png in plots %}
<figure><img alt="{{ caption }}" src="data:image/png;base64,{{ png }}"><figcaption>{{ caption }}</figcaption></figure>
{% endfor %}

<h2>Thresholds</h2>
<dl>{% for key, value in thresholds.items() %}<dt>{{ key }}</dt><dd>{{ value }}</dd>{% endfor %}</dl>
</body>
</html>
"""


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def qc_report_json(result: QCResult, *, provenance: Mapping[str, Any] | None = None) -> str:
    """The QC result as JSON, with the histograms and the provenance of the run."""
    import json

    data = result.to_dict(histograms=True)
    if provenance:
        data["provenance"] = dict(provenance)
    return json.dumps(data, indent=2)


def qc_report_html(result: QCResult, *, title: str = "genomed — ingestion QC",
                   provenance: Mapping[str, Any] | None = None) -> str:
    """A self-contained HTML page: summary tables, reasons for every warn/fail, and the plots."""
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(_TEMPLATE)
    thresholds = {k: v for k, v in result.to_dict()["thresholds"].items()}
    return template.render(title=title, result=result, provenance=dict(provenance or {}), plots=_plots(result),
                           thresholds=thresholds, colours=_COLOURS, fmt=_fmt)


def write_qc_report(result: QCResult, directory: Path, *, stem: str = "qc",
                    provenance: Mapping[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``<stem>.json`` and ``<stem>.html`` into ``directory``; their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, html_path = directory / f"{stem}.json", directory / f"{stem}.html"
    json_path.write_text(qc_report_json(result, provenance=provenance), encoding="utf-8")
    html_path.write_text(qc_report_html(result, provenance=provenance), encoding="utf-8")
    return json_path, html_path


# ----------------------------------------------------------------------------- plots

def _plots(result: QCResult) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server; the report embeds PNGs
    samples = result.samples
    if not samples:
        return []
    th = result.thresholds
    plots = []
    low, high = th.titv_range
    plots.append(("Ti/Tv per sample (expected range dashed)",
                  _per_sample(samples, "ti_tv", "Ti/Tv", [(low, "warn"), (high, "warn")])))
    plots.append(("Het/hom-alt ratio per sample (autosomes)",
                  _per_sample(samples, "het_hom_ratio", "het / hom-alt", [(th.het_hom[0], "warn"),
                                                                          (th.het_hom[1], "warn")])))
    if any(s.metrics["call_rate"] is not None for s in samples):
        plots.append(("Call rate per sample",
                      _per_sample(samples, "call_rate", "call rate", [(th.call_rate_warn, "warn"),
                                                                     (th.call_rate_fail, "fail")])))
    plots.append(("Sex check: chrX heterozygosity against chrY non-reference calls", _sex_plot(result)))
    cohort = result.histograms.get("cohort", {})
    for key, label in (("dp", "DP"), ("gq", "GQ")):
        counts = cohort.get(key, [])
        if sum(counts) > 0:
            plots.append((f"{label} of non-reference genotypes, all samples (last bin: 100 and above)",
                          _histogram(np.array(counts, dtype=np.int64), label)))
    return plots


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _per_sample(samples: Sequence[SampleQC], metric: str, label: str, lines: Sequence[tuple[float, str]]) -> str:
    import matplotlib.pyplot as plt

    def status(sample: SampleQC) -> str:  # colour by this metric's own check, not the sample's overall status
        return next((c.status for c in sample.checks if c.metric == metric), sample.status)

    values = [(s.sample, s.metrics.get(metric), status(s)) for s in samples]
    known = [(name, float(v), st) for name, v, st in values if v is not None]
    fig, ax = plt.subplots(figsize=(min(12, 2 + 0.25 * max(len(known), 8)) if len(known) <= BAR_LIMIT else 10, 3.2))
    if not known:
        ax.text(0.5, 0.5, f"no sample has a {label}", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return _png(fig)
    if len(known) <= BAR_LIMIT:
        ax.bar(range(len(known)), [v for _, v, _ in known], color=[_COLOURS[st] for _, _, st in known])
        ax.set_xticks(range(len(known)), [name for name, _, _ in known], rotation=90, fontsize=7)
    else:
        ordered = sorted(known, key=lambda item: item[1])
        ax.scatter(range(len(ordered)), [v for _, v, _ in ordered], s=4, c=[_COLOURS[st] for _, _, st in ordered])
        ax.set_xlabel(f"{len(ordered)} samples, sorted")
    for value, line_status in lines:
        ax.axhline(value, color=_COLOURS[line_status], linestyle="--", linewidth=1)
    ax.set_ylabel(label)
    return _png(fig)


def _sex_plot(result: QCResult) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    colours = {"male": "#1565c0", "female": "#ad1457", "unknown": "#757575"}
    for sex, colour in colours.items():
        points = [(s.metrics["chrx_het_rate"], s.metrics["chry_nonref"]) for s in result.samples
                  if s.metrics["inferred_sex"] == sex and s.metrics["chrx_het_rate"] is not None]
        if points:
            ax.scatter([p[0] for p in points], [p[1] for p in points], s=12, c=colour, label=sex)
    th = result.thresholds
    ax.axvline(th.x_het_male_max, color="#1565c0", linestyle="--", linewidth=1)
    ax.axvline(th.x_het_female_min, color="#ad1457", linestyle="--", linewidth=1)
    ax.set_xlabel("chrX heterozygosity (outside PARs)")
    ax.set_ylabel("chrY non-reference calls")
    ax.set_xlim(-0.02, 1.02)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    return _png(fig)


def _histogram(counts: np.ndarray[Any, Any], label: str) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(np.arange(len(counts)), counts, width=1.0, color="#455a64")
    ax.set_xlabel(label)
    ax.set_ylabel("genotypes")
    return _png(fig)
