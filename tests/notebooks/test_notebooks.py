"""The worked-example notebooks: committed clean, and executed end to end on the real data.

Each notebook is run by nbclient in a kernel started from this interpreter (a kernelspec
written to a temporary folder, so the venv's own spec and PATH do not matter), with the
data root in ``NEURODECODE_TEST_DATA`` and a temporary working directory. The last code
cell of each notebook (tagged ``summary``) prints a JSON dict of its results, which is
checked for sanity here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ["01_decoding_speech_simulated_meg", "02_rsa_92_images", "03_encoding_haxby"]
CELL_TIMEOUT = 300  # seconds per cell; the slowest cell takes about 30 s on 2 busy cores
KERNEL = "neurodecode-test"


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def test_every_notebook_is_listed():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_committed_valid_and_clean(name):
    nb = _read(name)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "clear the outputs"
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 6  # a tutorial, not a script
    assert "os.environ.get(\"NEURODECODE_TEST_DATA\")" in code[0].source  # as the tests
    assert "summary" in code[-1].metadata.get("tags", [])


@pytest.fixture
def kernel_manager(tmp_path, data_root):
    """A kernel manager whose kernel is this interpreter, with the data root in its env."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    spec_dir = tmp_path / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "neurodecode test kernel", "language": "python",
            "env": {"NEURODECODE_TEST_DATA": str(data_root)}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


def _execute(name: str, kernel_manager, cwd: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = _read(name)
    probe = "import os, sys; print(sys.executable); print(os.getcwd())"
    nb.cells.insert(0, nbformat.v4.new_code_cell(probe))
    client = NotebookClient(nb, km=kernel_manager, timeout=CELL_TIMEOUT,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    exe, where = _stdout(nb.cells[0]).split()
    assert Path(exe) == Path(sys.executable)
    assert Path(where).resolve() == cwd.resolve()
    return nb


def _stdout(cell) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def _summary(nb) -> dict:
    cell = next(c for c in nb.cells if "summary" in c.metadata.get("tags", []))
    return json.loads(_stdout(cell))


def _n_images(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.outputs)


def _check_ran(nb, min_images: int) -> None:
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    assert _n_images(nb) >= min_images


@pytest.mark.realdata
def test_decoding_notebook(kernel_manager, tmp_path):
    nb = _execute(NAMES[0], kernel_manager, tmp_path)
    _check_ran(nb, min_images=6)  # mel, MEG trace, training, retrieval, attention, topomap
    s = _summary(nb)
    assert s["n_candidates"] >= 20
    assert s["chance_top10"] == pytest.approx(10 / s["n_candidates"])
    assert s["top10"] > s["chance_top10"] + 0.3  # far above chance on held-out stimuli
    assert s["top10"] > s["untrained_top10"] + 0.3
    assert s["top1"] <= s["top5"] <= s["top10"] <= 1.0
    assert not list(tmp_path.glob("*.pt"))  # checkpoints went to a temporary run dir


@pytest.mark.realdata
def test_rsa_notebook(kernel_manager, tmp_path):
    nb = _execute(NAMES[1], kernel_manager, tmp_path)
    _check_ran(nb, min_images=6)  # images, 2 RDM figures, layer RDMs, 2 layer profiles
    s = _summary(nb)
    assert 0.3 < s["human_vs_monkey_it"] < 0.6  # about 0.4 (data README)
    assert 0 < s["ceiling_lower"] < s["ceiling_upper"] < 1
    assert 0.1 < s["best_rho_human"] < s["ceiling_upper"]
    assert s["best_rho_human"] > s["first_layer_rho_human"]
    assert s["best_rho_monkey"] > 0.1
    assert s["best_layer_human"] != "_stem_act"


@pytest.mark.realdata
def test_encoding_notebook(kernel_manager, tmp_path):
    nb = _execute(NAMES[2], kernel_manager, tmp_path)
    _check_ran(nb, min_images=5)  # design, r histogram, stat map, glass brain, contrast map
    s = _summary(nb)
    assert s["n_voxels"] == 530
    assert s["max_r"] > 0.3
    assert -0.05 < s["median_r"] < s["max_r"]
    assert 0.05 < s["fraction_significant"] < 1.0
    assert s["n_face_preferring"] + s["n_house_preferring"] > 0
