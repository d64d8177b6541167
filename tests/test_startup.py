"""A process that imports nncourse does not pay for rfc3987_syntax's grammars (nncourse/__init__.py),
and notebook validation still works without them; nor for the LTI layer's Flask and pylti1p3
unless it runs an LTI command (nncourse/lti/api.py)."""
import subprocess
import sys

import nbformat
import pytest

import nncourse  # noqa: F401  (what every nncourse process imports first)


HEAVY = ("rfc3987_syntax", "flask", "pylti1p3", "werkzeug.serving", "nncourse.lti.app")
STEPS = {   # what a fresh process runs, in this order (one process: each import costs ~2 s)
    "cli": "import nncourse.cli, nncourse.api",
    "parser": "nncourse.cli.parser().parse_args(['lti', 'serve'])",   # every --help
    "lti": "nncourse.cli.lti_api()",                                 # an LTI command
}


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[str]]:
    """The HEAVY modules loaded by one fresh process after each of STEPS."""
    probe = "import sys\n" + "".join(     # a module set to None in sys.modules is blocked
        f"{code}\nprint({step!r}, ','.join(m for m in {HEAVY!r} "
        f"if sys.modules.get(m) is not None))\n" for step, code in STEPS.items())
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    lines = dict(line.partition(" ")[::2] for line in out.stdout.splitlines())
    assert set(lines) == set(STEPS), out.stdout + out.stderr
    return {step: [m for m in mods.split(",") if m] for step, mods in lines.items()}


def test_the_cli_does_not_import_rfc3987_syntax(loaded):
    assert "rfc3987_syntax" not in loaded["cli"] + loaded["parser"]


def test_the_api_and_the_cli_do_not_load_the_lti_layer(loaded):
    assert loaded["cli"] == []
    assert loaded["parser"] == []      # the parser (every command's --help) does not need it
    # the LTI commands do load it (the check above could see it)
    assert [m for m in loaded["lti"] if m != "rfc3987_syntax"] == list(HEAVY[1:])


def test_notebooks_are_still_validated():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nbformat.validate(nb)
    nb.cells[0]["execution_count"] = "not a number"
    with pytest.raises(nbformat.ValidationError):
        nbformat.validate(nb)
