"""``write_report``: read the course's result records and gradebook, write the report's
CSVs, plots and page into reports/<aid or all>/."""
from ..core.gradebook import gradebook_scores
from ..core.records import load_results
from ..core.safetext import encodable
from ..lms.sections import late_penalties, similar_submissions
from .csv_files import EXERCISES_CSV, GRADES_CSV, STUDENTS_CSV, write_exercise_csv, \
    write_grades_csv, write_student_csv
from .data import Report, analyse, grade_rows, submissions
from .page import report_page
from .plots import write_plots


def write_report(course, aids, jobs=None, sections=(), warnings=()):
    """Write reports/<aid or all>/{report.html, grades.csv, students.csv, exercises.csv,
    *.png}; returns a Report.

    ``sections``: extra (title, html fragment) pairs shown before the score plots, e.g. the
    mutant/variant table of ``autograders.catalogue``."""
    directory = course.root / "reports" / (aids[0] if len(aids) == 1 else "all")
    directory.mkdir(parents=True, exist_ok=True)
    scores = gradebook_scores(course, aids)
    results = load_results(course, aids)
    subs = submissions(results, scores)
    rows = grade_rows(results, scores, subs)
    csv_path = directory / GRADES_CSV
    write_grades_csv(csv_path, rows)
    write_student_csv(directory / STUDENTS_CSV, aids, subs)
    write_exercise_csv(directory / EXERCISES_CSV, aids, subs)
    analysis = analyse(subs)
    problems = [(student, aid, p) for (student, aid), res in sorted(results.items())
                for p in res.get("problems", [])]
    plots, alts = write_plots(directory, aids, subs, analysis)
    late = late_penalties(course, aids, scores)               # late-penalty section
    sections = list(sections) + ([late] if late else [])
    sections += similar_submissions(course, aids)             # similarity section
    report = Report(directory, directory / "report.html", csv_path, plots, rows, aids,
                    directory / STUDENTS_CSV, directory / EXERCISES_CSV, plot_alts=alts)
    report.html.write_text(encodable(report_page(course, report, results, subs, analysis,
                                                 problems, jobs, sections, warnings)),
                           encoding="utf-8")
    return report
