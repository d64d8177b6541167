"""The grading report: grades.csv, students.csv, exercises.csv, score plots and one HTML page
to read at a glance (``write.write_report``).

Scores come from the gradebook (the record nbgrader and formgrader use); statuses, test
messages and problems from the per-submission results that the workers wrote.

- ``data.py``: what the records and the gradebook say, per submission (``Submission``) and
  per exercise and mistake (``Analysis``), and the score table (``Report``);
- ``csv_files.py``: grades.csv, students.csv, exercises.csv;
- ``plots.py``: the score histograms and the per-exercise bars (PNG);
- ``page.py``: report.html (next steps, tables, the sections of ``lms/``);
- ``write.py``: ``write_report``, which reads the course and writes all of them.
"""
