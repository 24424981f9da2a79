"""Hostile archives against :func:`neurodecode.io.studies.archive.extract` (issue 17.3).

Prints, for each archive, its size, what it would expand to, the time to refuse it and
how many files it left on disk (the target folder must not even exist). Run:
``python benchmarks/archive_limits.py``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neurodecode.exceptions import DataFormatError  # noqa: E402
from neurodecode.io.studies.archive import ArchiveLimits, extract  # noqa: E402
from tests.io_studies._hostile import (  # noqa: E402
    cve_2025_4517_tar,
    many_files_tar_gz,
    tar_gz_bomb,
)


def _refuse(archive: Path, root: Path, limits: ArchiveLimits) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        extract(archive, root, limits)
    except DataFormatError as err:
        return time.perf_counter() - start, str(err).split(";")[0]
    raise SystemExit(f"{archive.name} was NOT refused")


def _short(reason: str) -> str:
    if "past the limit: " in reason:
        return reason.split("past the limit: ")[1]
    return reason.split(" that ")[-1].split(" and ")[-1][:60]


def _left(folder: Path, archive: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p != archive)


def main() -> None:
    default, links = ArchiveLimits(), ArchiveLimits(allow_links=True)
    cases = [
        ("tar.gz bomb, 1 member of 2 GiB zeros", lambda d: tar_gz_bomb(d / "bomb.tar.gz"),
         default),
        ("tar.gz bomb, 100 members of 20 MiB", lambda d: tar_gz_bomb(d / "b100.tar.gz", 100, 20),
         default),
        ("tar.gz of 50,000 empty files", lambda d: many_files_tar_gz(d / "many.tar.gz"),
         default),
        ("CVE-2025-4517 symlink chain", lambda d: cve_2025_4517_tar(d / "poc.tar"), default),
        ("CVE-2025-4517 chain, links allowed", lambda d: cve_2025_4517_tar(d / "poc.tar"),
         links),
    ]
    print(f"{'archive':42s} {'size':>9s} {'refused in':>11s} {'files left':>10s}  reason")
    for label, make, limits in cases:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            archive = make(folder)
            seconds, reason = _refuse(archive, folder / "study" / "inner", limits)
            size = archive.stat().st_size / 1e6
            print(f"{label:42s} {size:7.2f} MB {seconds:9.3f} s {_left(folder, archive):10d}  "
                  f"{_short(reason)}")


if __name__ == "__main__":
    main()
