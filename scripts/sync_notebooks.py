"""Write each source notebook from its text twin: source/<aid>/<name>.pct.py -> <name>.ipynb.

The twin (jupytext percent format, nbgrader metadata in the ``# %%`` headers) is what you
edit and review; the .ipynb is what nbgrader reads.  ``--check`` only compares them and
exits 1 when any pair disagrees (tests/course/test_notebooks.py runs the same comparison).

    python scripts/sync_notebooks.py            # regenerate every .ipynb from its twin
    python scripts/sync_notebooks.py --check    # fail if a pair disagrees
"""
import argparse
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def twins(root=ROOT):
    """Every (twin .pct.py, notebook .ipynb) pair under source/."""
    return [(p, p.with_name(p.name[: -len(".pct.py")] + ".ipynb"))
            for p in sorted((root / "source").glob("*/*.pct.py"))]


def notebook_from_twin(twin):
    """The notebook a twin describes, without outputs, with a python3 kernelspec."""
    nb = jupytext.read(twin, fmt="py:percent")
    nb.metadata = {"kernelspec": KERNELSPEC,
                   "language_info": {"name": "python"}}
    for i, cell in enumerate(nb.cells):   # stable ids: the grade_id, else the position
        cell.id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def cells_of(nb):
    """What must agree between a twin and its notebook: type, source, metadata per cell."""
    return [(c.cell_type, c.source.strip(), dict(c.metadata)) for c in nb.cells]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 on a mismatch")
    args = ap.parse_args(argv)
    bad = 0
    for twin, ipynb in twins():
        nb = notebook_from_twin(twin)
        if args.check:
            if not ipynb.exists() or cells_of(nb) != cells_of(nbformat.read(ipynb, 4)):
                print(f"out of sync: {ipynb} <- {twin}  (run python scripts/sync_notebooks.py)")
                bad += 1
        else:
            nbformat.write(nb, ipynb)
            print(f"wrote {ipynb.relative_to(ROOT)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
