"""The grading path: one submission in, a graded notebook and a verdict per test cell out.

- ``submission.py`` what the coordinator reads of a submission folder (lstat first, size and count
                  limits, links and odd names left out, notes), and its fingerprint;
- ``worker.py``   the task: autograde one student's assignments (nbgrader's Autograde), feedback, result JSON;
- ``execute.py``  the kernel driver: runs the student's cells and the visible tests, then asks ``checks.py``
                  for each test cell's verdict (the grader decides every automatic point);
- ``checks.py``   which hidden check decides a test cell (parsed from the trusted source notebook) and
                  running it here, in the grader;
- ``student.py``  the grader's side of the call protocol (``Remote`` handles, plain data only);
- ``wire.py``     the plain-data format both sides share (no pickle, size and dtype limits);
- ``kernel_boot.py`` the kernel's main script and call server (nothing secret; copied into the sandbox);
- ``sandbox.py``  how a grading kernel is launched: bubblewrap, namespaces, a uid of its own (root), limits;
- ``limits.py``   the rlimits wrapper run before bwrap (and, without root, inside it for the process count);
- ``local.py``    the call server in-process, for the checks' unit tests.
"""
