"""The run report: one self-contained :class:`mne.Report` HTML page per run.

The page is MNE's report (a table of contents, collapsible sections, figure sliders),
holding, in order: a summary (one sentence and one table: the model vs each baseline vs
chance, with CIs and p-values), notes, the figures, the per-subject results (a table and
a figure), every metric, the configuration of the run's task, the software versions and
the command that reproduces the run. Figures, scripts and styles are embedded (data URIs
and inline code), so ``report.html`` can be moved, mailed or archived on its own.

A small inline script records, once the page has loaded, how many images failed to
decode and how many script errors occurred, in the ``data-*`` attributes of an element
``#nd-render-check`` it appends to the page (used by the tests; it never logs to the
console).
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .. import __version__
from .._hashing import config_hash
from .._validation import check_type
from ..exceptions import DataFormatError, DataNotFoundError

REPORT_NAME = "report.html"
FIGURE_MIME = {".png": "image/png", ".svg": "image/svg+xml"}
FIGURES_SECTION = "Figures"
SUBJECTS_SECTION = "Per-subject results"

_CSS = """
.nd-table{font-size:.92em;width:auto}
.nd-table td.num{text-align:right;font-variant-numeric:tabular-nums}
.nd-notes{white-space:pre-wrap}
.nd-meta{color:#666;font-size:.85em}
#content img.figure-img{max-width:min(100%,900px)}
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
    var mark = document.createElement("div");
    mark.id = "nd-render-check";
    mark.hidden = true;
    mark.setAttribute("data-images", String(imgs.length));
    mark.setAttribute("data-broken", String(broken));
    mark.setAttribute("data-errors", String(errors));
    mark.setAttribute("data-status", "loaded");
    document.body.appendChild(mark);
  });
})();
"""


@dataclass(frozen=True)
class ReportFigure:
    """One entry of the report's figures: a single image, or a slider of several.

    Parameters
    ----------
    paths : tuple of Path
        PNG or SVG files; more than one makes a slider (PNG only).
    title : str
        Title in the table of contents.
    captions : tuple of str
        One caption per path (or none).
    """

    paths: tuple[Path, ...]
    title: str
    captions: tuple[str, ...] = ()


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


def _cell(tag: str, value: Any) -> str:
    num = isinstance(value, (int, float)) and not isinstance(value, bool)
    cls = ' class="num"' if num else ""
    return f"<{tag}{cls}>{html.escape(_fmt(value))}</{tag}>"


def _table(rows: Sequence[tuple[str, Any]]) -> str:
    body = [f"<tr><th>{html.escape(name)}</th>{_cell('td', value)}</tr>" for name, value in rows]
    return '<table class="table table-sm nd-table">\n' + "\n".join(body) + "\n</table>"


def _rows_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A table with a header row from the keys of the first row."""
    if not rows:
        return ""
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = ["<tr>" + "".join(_cell("td", row.get(c, "")) for c in cols) + "</tr>"
            for row in rows]
    return (f'<table class="table table-sm table-striped nd-table">\n<tr>{head}</tr>\n'
            + "\n".join(body) + "\n</table>")


def _metrics_html(metrics: Mapping[str, Any]) -> str:
    """Top-level scalars in one table, then one table per nested section."""
    plain = to_plain(metrics)
    scalars = [(k, v) for k, v in plain.items() if not isinstance(v, dict)]
    parts = [_table(scalars)] if scalars else []
    for key, value in plain.items():
        if isinstance(value, dict):
            rows = list(_flatten(value))
            parts.append(f"<h6>{html.escape(key)}</h6>\n" + (_table(rows) if rows else
                                                              "<p>(empty)</p>"))
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
    raw = path.read_bytes()
    if path.suffix.lower() == ".png" and not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise DataFormatError(f"figure {path} has a .png suffix but is not a PNG file.")
    if path.suffix.lower() == ".svg" and b"<svg" not in raw[:4096]:
        raise DataFormatError(f"figure {path} has a .svg suffix but holds no <svg> element.")
    return path


