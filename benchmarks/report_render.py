"""Issue 15 item 7: rebuild the mne.Report of finished run directories and check it renders.

For each run directory given (made by ``neurodecode run``), redraws its figures and report
(``neurodecode plot``), then, when Debian's chromium is installed, loads ``report.html``
headless and reads the render check the page writes (images, broken images, script
errors) and the console messages; saves a screenshot next to the report.

    python benchmarks/report_render.py RUN_DIR [RUN_DIR ...]

Prints one row per run: write time, report size, table-of-contents entries, figures,
sliders, and the chromium check.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

from neurodecode.viz import replot_run


class _Counts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.toc, self.figures, self.sliders, self._in_toc = [], 0, 0, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_toc = tag == "a" and "nav-link" in (attrs.get("class") or "")
        self.figures += tag == "img" and "figure-img" in (attrs.get("class") or "")
        self.sliders += tag == "input" and attrs.get("type") == "range"

    def handle_data(self, data):
        if self._in_toc and data.strip():
            self.toc.append(data.strip())
            self._in_toc = False


def _chromium(page: Path, *mode: str) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as work:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               f"--user-data-dir={work}", "--enable-logging=stderr", "--v=0",
               "--hide-scrollbars", *mode, page.as_uri()]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


def _render(page: Path) -> str:
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "chromium not installed"
    proc = _chromium(page, "--dump-dom")
    mark = re.search(r'id="nd-render-check"[^>]*', proc.stdout)
    console = re.findall(r":CONSOLE[^\]]*\] (.*)", proc.stderr)
    _chromium(page, f"--screenshot={page.with_suffix('.png')}", "--window-size=1400,4000")
    found = dict(re.findall(r'data-(\w+)="(\w+)"', mark.group(0))) if mark else {}
    return (f"images {found.get('images')} broken {found.get('broken')} errors "
            f"{found.get('errors')} console {len(console)}")


def main(run_dirs: list[str]) -> None:
    print(f"{'run':<28}{'write s':>8}{'size MB':>9}  {'toc':<60}{'figs':>5}{'sliders':>8}  "
          "chromium")
    for run_dir in map(Path, run_dirs):
        start = time.perf_counter()
        replot_run(run_dir)
        seconds = time.perf_counter() - start
        page = run_dir / "report.html"
        counts = _Counts()
        counts.feed(page.read_text(encoding="utf-8"))
        print(f"{run_dir.name:<28}{seconds:>8.1f}{page.stat().st_size / 1e6:>9.2f}  "
              f"{', '.join(counts.toc):<60}{counts.figures:>5}{counts.sliders:>8}  "
              f"{_render(page)}")


if __name__ == "__main__":
    main(sys.argv[1:])
