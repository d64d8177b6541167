"""``nncourse``: the command line over nncourse's Python API.

Exit status: 0 success; 1 the job's own failure (a leak in build, a submission that could
not be graded, an export that sent no grade for someone, a failing visible test in check,
validate's conditions not met, files collect could not place); 2 a usage or
course-configuration error (also a roster, deadline or LMS setting that cannot be used, a
download collect cannot read at all); 75 another ``nncourse grade`` is running on the course
(refused, nothing done: run it again later); 130 interrupted (Ctrl-C: what was done is kept,
run the command again for the rest).
"""
import argparse
import logging
import sys

from . import api
from .api import (ArchiveError, BuildError, CohortError, Course, CourseBusy, CourseError,
                  DeadlineError, ExecutorError, ExportError, GradingInterrupted, RosterError,
                  format_pending)
from .core.safetext import encodable

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 75, 130


def _build(course, args):
    try:
        built = api.build(course, args.assignments)
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return EXIT_FAIL
    for aid, path in built.items():
        print(f"{aid}: {path}")
    return EXIT_OK


def _collect(course, args):
    try:
        res = api.collect(course, args.assignment, args.path, roster=args.roster,
                      worksheet=args.worksheet, lms=args.lms, replace=args.replace)
    except (RosterError, ArchiveError) as exc:
        print(f"collect failed: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if hasattr(sys.stdout, "reconfigure"):   # names may not be printable in this encoding
        sys.stdout.reconfigure(errors="backslashreplace")
    print(res.format())
    return EXIT_FAIL if res.unplaced else EXIT_OK


def lti_api():
    """``nncourse/lti/api.py``.  The one import of nncourse made on demand: that layer loads
    Flask, werkzeug and pylti1p3 (about 0.4 s), which only `nncourse lti ...` and `export
    --format lti` need; at the top, every command would pay for them (tests/test_startup.py
    checks that they are not loaded)."""
    from .lti import api as lti   # noqa: PLC0415  (heavy optional layer: see the docstring)
    return lti


def _export(course, args):
    try:
        if args.format == "lti":
            res = lti_api().export(course, args.assignment, roster=args.roster)
        else:
            res = api.export(course, args.assignment, args.format, roster=args.roster,
                             dest=args.dest)
    except (ExportError, DeadlineError, RosterError) as exc:
        print(f"export failed: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(encodable(res.format_text()))
    failed = res.not_graded or (args.format == "lti" and res.problems)
    return EXIT_FAIL if failed else EXIT_OK     # a grade not sent: look at the WARNING


def _similarity(course, args):
    res = api.similarity(course, args.assignment, threshold=args.threshold)
    print(res.format())
    if res.unreadable:
        print(f"nncourse: {len(res.unreadable)} submission(s) could not be read and were not "
              f"compared: {', '.join(res.unreadable)} (why: the 'not compared' lines above; "
              "`nncourse grade` reports the same submissions)", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def _grade(course, args):
    try:
        run = api.grade(course, args.assignments, jobs=args.jobs, force=args.force,
                    progress=not args.no_progress, dask=args.dask, scheduler=args.scheduler)
    except ExecutorError as exc:
        print(f"nncourse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except GradingInterrupted as exc:
        print(f"nncourse: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CourseBusy as exc:
        print(f"nncourse: {exc}", file=sys.stderr)
        return EXIT_BUSY
    print(encodable(summary(run)))          # a name from a submission never stops the print
    return run.exit_status


def summary(run):
    """The text ``grade`` prints: score table, what failed, where the outputs are."""
    loud = [f"{'!' * 78}\n{w}\n{'!' * 78}" for w in getattr(run, "warnings", [])]
    lines = loud + [run.report.format_table(), ""]
    lines.append(f"graded {len(run.results)} submission(s) in {run.seconds:.1f} s, "
                 f"skipped {len(run.skipped)} unchanged"
                 + (f" ({run.executor})" if getattr(run, "executor", "") else ""))
    for r in run.not_graded:
        lines.append(f"NOT GRADED {r['student']}/{r['assignment']}: "
                     + (r.get("error_en") or (r.get("error") or "").splitlines()[0]))
    failures = getattr(run, "grader_failures", [])
    if failures:
        causes = sorted({r.get("error_en") or "" for r in failures})
        lines.append(f"GRADER FAILED for {len(failures)} of {len(run.results)} submission(s) "
                     "(the grading machinery, not the students: fix it and grade again): "
                     + " | ".join(causes[:3]) + (" | …" if len(causes) > 3 else ""))
    for r in run.results:
        for p in r.get("problems", []):
            lines.append(f"problem {r['student']}/{r['assignment']}: {p}")
        for p in r.get("repairs", []):
            lines.append(f"REPAIRED {r['student']}/{r['assignment']}: {p}")
    for student, aid, ids in getattr(run, "manual_changed", []):
        lines.append(f"MANUAL GRADE FLAGGED AGAIN {student}/{aid}: the answer changed since it was "
                     f"graded by hand: {', '.join(ids)}")
    if getattr(run, "feedback_rebuilt", None):
        lines.append(f"feedback rebuilt for {len(run.feedback_rebuilt)} unchanged submission(s) "
                     "whose manual grades or comments changed")
    if hasattr(run, "pending_manual"):
        lines += format_pending(run.pending_manual, getattr(run, "answers_changed", []))
    for r in run.results:
        flags = r.get("flags") or []
        if flags:
            what = "; ".join(f"{f['kind']} x{f['count']} ({f['cell']})" for f in flags[:3])
            lines.append(f"FLAGGED {r['student']}/{r['assignment']}: the grader's calls into the "
                         f"kernel failed: {what}{' …' if len(flags) > 3 else ''} (see the report)")
    lines += [f"report:   {run.report.html}", f"csv:      {run.report.csv}",
              f"feedback: {run.report.directory.parent.parent / 'feedback'}"] + loud
    return "\n".join(lines)


def _formgrader(course, args):
    return EXIT_OK if api.formgrader(course, port=args.port) == 0 else EXIT_FAIL


def _feedback(course, args):
    print(api.feedback(course, args.assignments).format())
    return EXIT_OK


def _validate(course, args):
    res = api.validate(course, args.assignments, jobs=args.jobs, progress=not args.no_progress)
    print(res.format())
    return EXIT_OK if res.ok else EXIT_FAIL


def _check(args):
    res = api.check(args.notebook, course_dir=args.course_dir)
    print(res.format())
    return res.exit_status


def _demo(course, args):
    try:
        run = api.demo(course, args.dir, jobs=args.jobs, progress=not args.no_progress,
                   slow=args.slow)
    except CohortError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print("cohort:")
    for student, what in run.cohort.items():
        print(f"  {student}: {what}")
    print(summary(run))
    # the cohort has broken submissions on purpose: only the grader's own failures fail it
    return EXIT_FAIL if run.grader_failures else EXIT_OK


def _lti(course, args):
    if args.lti_command == "keys":
        folder = lti_api().keys(course, rotate=args.rotate)
        print(f"the LTI tool's key pair is in {folder} (git-ignored; never commit it); the "
              "platform reads the public key from the tool's JWKS URL")
        return EXIT_OK
    for name in ("nncourse.lti", "werkzeug"):    # launches, refusals (reasons only), requests
        logging.getLogger(name).setLevel(logging.INFO)
    server = lti_api().server(course, host=args.host, port=args.port)
    for what, url in server.urls().items():
        print(f"{what}: {url}")
    print("serving the LTI tool; Ctrl-C stops it", flush=True)
    server.serve_forever()
    return EXIT_OK


def parser():
    p = argparse.ArgumentParser(
        prog="nncourse", description="Build, collect, grade and check the course's assignments "
        "(a layer over nbgrader; run it in the course directory).",
        epilog="\n".join(__doc__.split("\n")[2:]), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--course-dir", default=None, help="course directory (default: cwd)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("build", help="generate the releases, refusing any that would leak")
    s.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")

    s = sub.add_parser("collect", help="take submissions from an LMS export into submitted/")
    s.add_argument("assignment", metavar="ASSIGNMENT")
    s.add_argument("path", metavar="PATH", help="a zip, a folder of notebooks or of students")
    s.add_argument("--roster", default=None, help="roster CSV: LMS identity -> student id (学籍番号)")
    s.add_argument("--worksheet", default=None,
                   help="Moodle's grading worksheet CSV (submission times, e-mail addresses)")
    s.add_argument("--lms", choices=("auto", "moodle", "canvas", "files"), default="auto",
                   help="the download's layout (default: from the file names)")
    s.add_argument("--replace", action="store_true",
                   help="let a notebook that is not readable replace a readable one (the old "
                   "one is kept in submitted/.nncourse-backup/)")

    s = sub.add_parser("export", help="grades (late penalties applied) and feedback for the LMS")
    s.add_argument("assignment", metavar="ASSIGNMENT")
    s.add_argument("--format", choices=("moodle", "canvas", "csv", "lti"), required=True,
                   help="lti: post the grades to the LMS gradebook by LTI AGS")
    s.add_argument("--roster", default=None, help="roster CSV (names, e-mail, Canvas/SIS ids)")
    s.add_argument("--dest", default=None, help="folder (default: reports/ASSIGNMENT/export)")

    s = sub.add_parser("similarity", help="pairs of students with similar solution cells")
    s.add_argument("assignment", metavar="ASSIGNMENT")
    s.add_argument("--threshold", type=float, default=None,
                   help="report pairs at or above this (default: SIMILARITY_THRESHOLD)")

    for name, text in (("grade", "autograde, feedback, CSV and report"),
                       ("validate", "grade the reference solutions; fail unless full marks")):
        s = sub.add_parser(name, help=text)
        s.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
        s.add_argument("--jobs", "-j", type=int, default=1, help="submissions graded at once")
        s.add_argument("--no-progress", action="store_true", help="no progress bar")
        if name == "grade":
            s.add_argument("--force", action="store_true", help="regrade unchanged submissions")
            s.add_argument("--dask", choices=["local"], default=None,
                           help="grade on a Dask LocalCluster of --jobs single-threaded workers")
            s.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                           help="grade on the Dask cluster of this scheduler (default: "
                           "DASK_SCHEDULER in course_config.py; none = this machine)")

    s = sub.add_parser("formgrader", help="nbgrader's formgrader for manual grading "
                       "(Jupyter server on 127.0.0.1 with a token; prints the URL)")
    s.add_argument("--port", type=int, default=None, help="port (default: a free one)")

    s = sub.add_parser("feedback", help="rebuild the feedback HTML from the gradebook "
                       "(manual scores and comments), without grading")
    s.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")

    s = sub.add_parser("check", help="(students) run the visible tests of a notebook")
    s.add_argument("notebook", metavar="NOTEBOOK")

    s = sub.add_parser("lti", help="the LTI 1.3 tool (Moodle, Canvas): its keys and its web app")
    lti = s.add_subparsers(dest="lti_command", required=True)
    k = lti.add_parser("keys", help="make the tool's RSA key pair in LTI_KEYS_DIR (git-ignored)")
    k.add_argument("--rotate", action="store_true",
                   help="replace an existing pair (the old private key is kept beside it)")
    k = lti.add_parser("serve", help="serve login initiation, launch and JWKS URLs")
    k.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    k.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: a free one)")

    s = sub.add_parser("demo", help="build, grade a sample cohort, print the results")
    s.add_argument("--dir", default=None, help="where the demo course goes (default: ./demo)")
    s.add_argument("--jobs", "-j", type=int, default=2)
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--slow", action="store_true",
                   help="add a student whose training is too slow (runs into the cell timeout)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    nbgrader_log = logging.getLogger("traitlets")   # nncourse reports nbgrader's errors itself
    nbgrader_log.propagate = False
    nbgrader_log.addHandler(logging.NullHandler())
    try:
        if args.command == "check":
            return _check(args)
        course = Course.load(args.course_dir)
        for line in course.unknown_settings():
            print(f"nncourse: warning: {line}", file=sys.stderr)
        return {"build": _build, "collect": _collect, "export": _export, "grade": _grade,
                "similarity": _similarity, "validate": _validate,
                "formgrader": _formgrader, "feedback": _feedback,
                "lti": _lti, "demo": _demo}[args.command](course, args)
    except CourseError as exc:
        print(f"nncourse: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"nncourse: interrupted ({args.command}); what was finished is kept, run it "
              "again for the rest", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
