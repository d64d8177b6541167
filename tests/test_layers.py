"""The layers of ``nncourse/`` (README, "Architecture"): a module imports only from its own
unit or from a unit of a lower layer, at module level.  Read from the source with ``ast``, so a
new upward import fails here, named, before anyone has to find the circle it makes."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nncourse"

# The README's layers, bottom first.  A unit is a sub-package or a top-level module.
LAYERS = [
    {"__init__", "core"},
    {"kernel"},
    {"lms", "results"},
    {"feedback", "manual", "report"},
    {"export", "build", "check", "formgrader"},
    {"cohort"},
    {"grade"},
    {"validate", "demo", "lti"},
    {"api"},
    {"cli", "__main__"},
]
LAYER = {unit: i for i, units in enumerate(LAYERS) for unit in units}

# The only imports of nncourse made inside a function: layers that load a heavy optional
# dependency, which most commands never need.  Each line says why in a comment.
ON_DEMAND = {
    "nncourse/cli.py": {"nncourse.lti"},                         # Flask, pylti1p3
    "nncourse/grade/executors.py": {"nncourse.grade.dask_worker"},   # Dask
}


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path, root: Path = ROOT):
    """(line, imported module, at module level?) for every nncourse import in the file."""
    rel = path.relative_to(root).with_suffix("").parts
    package = rel[:-1] if rel[-1] != "__init__" else rel[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[:len(package) - (node.level - 1)])
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if name == "nncourse" or name.startswith("nncourse."):
                yield node.lineno, name, id(node) in top


def test_every_unit_has_a_layer():
    units = {p.stem if p.is_file() else p.name
             for p in PACKAGE.iterdir()
             if (p.suffix == ".py") or (p.is_dir() and (p / "__init__.py").exists())}
    assert units - set(LAYER) == set(), "add the new unit to LAYERS and to the README"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_go_down(path):
    rel = path.relative_to(ROOT).with_suffix("").parts
    me = unit_of(".".join(rel))
    wrong = []
    lines = path.read_text(encoding="utf-8").splitlines()
    allowed = ON_DEMAND.get(str(path.relative_to(ROOT)), set())
    for line, name, module_level in imports(path):
        other = unit_of(name)
        if other != me and LAYER[other] > LAYER[me]:
            wrong.append(f"line {line}: {me} (layer {LAYER[me]}) imports {name} (layer {LAYER[other]})")
        commented = "#" in lines[line - 1] or lines[line - 2].strip().startswith("#")
        if not module_level and not (name in allowed and commented):
            wrong.append(f"line {line}: {name} is imported inside a function")
    assert wrong == []


def test_the_check_sees_an_upward_import_and_a_hidden_one(tmp_path):
    """The check itself can fail: a planted upward import and a function-level one are found."""
    planted = tmp_path / "nncourse" / "core" / "planted.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("from ..report.data import submissions\n"
                       "def f():\n    from nncourse.grade import run\n")
    found = [(name, unit_of(name), top) for _, name, top in imports(planted, root=tmp_path)]
    assert found == [("nncourse.report.data", "report", True), ("nncourse.grade", "grade", False)]
    assert LAYER["report"] > LAYER["core"]
