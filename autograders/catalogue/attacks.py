"""The attack catalogue (``attacks.toml``): cheating submissions of a1_loss (issue #8).

``load()`` gives the prelude and the attacks; ``attack_notebook(course, attack, values)``
builds the submission of one attack (the blank release or the reference submission with the
attack's code put into its solution cells, placeholders ``@NAME@`` replaced from ``values``).
"""
from pathlib import Path

import nbformat
from nbgrader import utils as nbutils

from nncourse.build import release_notebook
from nncourse.cohort import reference_submission

try:
    import tomllib
except ImportError:                       # Python 3.10
    import tomli as tomllib

CATALOGUE = Path(__file__).with_name("attacks.toml")
ASSIGNMENT = "a1_loss"


def load(path=CATALOGUE):
    """(prelude text, [attack dicts]) of the catalogue."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return data["common"]["prelude"], data["attack"]


def fill(text, values):
    """``text`` with every ``@KEY@`` replaced by ``str(values[KEY])``."""
    for key, value in values.items():
        text = text.replace(f"@{key}@", str(value))
    return text


def attack_notebook(course, attack, values, prelude):
    """The submission notebook of ``attack`` (nbformat node)."""
    if attack["base"] == "reference":
        nb = reference_submission(course, ASSIGNMENT)
    elif attack["base"] == "blank":
        nb = nbformat.read(release_notebook(course, ASSIGNMENT), as_version=4)
    else:
        raise ValueError(f"attack {attack['id']}: unknown base {attack['base']!r}")
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells
             if nbutils.is_solution(c)}
    for i, part in enumerate(attack["inject"]):
        text = fill((prelude if i == 0 else "") + part["text"], values)
        cell = cells[part["grade_id"]]
        cell.source = text + "\n" + cell.source if part["at"] == "start" else \
            cell.source + "\n" + text
    return nb
