"""The grading run: plan -> executors and workers -> task -> merge (imports ``core``,
``kernel`` and the feedback/report writers below it).

- ``run.py``       ``grade()``: which submissions to grade, the run's progress, report and exit status;
- ``inputs.py``    the coordinator's side of a task: the grading inputs (and the assignment's
                   template gradebook, built here, never in a worker), the submission's bytes, its seed;
- ``task.py``      one self-contained task: autograde one student's assignment (nbgrader's Autograde),
                   feedback, a result record; its inputs are bytes, never paths the student chose;
- ``executors.py`` where tasks run: local worker processes (``worker.py``, ``frames.py``) or Dask;
- ``merge.py``     the one writer of the course's records, autograded/ and feedback/ from results.
"""
