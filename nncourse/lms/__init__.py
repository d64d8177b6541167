"""The round trip with the course's LMS (Moodle, Canvas): what comes in, what goes back.

One concept per module:

- ``archive``: the files of a download (zip or folder), zip entry names decoded
  (UTF-8, or cp932 for zips made on Japanese Windows without the UTF-8 flag);
- ``moodle`` / ``canvas``: their download file names, and the files they import back;
- ``roster``: the roster CSV that maps an LMS identity to the course's student id (学籍番号);
- ``records``: what ``collect`` keeps about each submission (LMS identity, time, late mark);
- ``deadlines``: due dates, extensions and the late-penalty policy;
- ``export``: grades from the gradebook, penalties applied, written for an LMS;
- ``similarity``: similar solution cells between students (copydetect).
"""
