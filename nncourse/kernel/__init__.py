"""The grading kernel and everything that talks to it (imports ``core`` only).

- ``sandbox.py``  how a grading kernel is launched: bubblewrap, namespaces, a uid of its own (root), limits;
- ``limits.py``   the rlimits wrapper run before bwrap (and, without root, inside it for the process count);
- ``kernel_boot.py`` the kernel's main script and call server (nothing secret; copied into the sandbox);
- ``wire.py``     the plain-data format both sides share (no pickle, size and dtype limits);
- ``student.py``  the grader's side of the call protocol (``Remote`` handles, plain data only);
- ``checks.py``   which hidden check decides a test cell (parsed from the trusted source notebook) and
                  running it here, in the grader;
- ``execute.py``  the kernel driver: runs the student's cells and the visible tests, then asks ``checks.py``
                  for each test cell's verdict (the grader decides every automatic point);
- ``sanitize.py`` what a student wrote never runs in anyone's browser;
- ``nbconfig.py`` the one place the nbgrader config of every converter is assembled;
- ``local.py``    the call server in-process, for the checks' unit tests.
"""
