"""The catalogue report: per mutant, which test cells lost points and with what message;
per variant, its score.  Markdown or an HTML fragment, written as ``catalogue.md`` and
``catalogue.html`` next to the grading report."""
import html

MAX_MESSAGE = 160       # characters of a message's first line shown in the table


def _first_line(message):
    line = (message or "").strip().split("\n", 1)[0]
    return line if len(line) <= MAX_MESSAGE else line[:MAX_MESSAGE - 1] + "…"


def _ok(o):
    return "yes" if not o.problems else "NO: " + "; ".join(o.problems)


def sections(outcomes):
    """[(title, intro, header, rows)] of the report; rows are lists of plain strings."""
    mutants = [o for o in outcomes if o.entry.kind == "mutant"]
    variants = [o for o in outcomes if o.entry.kind == "variant"]
    per_cell = {}
    for o in mutants:
        for g in o.lost:
            per_cell.setdefault((o.entry.assignment, g), []).append(o.entry.id)
    bad = sum(1 for o in outcomes if o.problems)
    return [
        ("Mutants: what each test catches",
         f"{len(mutants)} mutants and {len(variants)} variants graded through nbgrader; "
         f"{bad} not as the catalogue expects. 'caught by': hidden = an autograders check, "
         "visible = an assert of the test cell, else the exception the cell raised.",
         ["mutant", "assignment", "what", "lost points on (points)", "caught by",
          "message (first line)", "as expected"],
         [[o.entry.id, o.entry.assignment, o.entry.what,
           ", ".join(f"{g} (-{p:g})" for g, p in o.lost.items()) or "none",
           o.caught_by, _first_line(o.messages.get(next(iter(o.lost)), "")) if o.lost else "",
           _ok(o)] for o in mutants]),
        ("Mutants per test cell", "",
         ["assignment", "test cell", "mutants that lose points there"],
         [[aid, g, ", ".join(ids)] for (aid, g), ids in sorted(per_cell.items())]),
        ("Variants: correct answers in other styles", "",
         ["variant", "assignment", "what", "autograded score", "as expected"],
         [[o.entry.id, o.entry.assignment, o.entry.what, f"{o.score:g} / {o.auto_max:g}",
           _ok(o)] for o in variants]),
    ]


def _markdown(parts):
    def row(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ")
                                 for c in cells) + " |"
    lines = ["# Mutants and variants", ""]
    for title, intro, header, rows in parts:
        lines += [f"## {title}", ""] + ([intro, ""] if intro else [])
        lines += [row(header), row(["---"] * len(header))] + [row(r) for r in rows] + [""]
    return "\n".join(lines)


def _html(parts):
    out = []
    for title, intro, header, rows in parts:
        out.append(f"<h3>{html.escape(title)}</h3>")
        if intro:
            out.append(f"<p>{html.escape(intro)}</p>")
        out.append("<table><tr>" + "".join(f"<th class='l'>{html.escape(h)}</th>"
                                          for h in header) + "</tr>")
        for r in rows:
            cls = " class='fail'" if str(r[-1]).startswith("NO") else ""
            out.append(f"<tr{cls}>" + "".join(f"<td class='l'>{html.escape(str(c))}</td>"
                                              for c in r) + "</tr>")
        out.append("</table>")
    return "\n".join(out)


def catalogue_report(outcomes, fmt="markdown"):
    """The mutants and variants graded (``outcomes``, from ``grading.evaluate``) as Markdown
    (or an HTML fragment)."""
    parts = sections(outcomes)
    return _html(parts) if fmt == "html" else _markdown(parts)


def write_catalogue_report(run, course, outcomes):
    """Write ``catalogue.md`` and ``catalogue.html`` into the run's report directory."""
    directory = run.report.directory if run.report else course.root / "reports" / "all"
    directory.mkdir(parents=True, exist_ok=True)
    md = directory / "catalogue.md"
    md.write_text(catalogue_report(outcomes), encoding="utf-8")
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Mutants and variants"
            "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
            "collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
            ".fail{background:#f8c9c4}</style></head><body><h1>Mutants and variants</h1>"
            + catalogue_report(outcomes, fmt="html")
            + "</body></html>")
    (directory / "catalogue.html").write_text(page, encoding="utf-8")
    return md