def _as_entry(run_dir: Path, figure: Any) -> ReportFigure:
    """A :class:`ReportFigure` with checked, absolute paths, from a path or an entry."""
    if isinstance(figure, (str, os.PathLike)):
        path = _resolve_figure(run_dir, figure)
        return ReportFigure((path,), path.stem.replace("_", " "))
    check_type("figures[i]", figure, (ReportFigure, str, os.PathLike))
    paths = tuple(_resolve_figure(run_dir, p) for p in figure.paths)
    if not paths:
        raise ValueError(f"figure {figure.title!r} holds no path; give one or more files.")
    if len(paths) > 1 and any(p.suffix.lower() != ".png" for p in paths):
        raise ValueError(f"figure {figure.title!r}: a slider takes PNG files only; got "
                         f"{[p.name for p in paths]}.")
    if figure.captions and len(figure.captions) != len(paths):
        raise ValueError(f"figure {figure.title!r} has {len(figure.captions)} captions for "
                         f"{len(paths)} files; give one caption per file or none.")
    return ReportFigure(paths, figure.title, tuple(figure.captions))


def _add_figure(report: Any, entry: ReportFigure, section: str) -> None:
    captions = list(entry.captions) or [p.name for p in entry.paths]
    if len(entry.paths) == 1 and entry.paths[0].suffix.lower() == ".svg":
        # mne.Report.add_image would write the SVG's base64 text inline, not an image
        report.add_html(_svg_figure(entry.paths[0], entry.title, captions[0]),
                        title=entry.title, section=section, tags=("figure",))
        return
    if len(entry.paths) == 1:
        report.add_image(entry.paths[0], title=entry.title, caption=captions[0],
                         section=section, tags=("figure",))
        return
    import matplotlib.image as mpimg

    frames = [np.asarray(mpimg.imread(p)) for p in entry.paths]
    report.add_figure(frames, title=entry.title, caption=captions, section=section,
                      image_format="png", tags=("figure",))


