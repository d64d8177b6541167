"""``nncourse export ASSIGNMENT --format lti``: each student's grade to the LMS gradebook by
LTI Advantage Assignment and Grade Services (AGS).

The numbers are the CSV export's (``export.grade_rows``: late penalty applied, scaled to
the LMS's points) and the comment is its Japanese comment (``export.comment_ja``: written
answers still pending are said).  A score goes to the line item of every LMS activity linked
to the assignment whose launch offered AGS (``links.graded_links``), for the student's LTI
user id (their upload's record, else ``lti/roster.csv`` from NRPS), with
``activityProgress`` Completed and ``gradingProgress`` FullyGraded, or PendingManual while
written answers wait for the teacher.  A student the last grading did not grade gets no score
(the export says so, as the other formats do).  Posting again sends the same score with a new
timestamp: the LMS keeps the latest, so a rerun is idempotent.  A post the LMS refuses is tried
once more, then listed in ``problems`` (``nncourse export`` exits 1)."""
from __future__ import annotations

from datetime import datetime, timezone

from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException
from pylti1p3.grade import Grade
from pylti1p3.service_connector import ServiceConnector

from ..core.course import Course
from ..lms import deadlines, records
from ..export import ExportError, ExportResult, comment_ja, grade_rows
from . import keys as tool_keys
from . import links
from . import roster as nrps_roster
from .config import platform_settings, tool_conf

ATTEMPTS = 2
MAX_REASON_CHARS = 300


def lti_user_ids(course: Course, aid: str) -> dict[str, str]:
    """student id -> the platform's user id: the roster from NRPS, then the uploads' records."""
    ids = nrps_roster.lti_users(course)
    for student, rec in records.load(course, aid).items():
        if rec.get("lti_user"):
            ids[student] = rec["lti_user"]
    return ids


def score(row, user_id: str, comment: str, when: datetime) -> Grade:
    return (Grade().set_score_given(row.lms_grade).set_score_maximum(row.lms_max)
            .set_timestamp(when.isoformat()).set_activity_progress("Completed")
            .set_grading_progress("PendingManual" if row.pending else "FullyGraded")
            .set_user_id(user_id).set_comment(comment))


def export_lti(course: Course, aid: str, roster=None) -> ExportResult:
    """Post the grades of ``aid`` to the LMS (see the module); the ExportResult lists the rows,
    the students whose grade was not posted (``problems``) and those not graded."""
    aid = course.select([aid])[0]
    targets = links.graded_links(course, aid)
    if not targets:
        raise ExportError(f"no LMS activity with a gradebook column (AGS line item) is linked "
                          f"to {aid}: open the activity from the LMS as its instructor and link "
                          "it to the assignment (README \"LTI 1.3\")")
    settings = platform_settings(course)
    conf = tool_conf(course, tool_keys.load(course))
    registration = conf.find_registration_by_params(settings["LTI_ISSUER"],
                                                    settings["LTI_CLIENT_ID"])
    connector = ServiceConnector(registration)
    tz = deadlines.timezone_of(course)
    ids = lti_user_ids(course, aid)
    result = ExportResult(aid, "lti")
    result.rows = grade_rows(course, aid, roster)
    when = datetime.now(timezone.utc)
    for target in targets:
        service = AssignmentsGradesService(connector, target["ags"])
        for row in result.rows:
            if not row.confirmed:
                continue                  # ExportResult.not_graded says so
            user = ids.get(row.student)
            if not user:
                result.problems.append((row.student, "no LTI user id: not in lti/roster.csv "
                                        "(save the roster from the instructor's page) and no "
                                        "upload through the LMS"))
                continue
            grade = score(row, user, comment_ja(row, tz), when)
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    service.put_grade(grade)
                    break
                except LtiException as exc:
                    if attempt == ATTEMPTS:
                        result.problems.append((row.student, "the LMS refused the grade for "
                                                f"{target.get('title')!r}: "
                                                + str(exc)[:MAX_REASON_CHARS]))
    result.files += [f"AGS line item {t['ags']['lineitem']}" for t in targets]
    return result
