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