def _svg_figure(path: Path, title: str, caption: str) -> str:
    """An SVG file as a data-URI image with its caption, styled as MNE's figures."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure class="figure mx-auto d-block"><img class="figure-img img-fluid rounded '
            f'mx-auto my-0 d-block" alt="{html.escape(title)}" src="data:{FIGURE_MIME[".svg"]};'
            f'base64,{data}"><figcaption class="figure-caption text-center">'
            f"{html.escape(caption)}</figcaption></figure>")


def _summary_html(summary: tuple[str, Sequence[Mapping[str, Any]]] | None,
                  digest: str) -> str:
    sentence, rows = summary if summary is not None else ("", ())
    return (f"<p><strong>{html.escape(sentence)}</strong></p>\n{_rows_table(rows)}\n"
            f'<p class="nd-meta">neurodecode {html.escape(__version__)} &middot; config '
            f"sha256 <code>{html.escape(digest[:12])}</code></p>")


@dataclass(frozen=True)
class ReportContent:
    """Everything a report shows, already checked (figure paths absolute)."""

    title: str
    config: Mapping[str, Any]
    metrics: Mapping[str, Any]
    figures: Sequence[ReportFigure] = ()
    notes: str = ""
    config_digest: str | None = None
    summary: tuple[str, Sequence[Mapping[str, Any]]] | None = None
    per_subject: Sequence[Mapping[str, Any]] = ()
    per_subject_figure: ReportFigure | None = None
    versions: Mapping[str, str] | None = None
    command: str = ""


def build_report(content: ReportContent) -> Any:
    """The :class:`mne.Report` of ``content``: its sections in the order of the module
    docstring (empty ones left out)."""
    import mne

    report = mne.Report(title=content.title, verbose="error")
    report.add_custom_css(_CSS)
    report.add_custom_js(_CHECK_SCRIPT)
    digest = content.config_digest or config_hash(content.config)
    report.add_html(_summary_html(content.summary, digest), title="Summary", tags=("summary",))
    if content.notes:
        report.add_html(f'<div class="nd-notes">{html.escape(content.notes)}</div>',
                        title="Notes", tags=("notes",))
    for entry in content.figures:
        _add_figure(report, entry, FIGURES_SECTION)
    if content.per_subject:
        report.add_html(_rows_table(content.per_subject), title="Per-subject table",
                        section=SUBJECTS_SECTION, tags=("subjects",))
    if content.per_subject_figure is not None:
        _add_figure(report, content.per_subject_figure, SUBJECTS_SECTION)
    report.add_html(_metrics_html(content.metrics), title="Metrics", tags=("metrics",))
    _add_config(report, content.config, digest)
    if content.versions:
        report.add_html(_table(list(content.versions.items())), title="Software versions",
                        tags=("versions",))
    if content.command:
        report.add_code(content.command, title="Reproduce this run", language="bash",
                        tags=("command",))
    return report


def _add_config(report: Any, config: Mapping[str, Any], digest: str) -> None:
    plain = to_plain(config)
    text = yaml.safe_dump(plain, sort_keys=False, allow_unicode=True) if plain else "{}\n"
    report.add_html(f'<p class="nd-meta">sha256: <code>{html.escape(digest)}</code></p>'
                    f"<pre>{html.escape(text)}</pre>", title="Configuration",
                    tags=("config",))


def write_report(
    run_dir: str | os.PathLike,
    *,
    title: str,
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    figures: Sequence[str | os.PathLike | ReportFigure] = (),
    notes: str = "",
    config_digest: str | None = None,
    summary: tuple[str, Sequence[Mapping[str, Any]]] | None = None,
    per_subject: Sequence[Mapping[str, Any]] = (),
    per_subject_figure: str | os.PathLike | ReportFigure | None = None,
    versions: Mapping[str, str] | None = None,
    command: str = "",
) -> Path:
    """Write ``run_dir/report.html``: one self-contained :class:`mne.Report` for a run.

    Parameters
    ----------
    run_dir : str or Path
        The run directory (must exist).
    title : str
        Page title.
    config : mapping
        The resolved config (of the run's task); shown as YAML with its hash.
    metrics : mapping
        Metrics, nested allowed: top-level numbers form one table, each nested mapping
        its own table with dotted keys.
    figures : sequence of str, Path or ReportFigure
        PNG or SVG files, relative to ``run_dir`` or absolute, embedded as data URIs; a
        :class:`ReportFigure` of several PNG files is shown as a slider.
    notes : str
        Free text shown after the summary (escaped; line breaks kept).
    config_digest : str or None
        Hash to show for the config (e.g. the one the run recorded); default
        :func:`config_hash`.
    summary : (str, list of dict) or None
        The sentence and the rows (model vs baselines vs chance, CIs, p-values) shown
        first (:func:`neurodecode.viz.summary.summarize`).
    per_subject : list of dict
        One row per subject.
    per_subject_figure : str, Path, ReportFigure or None
        The figure of the per-subject results, shown under their table.
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
    if isinstance(figures, (str, os.PathLike, ReportFigure)):
        raise TypeError("figures must be a list of paths; got a single path (wrap it in a list).")
    content = ReportContent(
        title=title, config=config, metrics=metrics, notes=notes,
        figures=[_as_entry(run_dir, f) for f in figures], config_digest=config_digest,
        summary=summary, per_subject=per_subject, versions=versions, command=command,
        per_subject_figure=(None if per_subject_figure is None
                            else _as_entry(run_dir, per_subject_figure)))
    path = run_dir / REPORT_NAME
    tmp = run_dir / (REPORT_NAME + ".tmp.html")
    build_report(content).save(tmp, open_browser=False, overwrite=True, verbose="error")
    tmp.replace(path)
    return path


__all__ = ["FIGURE_MIME", "REPORT_NAME", "ReportContent", "ReportFigure", "build_report", "config_hash", "to_plain", "write_report"]
