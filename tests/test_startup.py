"""A process that imports nncourse does not pay for rfc3987_syntax's grammars (nncourse/__init__.py),
and notebook validation still works without them; nor for the LTI layer's Flask and pylti1p3
unless it runs an LTI command (nncourse/lti/api.py)."""
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


HEAVY_LTI = ("flask", "pylti1p3", "werkzeug.serving", "nncourse.lti.app")


def loaded_after(code: str) -> list[str]:
    """The HEAVY_LTI modules loaded by a fresh process after running ``code``."""
    probe = (f"import sys; {code}; "
             f"print(','.join(m for m in {HEAVY_LTI!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_the_api_and_the_cli_do_not_load_the_lti_layer():
    assert loaded_after("import nncourse.api, nncourse.cli") == []
    # the parser (every command's --help) does not need it either
    assert loaded_after("import nncourse.cli as c; c.parser().parse_args(['lti', 'serve'])") == []
    # the LTI commands do load it (the check above could see it)
    assert loaded_after("import nncourse.cli as c; c.lti_api()") == list(HEAVY_LTI)


def test_notebooks_are_still_validated():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nbformat.validate(nb)
    nb.cells[0]["execution_count"] = "not a number"
    with pytest.raises(nbformat.ValidationError):
        nbformat.validate(nb)
