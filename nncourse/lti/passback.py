"""``nncourse export ASSIGNMENT --format lti``: each student's grade to the LMS gradebook by
LTI Advantage Assignment and Grade Services (AGS).

The numbers are the CSV export's (``export.grade_rows``: late penalty applied, scaled to
the LMS's points) and the comment is its Japanese comment (``export.comment_ja``: written
answers still pending are said).  A score goes to the line item of every LMS activity linked
to the assignment whose launch offered AGS (``links.graded_links``: the activity's own line
item, or, when its launch offered the line items URL only, the assignment's line item that
the instructor's link found or made, ``line_item``), for the student's LTI
user id (their upload's record, else ``lti/roster.csv`` from NRPS), with
``activityProgress`` Completed and ``gradingProgress`` FullyGraded, or PendingManual while
written answers wait for the teacher.  A student the last grading did not grade gets no score
(the export says so, as the other formats do).  Posting again sends the same score with a new
timestamp: the LMS keeps the latest, so a rerun is idempotent.  A post the LMS refuses is tried
once more, then listed in ``problems`` (``nncourse export`` exits 1).  The students whose
grade was posted are recorded in ``lti/returned.json``: from then on their launch of the
activity links to their own feedback pages (``app.py``)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import requests
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.service_connector import ServiceConnector

from ..core.course import Course
from ..core.files import atomic_write
from ..lms import deadlines, records
from ..export import ExportError, ExportResult, comment_ja, grade_rows, lms_settings
from . import keys as tool_keys
from . import links
from . import roster as nrps_roster
from .config import JWKS, platform_settings, tool_conf

ATTEMPTS = 2
MAX_REASON_CHARS = 300
JWKS_TIMEOUT_S = 10
START_SERVE = ("the LMS checks the tool's access token request against the tool's JWKS URL, "
               "so `nncourse lti serve` must be running while grades are sent: start it (on "
               "the URL registered on the LMS, LTI_TOOL_URL) and export again; no grade was "
               "posted")


def check_jwks_served(course: Course, conf) -> None:
    """ExportError unless the tool's JWKS URL under LTI_TOOL_URL serves this tool's public key
    (without LTI_TOOL_URL the URL is `lti serve`'s own, unknown here: the token request's
    refusal says it instead)."""
    base = str(course.setting("LTI_TOOL_URL")).rstrip("/")
    if not base:
        return
    url = base + JWKS
    mine = {k.get("kid") for k in conf.get_jwks()["keys"]}
    try:
        resp = requests.get(url, timeout=JWKS_TIMEOUT_S)
        resp.raise_for_status()
        served = {k.get("kid") for k in resp.json()["keys"] if isinstance(k, dict)}
    except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
        raise ExportError(f"the tool's JWKS URL {url} does not answer with a key set "
                          f"({type(exc).__name__}): {START_SERVE}") from None
    if not mine & served:
        raise ExportError(f"the tool's JWKS URL {url} serves another key than this course's "
                          f"tool key (another course's tool, or a server started before "
                          f"`nncourse lti keys --rotate`): {START_SERVE}")


def title(course: Course, aid: str) -> str:
    """The assignment's title: the first heading of its first source notebook, else its id."""
    for cell in course.read_source(aid).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip() or aid
    return aid


def max_points(course: Course, aid: str) -> float:
    """The assignment's points in the LMS: LMS_ASSIGNMENTS[aid]["points"], else the points of
    its graded cells (nbgrader's maximum score), the scoreMaximum the export posts."""
    points = lms_settings(course, aid).get("points")
    if points:
        return float(points)
    return float(sum(float(c.metadata.get("nbgrader", {}).get("points") or 0)
                     for nb in course.notebooks(aid) for c in course.read_source(aid, nb).cells
                     if c.metadata.get("nbgrader", {}).get("grade")))


def line_item(service: AssignmentsGradesService, course: Course, aid: str) -> str:
    """The URL of ``aid``'s line item on the platform, for a launch that offered the line items
    URL only: the one whose resourceId is ``aid``, else one created (label: the assignment's
    title, scoreMaximum: its points, resourceId: ``aid``), so linking again never makes a
    second column.  LtiException when the platform refuses."""
    wanted = (LineItem().set_label(title(course, aid)).set_resource_id(aid)
              .set_score_maximum(max_points(course, aid)))
    found = service.find_or_create_lineitem(wanted, find_by="resource_id").get_id()
    if not found:
        raise LtiException("the platform's line item has no id")
    return found


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
    check_jwks_served(course, conf)
    connector = ServiceConnector(registration)
    try:            # once for all posts (pylti1p3 keeps the token for the same scopes)
        connector.get_access_token(targets[0]["ags"].get("scope") or [])
    except LtiException as exc:     # LtiServiceException: the platform's HTTP answer
        answer = getattr(exc, "response", None)
        why = (f"HTTP {answer.status_code} from {answer.url}" if answer is not None
               else " ".join(str(exc).split())[:MAX_REASON_CHARS])
        raise ExportError(f"the LMS refused the tool's access token request ({why}): "
                          + START_SERVE) from None
    tz = deadlines.timezone_of(course)
    ids = lti_user_ids(course, aid)
    result = ExportResult(aid, "lti")
    result.rows = grade_rows(course, aid, roster)
    when = datetime.now(timezone.utc)
    sent: set[str] = set()
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
                    sent.add(row.student)
                    break
                except LtiException as exc:
                    if attempt == ATTEMPTS:
                        result.problems.append((row.student, "the LMS refused the grade for "
                                                f"{target.get('title')!r}: "
                                                + str(exc)[:MAX_REASON_CHARS]))
    result.files += [f"AGS line item {t['ags']['lineitem']}" for t in targets]
    mark_returned(course, aid, sent, when)
    return result


def returned_path(course: Course) -> Path:
    return course.root / "lti" / "returned.json"


def returned(course: Course, aid: str) -> dict[str, str]:
    """student id -> when their grade of ``aid`` was last posted to the LMS (their launch
    then shows their feedback pages)."""
    got = all_returned(course).get(aid)
    return got if isinstance(got, dict) else {}


def all_returned(course: Course) -> dict:
    """``lti/returned.json``: assignment -> ``returned``'s map; {} when missing or unreadable."""
    try:
        data = json.loads(returned_path(course).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def mark_returned(course: Course, aid: str, students: set[str], when: datetime) -> None:
    """Record that the grades of ``students`` for ``aid`` reached the LMS."""
    if not students:
        return
    data = all_returned(course)
    before = data.get(aid) if isinstance(data.get(aid), dict) else {}
    data[aid] = {**before, **{s: when.isoformat() for s in sorted(students)}}
    atomic_write(returned_path(course), json.dumps(data, ensure_ascii=False, indent=1,
                                                   sort_keys=True))
