"""A single self-contained HTML page per run: config, metrics and figures.

Figures are embedded as base64 data URIs, styles are inline and nothing is loaded from
the network, so ``report.html`` can be moved, mailed or archived on its own. A tiny
inline script records, once the page has loaded, how many images failed to decode and
how many script errors occurred, in the ``data-*`` attributes of the element
``#nd-render-check`` (used by the tests; it never logs to the console).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .. import __version__
from .._validation import check_type
from ..exceptions import DataFormatError, DataNotFoundError

REPORT_NAME = "report.html"
FIGURE_MIME = {".png": "image/png", ".svg": "image/svg+xml"}

_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em;border-bottom:2px solid #444;padding-bottom:.2em}
h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ccc}
h3{font-size:1.05em;margin-bottom:.3em}
table{border-collapse:collapse;margin:.4em 0 1em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .7em;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f2f2f2}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.8em;overflow-x:auto;font-size:.85em}
figure{margin:1em 0;text-align:center}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#555;margin-top:.3em}
.meta{color:#666;font-size:.85em}
.notes{white-space:pre-wrap}
"""

# In <head>, so that it sees every error of the page: counts script and resource errors,
# then, once everything has loaded, images that failed to decode.
_CHECK_SCRIPT = """
(function () {
  var errors = 0;
  window.addEventListener("error", function () { errors += 1; }, true);
  window.addEventListener("load", function () {
    var imgs = document.images, broken = 0;
    for (var i = 0; i < imgs.length; i++) {
      if (!imgs[i].complete || imgs[i].naturalWidth === 0) { broken += 1; }
    }
    var mark = document.getElementById("nd-render-check");
    mark.setAttribute("data-images", String(imgs.length));
    mark.setAttribute("data-broken", String(broken));
    mark.setAttribute("data-errors", String(errors));
    mark.setAttribute("data-status", "loaded");
  });
})();
"""


