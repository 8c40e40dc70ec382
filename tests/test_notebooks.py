"""The shared notebooks (aphos_lib/notebooks/): executed against the demo catalogue, kept clean.

Each notebook runs top to bottom with papermill in a kernel of this interpreter (the venv's)
that finds the test catalogue through the same environment variables as a hub workspace;
its last cell asserts what the notebook shows, so a broken notebook fails here. The
reproducibility test reruns the sharing notebook with the same ``as_of`` after more uploads
and compares every output.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest

from aphos_lib.ingest import ingest_files

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "aphos_lib" / "notebooks").glob("*.ipynb"))
SHARING = REPO / "aphos_lib" / "notebooks" / "05_reproducible_sharing.ipynb"
TIMING = REPO / "aphos_lib" / "notebooks" / "06_minima_and_o_c.ipynb"
# The timing notebook needs nights that cover minima: the demo's timing campaign.
ON_THE_DEMO = [p for p in NOTEBOOKS if p != TIMING]
# What a thin notebook never holds (STYLE.md): definitions, loops, SQL.
FORBIDDEN = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Lambda,
    ast.For,
    ast.While,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def test_there_are_the_seven_shared_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quick_start.ipynb",
        "02_period_analysis.ipynb",
        "03_comparison_and_check_stars.ipynb",
        "04_combining_observers.ipynb",
        "05_reproducible_sharing.ipynb",
        "06_minima_and_o_c.ipynb",
        "07_variable_finder.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_committed_clean_with_kernel_metadata(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: outputs committed; clear them (Kernel > Restart and Clear "
                "Outputs, or `jupyter nbconvert --clear-output --inplace`)"
            )
    # papermill refuses a notebook without a kernel and a language (docs/architecture.md).
    kernelspec = notebook.metadata.kernelspec
    assert kernelspec.name == "python3" and kernelspec.language == "python"
    assert notebook.metadata.language_info.name == "python"
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs one cell tagged 'parameters'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_are_thin_and_end_with_checks(path):
    notebook = nbformat.read(path, as_version=4)
    code = [c.source for c in notebook.cells if c.cell_type == "code"]
    for source in code:
        for node in ast.walk(ast.parse(source)):
            assert not isinstance(node, FORBIDDEN), (
                f"{path.name}: {type(node).__name__} in a cell; put logic in aphos_lib\n{source}"
            )
        assert "SELECT " not in source.upper(), f"{path.name}: SQL belongs in aphos_lib"
    last = ast.parse(code[-1])
    assert any(isinstance(node, ast.Assert) for node in ast.walk(last)), (
        f"{path.name}: the last cell should assert what the notebook shows"
    )


# --- execution ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jupyter_path(tmp_path_factory) -> Path:
    """A Jupyter data folder whose ``python3`` kernel is this interpreter.

    Found before any other (``JUPYTER_PATH`` comes first), so a ``python3`` kernelspec of
    another Python on the machine can never run the notebooks.
    """
    path = tmp_path_factory.mktemp("jupyter")
    spec = path / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (APhoS tests)",
                "language": "python",
            }
        )
    )
    return path


@pytest.fixture
def run_notebook(monkeypatch, tmp_path, jupyter_path):
    """Execute a notebook with papermill against a catalogue; return the executed copy."""
    import papermill

    def run(path: Path, catalogue, **parameters) -> nbformat.NotebookNode:
        import os

        for name in [k for k in os.environ if k.startswith("APHOS_")]:
            monkeypatch.delenv(name)
        # What a hub workspace gets: the catalogue's URLs, the read-only role among them.
        monkeypatch.setenv("APHOS_DATABASE_URL", catalogue.conninfo("owner"))
        monkeypatch.setenv("APHOS_DATABASE_URL_WRITER", catalogue.conninfo("writer"))
        monkeypatch.setenv("APHOS_DATABASE_URL_READER", catalogue.conninfo("reader"))
        monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
        monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        workdir = tmp_path / f"run-{time.monotonic_ns()}"
        workdir.mkdir()
        output = workdir / path.name
        papermill.execute_notebook(
            str(path),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            cwd=str(workdir),
            progress_bar=False,
            log_output=False,
        )
        return nbformat.read(output, as_version=4)

    return run


def _text(notebook) -> str:
    """Everything the notebook printed or displayed as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def _outputs(notebook) -> list:
    """Every code cell's outputs, as data (text, HTML, images), without timings."""
    return [
        [
            {k: v for k, v in output.items() if k not in ("execution_count", "metadata")}
            for output in cell.outputs
        ]
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]


@pytest.mark.catalogue
@pytest.mark.slow
@pytest.mark.parametrize("demo_catalogue", ["embedded"], indirect=True)
@pytest.mark.parametrize("path", ON_THE_DEMO, ids=lambda p: p.stem)
def test_notebook_runs_against_the_demo_catalogue(path, demo_catalogue, run_notebook):
    notebook = run_notebook(path, demo_catalogue)
    errors = [
        o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
    if path.name == "02_period_analysis.ipynb":
        text = _text(notebook)
        assert "better than 0.1%" in text and "NOT better" not in text


@pytest.mark.catalogue
@pytest.mark.slow
def test_the_timing_notebook_runs_against_the_timing_campaign(campaign_catalogue, run_notebook):
    catalogue, _ = campaign_catalogue
    notebook = run_notebook(TIMING, catalogue)
    errors = [
        o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
    assert "minima, period 0.936" in _text(notebook)


@pytest.mark.catalogue
@pytest.mark.slow
def test_a_pinned_as_of_gives_identical_results_after_more_uploads(
    catalogue, demo_files, run_notebook
):
    directory, manifest = demo_files
    gk = [directory / f.path for f in manifest.files if f.field == "gk_cep"]
    first_half, second_half = gk[: len(gk) // 2], gk[len(gk) // 2 :]
    assert all(o.ok for o in ingest_files(catalogue, first_half, observer="novak"))
    with catalogue.connect("reader") as conn:
        pinned = conn.execute("SELECT now()").fetchone()[0].isoformat()
    before = run_notebook(SHARING, catalogue, as_of=pinned)
    time.sleep(0.01)
    assert all(o.ok for o in ingest_files(catalogue, second_half, observer="svoboda"))
    after = run_notebook(SHARING, catalogue, as_of=pinned)
    assert _outputs(after) == _outputs(before)
    # The comparison can fail: unpinned, the same notebook sees the new images.
    unpinned = run_notebook(SHARING, catalogue)
    assert 0 < _images(before) <= len(first_half) < _images(unpinned) <= len(gk)
    assert _outputs(unpinned) != _outputs(before)


def _images(notebook) -> int:
    return int(re.search(r"(\d+) images uploaded by", _text(notebook)).group(1))
