"""The round trip with the course's LMS (Moodle, Canvas): what comes in, what goes back.

One concept per module.  Everything here sits below ``feedback/`` and ``report/``, which read
the deadlines and the similarity; the export back to the LMS reads the report's data, so it
is one layer up, ``nncourse/export.py``, over ``moodle`` / ``canvas`` here.

One concept per module:

- ``archive``: the files of a download (zip or folder), zip entry names decoded
  (UTF-8, or cp932 for zips made on Japanese Windows without the UTF-8 flag);
- ``moodle`` / ``canvas``: their download file names, and the files they import back;
- ``roster``: the roster CSV that maps an LMS identity to the course's student id (学籍番号);
- ``records``: what ``collect`` keeps about each submission (LMS identity, time, late mark);
- ``deadlines``: due dates, extensions and the late-penalty policy;
- ``similarity``: similar solution cells between students (copydetect).
"""
