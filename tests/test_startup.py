"""A process that imports nncourse does not pay for rfc3987_syntax's grammars (nncourse/__init__.py),
and notebook validation still works without them."""
import subprocess
import sys

import nbformat
import pytest

import nncourse  # noqa: F401  (what every nncourse process imports first)


def test_the_cli_does_not_import_rfc3987_syntax():
    code = ("import sys; import nncourse.cli, nncourse.api; "
            "print(sys.modules.get('rfc3987_syntax') is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def test_notebooks_are_still_validated():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nbformat.validate(nb)
    nb.cells[0]["execution_count"] = "not a number"
    with pytest.raises(nbformat.ValidationError):
        nbformat.validate(nb)
