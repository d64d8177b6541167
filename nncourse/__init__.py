"""nncourse: the course tool (build, collect, grade, feedback, report); see README "Architecture".

One start-up cost is removed here, for every process that imports nncourse (the CLI, grading
workers, the report): nbformat validates notebooks with jsonschema, whose format checkers
import ``rfc3987_syntax`` when it is installed (jupyter-events pulls it in), and that
compiles about 35 Earley grammars at import: 1-2 s per process on this project's machine
(python-jsonschema/jsonschema#1428).  Only the "iri"/"iri-reference" formats need it, and
no schema nncourse meets (notebook, nbgrader, Jupyter events) uses them, so the import is
refused: jsonschema then goes without those two checkers, as it does when the package is
missing.
"""
import sys

sys.modules.setdefault("rfc3987_syntax", None)   # None: `import rfc3987_syntax` -> ImportError

# The second: nbgrader makes every new gradebook's ``alembic_version`` row by running the
# ``alembic heads`` command, a new Python process that imports nbgrader (and, without the
# line above, rfc3987_syntax): 5-10 s per new gradebook on this project's machine, and a
# course set-up makes one per assignment plus the course's.  The head is read here, in this
# process, from nbgrader's own migration scripts: the same revision, without the process.
import functools  # noqa: E402
from pathlib import Path  # noqa: E402

import nbgrader.api  # noqa: E402
from alembic.config import Config  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402


@functools.cache
def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema (what ``alembic heads`` prints)."""
    config = Config()
    config.set_main_option("script_location", str(Path(nbgrader.api.__file__).parent / "alembic"))
    return ScriptDirectory.from_config(config).get_current_head()


nbgrader.api.get_alembic_version = alembic_head