def to_plain(value: Any) -> Any:
    """Convert a config or metrics value to plain YAML/JSON types.

    Paths become strings, numpy scalars and arrays Python numbers and lists, tuples
    and sets lists, dataclasses dicts; other objects their ``str``.
    """
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {f: to_plain(getattr(value, f)) for f in value.__dataclass_fields__}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the config as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(to_plain(config), sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fmt(value: Any) -> str:
    """Short human-readable text for a metric value."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, list):
        shown = ", ".join(_fmt(v) for v in value[:8])
        more = f", ... ({len(value)} values)" if len(value) > 8 else ""
        return f"[{shown}{more}]"
    return str(value)


def _flatten(metrics: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, prefix=name + ".")
        else:
            yield name, value


def _table(rows: Sequence[tuple[str, Any]]) -> str:
    body = []
    for name, value in rows:
        cls = ' class="num"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        body.append(f"<tr><th>{html.escape(name)}</th><td{cls}>{html.escape(_fmt(value))}</td></tr>")
    return "<table>\n" + "\n".join(body) + "\n</table>"


def _metrics_html(metrics: Mapping[str, Any]) -> str:
    """Top-level scalars in a summary table, then one table per nested section."""
    plain = to_plain(metrics)
    scalars = [(k, v) for k, v in plain.items() if not isinstance(v, dict)]
    parts = [_table(scalars)] if scalars else []
    for key, value in plain.items():
        if isinstance(value, dict):
            rows = list(_flatten(value))
            parts.append(f"<h3>{html.escape(key)}</h3>\n" + (_table(rows) if rows else "<p>(empty)</p>"))
    return "\n".join(parts) if parts else "<p>No metrics.</p>"


def _resolve_figure(run_dir: Path, figure: str | os.PathLike) -> Path:
    path = Path(figure)
    path = path if path.is_absolute() else run_dir / path
    if path.suffix.lower() not in FIGURE_MIME:
        raise ValueError(
            f"figure {str(figure)!r} has suffix {path.suffix!r}; a report embeds "
            f"{', '.join(FIGURE_MIME)} only (save the figure as PNG or SVG)."
        )
    if not path.is_file():
        raise DataNotFoundError(f"figure {str(figure)!r} not found (looked for {path}).")
    return path


def _data_uri(path: Path) -> str:
    raw = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".png" and not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise DataFormatError(f"figure {path} has a .png suffix but is not a PNG file.")
    if suffix == ".svg" and b"<svg" not in raw[:4096]:
        raise DataFormatError(f"figure {path} has a .svg suffix but holds no <svg> element.")
    return f"data:{FIGURE_MIME[suffix]};base64,{base64.b64encode(raw).decode('ascii')}"


def _figures_html(run_dir: Path, figures: Sequence[str | os.PathLike]) -> str:
    items = []
    for figure in figures:
        path = _resolve_figure(run_dir, figure)
        caption = html.escape(path.stem.replace("_", " "))
        items.append(
            f'<figure><img src="{_data_uri(path)}" alt="{caption}">'
            f"<figcaption>{caption} <span class=\"meta\">({html.escape(path.name)})</span>"
            "</figcaption></figure>"
        )
    return "\n".join(items) if items else "<p>No figures.</p>"


def _rows_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A table with a header row from the keys of ``rows`` (all rows share them)."""
    if not rows:
        return ""
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = []
    for row in rows:
        cells = []
        for c in cols:
            value = row.get(c, "")
            cls = ' class="num"' if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
            cells.append(f"<td{cls}>{html.escape(_fmt(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>\n<tr>{head}</tr>\n" + "\n".join(body) + "\n</table>"


def _summary_html(summary: tuple[str, Sequence[Mapping[str, Any]]] | None) -> str:
    if summary is None:
        return ""
    sentence, rows = summary
    return (f'<h2 id="summary">Summary</h2>\n<p>{html.escape(sentence)}</p>\n'
            f"{_rows_table(rows)}")


def _section(anchor: str, name: str, body: str) -> str:
    return f'<h2 id="{anchor}">{html.escape(name)}</h2>\n{body}' if body else ""


def _toc(parts: Sequence[tuple[str, str, str]]) -> str:
    links = " &middot; ".join(f'<a href="#{a}">{html.escape(n)}</a>' for a, n, b in parts if b)
    return f'<p class="meta">Contents: {links}</p>'


def render_report(
    *,
    title: str,
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    figures_html: str,
    notes: str = "",
    config_digest: str | None = None,
    summary: tuple[str, Sequence[Mapping[str, Any]]] | None = None,
    per_subject: Sequence[Mapping[str, Any]] = (),
    versions: Mapping[str, str] | None = None,
    command: str = "",
) -> str:
    """Return the report page as an HTML string (figures already rendered).

    Sections, in order: summary (one sentence and one table), figures, per-subject
    results, all metrics, configuration, software versions, the command that reproduces
    the run; a table of contents links them.
    """
    plain_config = to_plain(config)
    config_text = yaml.safe_dump(plain_config, sort_keys=False, allow_unicode=True) if plain_config else "{}\n"
    digest = config_digest or config_hash(config)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    notes_html = f'<h2>Notes</h2>\n<div class="notes">{html.escape(notes)}</div>' if notes else ""
    summary_html = _summary_html(summary)
    subjects_html = _section("subjects", "Per-subject results", _rows_table(per_subject))
    versions_html = _section("versions", "Software versions", _table(list((versions or {}).items())))
    command_html = _section("command", "Reproduce this run",
                            f"<pre>{html.escape(command)}</pre>" if command else "")
    toc = _toc([("summary", "Summary", summary_html), ("figures", "Figures", "x"),
                ("subjects", "Per-subject results", subjects_html),
                ("metrics", "Metrics", "x"), ("configuration", "Configuration", "x"),
                ("versions", "Software versions", versions_html),
                ("command", "Reproduce", command_html)])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_CSS}</style>
<script>{_CHECK_SCRIPT}</script>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="meta">neurodecode {html.escape(__version__)} &middot; written {stamp} &middot;
config sha256 <code>{html.escape(digest[:12])}</code></p>
{toc}
{summary_html}
{notes_html}
<h2 id="figures">Figures</h2>
{figures_html}
{subjects_html}
<h2 id="metrics">Metrics</h2>
{_metrics_html(metrics)}
<h2 id="configuration">Configuration</h2>
<p class="meta">sha256: <code>{html.escape(digest)}</code></p>
<pre>{html.escape(config_text)}</pre>
{versions_html}
{command_html}
<div id="nd-render-check" data-status="pending" hidden></div>
</body>
</html>
"""


def write_report(
    run_dir: str | os.PathLike,
    *,
    title: str,
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    figures: Sequence[str | os.PathLike] = (),
    notes: str = "",
    config_digest: str | None = None,
    summary: tuple[str, Sequence[Mapping[str, Any]]] | None = None,
    per_subject: Sequence[Mapping[str, Any]] = (),
    versions: Mapping[str, str] | None = None,
    command: str = "",
) -> Path:
    """Write ``run_dir/report.html``: one self-contained page for a run.

    Parameters
    ----------
    run_dir : str or Path
        The run directory (must exist).
    title : str
        Page title.
    config : mapping
        The resolved config; shown as YAML with its hash.
    metrics : mapping
        Metrics, nested allowed: top-level numbers form a summary table, each nested
        mapping its own table with dotted keys.
    figures : sequence of str or Path
        PNG or SVG files, relative to ``run_dir`` or absolute, embedded as data URIs.
    notes : str
        Free text shown under the title (escaped; line breaks kept).
    config_digest : str or None
        Hash to show for the config (e.g. the one the run recorded); default
        :func:`config_hash`.
    summary : (str, list of dict) or None
        The sentence and the rows (model vs baselines vs chance, CIs, p-values) shown
        first (:func:`neurodecode.viz.summary.summarize`).
    per_subject : list of dict
        One row per subject.
    versions : mapping of str to str, optional
        Software versions.
    command : str
        The command that reproduces the run.

    Returns
    -------
    path : Path
        ``run_dir / "report.html"``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataNotFoundError(f"run_dir={str(run_dir)!r} is not a directory; create the run first.")
    check_type("title", title, str)
    check_type("config", config, Mapping)
    check_type("metrics", metrics, Mapping)
    check_type("notes", notes, str)
    if isinstance(figures, (str, os.PathLike)):
        raise TypeError("figures must be a list of paths; got a single path (wrap it in a list).")
    page = render_report(
        title=title, config=config, metrics=metrics, notes=notes,
        figures_html=_figures_html(run_dir, figures), config_digest=config_digest,
        summary=summary, per_subject=per_subject, versions=versions, command=command,
    )
    path = run_dir / REPORT_NAME
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


__all__ = ["FIGURE_MIME", "REPORT_NAME", "config_hash", "render_report", "to_plain", "write_report"]
