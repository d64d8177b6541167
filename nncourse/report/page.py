"""report.html: what to do next, then every table the teacher reads (scores per student,
pending and given manual grades, frequent mistakes, not attempted, per exercise, time limits
and crashes, flagged calls), the sections of ``lms/`` and the plots; every table with a
caption and header scopes (``accessible_tables``)."""
import html
import re
from collections import Counter, defaultdict
from datetime import datetime

from .data import ranked_mistakes

TOP_FAILURES = 10           # rows of "most frequent mistakes"
NEXT_STEP_MISTAKES = 3      # mistakes named in "next steps"
LOW_SUCCESS = 0.5           # an exercise with fewer full marks than this is named in "next steps"
STYLE = ("body{font-family:'Noto Sans CJK JP','Hiragino Sans','Yu Gothic',sans-serif;margin:2em;"
         "max-width:1200px;line-height:1.45}h2{margin-top:1.6em;border-bottom:1px solid #ddd}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
         "padding:3px 8px;text-align:right;vertical-align:top}td.l,th.l{text-align:left}"
         "th{background:#f4f4f4}td.msg{max-width:480px}td .sub{display:block;font-size:80%;"
         "color:#555}.pend{display:inline-block;font-size:80%;background:#fff1d6;color:#8a5300;"
         "border-radius:3px;padding:0 4px;margin-top:2px}.full{background:#e3f4e1}"
         ".zero{background:#fbe3e1}.fail{background:#f8c9c4}.none{color:#666}.warn{color:#b00}"
         ".next{background:#f3f7fc;border:1px solid #c9d8ea;padding:0 1.2em .6em;border-radius:6px}"
         ".next h2{border:none}.note{color:#444;font-size:90%}.meta{color:#333}"
         "pre{white-space:pre-wrap;margin:0}details summary{cursor:pointer;color:#555;font-size:85%}"
         ".plots img{margin:4px;border:1px solid #eee;max-width:100%;height:auto;vertical-align:top}"
         # readable at 200 % zoom and on a phone: wide tables scroll in their own box
         ".scroll{overflow-x:auto;max-width:100%}caption{text-align:left;font-weight:bold;"
         "padding:2px 0}@media (max-width:700px){body{margin:.6em}}")
FLAGGED_TITLE = "要確認 (Flagged): the grader's calls into the kernel failed or were slow"
FLAG_KINDS = {     # flag kind -> what happened (nncourse/kernel/checks.py, execute.py)
    "timeout": "a check's call did not finish in time (an infinite loop, or a kernel that ignores the grader)",
    "protocol": "the kernel answered a check's call with something that is not a reply "
                "(IPython or the call server changed, or data over the size limits)",
    "died": "the kernel died during a check's call",
    "too_large": "a check's call returned a value over the size limits (MAX_REPLY_BYTES; "
                 "refused unread: a huge array or string where a number was expected)",
    "grader_error": "a hidden check crashed (a bug in autograders/, not the student's fault)",
    "slow": "a check's calls took longer than SLOW_CHECK_S (a function that is slow, perhaps "
            "only when the grader calls it: it stretched grading; its points stand)",
}
FLAGGED_NOTE = ("Often an honest bug (an endless loop); tampering with the kernel shows up here too. "
                "No point was given for these cells, except the slow ones.")


def _esc(x):
    return html.escape(str(x))


def _short_text(text, n=90):
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n - 1] + "…"


def _names(names):
    return ", ".join(_esc(n) for n in names)


def next_steps(report, results, subs, analysis, flagged):
    """The short list at the top: what to do next, most urgent first (HTML <li> items)."""
    items = []
    broken = [k for k, r in sorted(results.items())
              if r["status"] != "graded" and r.get("cause") == "grader"]
    if broken:
        causes = sorted({results[k].get("error_en") or "" for k in broken})
        items.append(f"<b>採点システムの不具合 (grader failure) {len(broken)} 件</b> "
                     f"({_names(f'{s}/{a}' for s, a in broken)}): 学生の責任ではありません。"
                     f"原因を直してから採点し直す (fix, then grade again): "
                     f"<code>{_names(causes[:3])}</code>")
    not_graded = [k for k, r in sorted(results.items())
                  if r["status"] != "graded" and r.get("cause") != "grader"]
    if not_graded:
        items.append(f"<b>採点できなかった提出 {len(not_graded)} 件</b> "
                     f"({_names(f'{s}/{a}' for s, a in not_graded)}): 理由を読み、必要なら学生に"
                     "再提出を依頼する → <a href='#not-graded'>採点できなかった提出</a>")
    if flagged:
        who = sorted({f"{s}/{a}" for s, a, _ in flagged})
        items.append(f"<b>要確認 (flagged) {len(who)} 件</b> ({_names(who)}): 採点のための呼び出しが"
                     "失敗しました。コードを読んで確かめる → <a href='#flagged'>要確認</a>")
    pending = [(sub, g, p) for sub in subs.values() for g, p in sub.pending]
    if pending:
        people = sorted({sub.student for sub, _, _ in pending})
        points = sum(p for _, _, p in pending)
        changed = sum(len(sub.changed) for sub in subs.values())
        items.append(f"<b>記述問題の採点 {len(pending)} 件</b> ({len(people)} 人、計 {points:g} 点) が"
                     "採点待ちです: <code>nncourse formgrader</code> で採点し、<code>nncourse grade"
                     "</code> でフィードバックを更新する"
                     + (f" (うち {changed} 件は再提出で解答が変わったため採点し直し)" if changed else "")
                     + " → <a href='#pending'>採点待ち</a>")
    for (aid, key), m in ranked_mistakes(analysis)[:NEXT_STEP_MISTAKES]:
        items.append(f"よくある間違い: 「{_esc(_short_text(key, 70))}」 — <b>{len(m['students'])} 人"
                     f"</b> ({_esc(aid)}: {_esc(', '.join(m['cells']))}; {_names(m['students'][:6])}"
                     f"{' …' if len(m['students']) > 6 else ''}) → 授業で補足する候補 "
                     "<a href='#mistakes'>よくある間違い</a>")
    low = [(k, e) for k, e in analysis.exercises.items()
           if e["n"] and e["full"] / e["n"] < LOW_SUCCESS]
    if low:
        low.sort(key=lambda ke: ke[1]["full"] / ke[1]["n"])
        items.append("満点の割合が低い問題: " + ", ".join(
            f"{_esc(a)}/{_esc(g)} ({e['full']}/{e['n']})" for (a, g), e in low[:5])
            + (" …" if len(low) > 5 else "") + " → <a href='#exercises'>問題ごとの結果</a>")
    idle = Counter()
    for (aid, gid), who in analysis.not_attempted.items():
        idle.update(who)
    if idle:
        items.append(f"未着手 (not attempted) の問題がある学生 {len(idle)} 人: "
                     + ", ".join(f"{_esc(s)} ({n})" for s, n in idle.most_common(8))
                     + (" …" if len(idle) > 8 else "") + " — 声をかける候補 → "
                     "<a href='#not-attempted'>未着手</a>")
    if not items:
        items.append("すべて採点済みです。気になる点はありません。")
    return items


def report_page(course, report, results, subs, analysis, problems, jobs, sections=(), warnings=()):
    aids = report.assignments
    students = sorted({s for s, _ in subs})
    not_graded = [(s, a, (r.get("error") or "") + (f"\n{r['error_en']}" if r.get("error_en") else ""))
                  for (s, a), r in sorted(results.items()) if r["status"] != "graded"]
    flagged = [(s, a, f) for (s, a), r in sorted(results.items()) for f in r.get("flags") or []]
    pending_n = sum(len(sub.pending) for sub in subs.values())
    out = [f"<!DOCTYPE html><html lang='ja'><head><meta charset='utf-8'>"
           "<meta name='viewport' content='width=device-width, initial-scale=1'><title>採点レポート "
           f"(Grading report): {_esc(course.course_id)}</title><style>{STYLE}</style></head><body>",
           f"<h1>採点レポート (Grading report) — {_esc(course.course_id)}</h1>",
           f"<p class='meta'>{datetime.now():%Y-%m-%d %H:%M} · 課題 (assignments): "
           f"{_esc(', '.join(aids))} · {len(students)} 人 (students) · {len(results)} 提出 "
           f"(submissions) · <b>{len(not_graded)} 件 採点できず (could not be graded)</b> · "
           f"<b>{pending_n} 件 採点待ち (pending manual)</b> · CSV: "
           + " · ".join(f"<a href='{p.name}'>{p.name}</a>"
                        for p in (report.csv, report.students_csv, report.exercises_csv) if p)
           + "</p>"]
    out += [f"<h2 class='warn'>{_esc(w)}</h2>" for w in warnings]
    out.append("<div class='next'><h2 id='next'>次にすること (Next steps)</h2><ol>"
               + "".join(f"<li>{i}</li>" for i in next_steps(report, results, subs, analysis,
                                                            flagged))
               + "</ol></div>")
    if not_graded:
        out += _per_submission_table("<h2 id='not-graded' class='warn'>採点できなかった提出 "
                                     "(Could not be graded)</h2>", "理由 (reason)", not_graded,
                                     pre=True)
    out += _student_table(aids, students, subs)
    out += _pending_table(subs)
    out += _graded_table(subs)
    out += _mistakes_table(analysis)
    out += _not_attempted_table(analysis, subs)
    out += _exercise_table(analysis)
    if problems:
        out += _per_submission_table("<h2 class='warn'>時間切れ・カーネル停止 (Time limits and "
                                     "crashes)</h2>", "メッセージ (message)", problems)
    if flagged:
        out.append(f"<h2 id='flagged' class='warn'>{FLAGGED_TITLE}</h2><p>{_esc(FLAGGED_NOTE)}</p>"
                   "<table><tr><th class='l'>student</th><th class='l'>assignment</th>"
                   "<th class='l'>cell</th><th class='l'>what happened</th><th>times</th></tr>")
        out += [f"<tr><td class='l'>{_esc(s)}</td><td class='l'>{_esc(a)}</td>"
                f"<td class='l'>{_esc(f.get('cell', ''))}</td><td class='l'>"
                f"{_esc(FLAG_KINDS.get(f.get('kind'), f.get('kind', '')))}"
                f": {_esc(f.get('detail', ''))}</td><td>{int(f.get('count', 1))}</td></tr>"
                for s, a, f in flagged]
        out.append("</table>")
    for title, fragment in sections:
        out.append(f"<h2>{_esc(title)}</h2>{fragment}")
    out.append("<h2 id='plots'>得点分布 (Score distributions)</h2><div class='plots'>")
    out += [f"<img src='{p.name}' alt='{_esc(report.plot_alts.get(p.name, p.stem))}'>"
            for p in report.plots]
    out.append(f"</div><p><small>feedback: {_esc(course.root / 'feedback')} · "
               f"jobs: {jobs or '-'}</small></p></body></html>")
    return accessible_tables("\n".join(out))


def _per_submission_table(heading, what, rows, pre=False):
    """``heading`` (an <h2>) over a table of (student, assignment, ``what``) ``rows``; ``pre``:
    the text keeps its line breaks."""
    text = "<pre>{}</pre>" if pre else "{}"
    return ([f"{heading}<table><tr><th class='l'>学生 (student)</th><th class='l'>課題 "
             f"(assignment)</th><th class='l'>{what}</th></tr>"]
            + [f"<tr><td class='l'>{_esc(s)}</td><td class='l'>{_esc(a)}</td>"
               f"<td class='l'>{text.format(_esc(t))}</td></tr>" for s, a, t in rows]
            + ["</table>"])


_TABLE_PARTS = re.compile(r"<h2\b[^>]*>(.*?)</h2>|<table\b[^>]*>|</table>|<tr\b|<th\b(?![^>]*\bscope=)",
                          re.S)


def accessible_tables(page):
    """Every table of the report page (its own and the sections' fragments) with a caption
    (the heading above it), ``scope`` on its header cells (``col`` in the first row, ``row``
    after) and a box of its own that scrolls sideways when the page is narrow (200 % zoom, a
    phone)."""
    state = {"heading": "", "count": 0, "row": 0}

    def fix(m):
        tag = m.group(0)
        if m.group(1) is not None:                       # a section heading
            state.update(heading=html.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip(),
                         count=0)
            return tag
        if tag.startswith("<table"):
            state["count"] += 1
            state["row"] = 0
            caption = state["heading"] + (f" ({state['count']})" if state["count"] > 1 else "")
            return f"<div class='scroll'>{tag}<caption>{_esc(caption)}</caption>"
        if tag == "</table>":
            return "</table></div>"
        if tag == "<tr":
            state["row"] += 1
            return tag
        return f"<th scope='{'col' if state['row'] <= 1 else 'row'}'"
    return _TABLE_PARTS.sub(fix, page)


def _student_table(aids, students, subs):
    out = ["<h2 id='students'>学生ごとの得点 (Scores per student)</h2>"
           "<p class='note'>各課題: 合計 / 満点、その下に 自動 (autograded) と 手動 (manual: 記述問題)。"
           "<span class='pend'>採点待ち</span> の点は合計に入っていません。</p>"
           "<table><tr><th class='l'>学生 (student)</th>"
           + "".join(f"<th>{_esc(a)}</th>" for a in aids)
           + "<th>合計 (total)</th><th>採点待ち (pending)</th></tr>"]
    for student in students:
        cells, tot, tot_max, pend = [], 0.0, 0.0, 0.0
        for a in aids:
            sub = subs.get((student, a))
            if sub is None:
                cells.append("<td class='none'>— (none)</td>")
                continue
            cls = ("fail" if sub.status != "graded" else
                   "full" if sub.max_score and sub.total >= sub.max_score else
                   "zero" if sub.total == 0 else "")
            detail = ("<span class='sub'>(not graded) 採点できず</span>" if sub.status != "graded"
                      else f"<span class='sub'>自動 {sub.auto:g}/{sub.auto_max:g} · 手動 "
                           f"{sub.manual:g}/{sub.manual_max:g}</span>")
            if sub.pending:
                detail += f"<span class='pend'>採点待ち {sub.pending_points:g} 点</span>"
            cells.append(f"<td class='{cls}'>{sub.total:g} / {sub.max_score:g}{detail}</td>")
            tot, tot_max, pend = tot + sub.total, tot_max + sub.max_score, pend + sub.pending_points
        out.append(f"<tr><td class='l'>{_esc(student)}</td>{''.join(cells)}"
                   f"<td><b>{tot:g} / {tot_max:g}</b></td>"
                   f"<td>{f'{pend:g} 点' if pend else '—'}</td></tr>")
    out.append("</table>")
    return out


def _pending_table(subs):
    rows = [sub for _, sub in sorted(subs.items()) if sub.pending]
    out = ["<h2 id='pending'>採点待ちの記述問題 (Pending manual grading)</h2>"]
    if not rows:
        out.append("<p>採点待ちはありません (nothing pending).</p>")
        return out
    total = sum(len(sub.pending) for sub in rows)
    out.append(f"<p class='note'>{total} 件 ({len({s.student for s in rows})} 人)。"
               "<code>nncourse formgrader</code> で開き、Manage Submissions → 課題 → "
               "学生 の順に採点します。採点後に <code>nncourse grade</code> を実行すると、"
               "フィードバックとこのレポートが更新されます。</p><table><tr><th class='l'>学生 "
               "(student)</th><th class='l'>課題 (assignment)</th><th class='l'>セル (cells)</th>"
               "<th>点 (points)</th><th class='l'>メモ (note)</th></tr>")
    for sub in rows:
        changed = [g for g, _ in sub.pending if g in sub.changed]
        note = (f"再提出で解答が変わりました (answer changed since graded): {', '.join(changed)} "
                "を採点し直してください") if changed else ""
        out.append(f"<tr><td class='l'>{_esc(sub.student)}</td><td class='l'>{_esc(sub.aid)}</td>"
                   f"<td class='l'>{_esc(', '.join(g for g, _ in sub.pending))}</td>"
                   f"<td>{sub.pending_points:g}</td><td class='l'>{_esc(note)}</td></tr>")
    out.append("</table>")
    return out


def _graded_table(subs):
    rows = [(sub, g) for _, sub in sorted(subs.items()) for g in sub.graded]
    if not rows:
        return []
    out = ["<h2 id='graded'>採点済みの記述問題 (Manual grades given)</h2><table><tr>"
           "<th class='l'>学生 (student)</th><th class='l'>課題 (assignment)</th>"
           "<th class='l'>セル (cell)</th><th>点 (points)</th><th class='l'>コメント (comment)</th></tr>"]
    out += [f"<tr><td class='l'>{_esc(sub.student)}</td><td class='l'>{_esc(sub.aid)}</td>"
            f"<td class='l'>{_esc(gid)}</td><td>{score:g} / {mx:g}</td>"
            f"<td class='l msg'>{_esc(comment)}</td></tr>" for sub, (gid, score, mx, comment) in rows]
    out.append("</table>")
    return out


def _mistakes_table(analysis):
    out = ["<h2 id='mistakes'>よくある間違い (Most frequent failures: mistakes by hint)</h2>",
           "<p class='note'>採点のチェックが出したヒント (ヒント: …) ごとにまとめています。ヒントの"
           "ないものはメッセージの 1 行目で。未着手 (NotImplementedError、空の解答) は"
           "<a href='#not-attempted'>別に数えます</a>。</p>"]
    ranked = ranked_mistakes(analysis)
    if not ranked:
        out.append("<p>間違いはありません (no mistakes).</p>")
        return out
    out.append("<table><tr><th>人数 (students)</th><th class='l'>課題 / テスト (assignment / "
               "tests)</th><th class='l'>ヒント (hint)</th><th class='l'>学生 (who)</th></tr>")
    for (aid, key), m in ranked[:TOP_FAILURES]:
        example = m["example"]
        out.append(f"<tr><td>{len(m['students'])}</td><td class='l'>{_esc(aid)} / "
                   f"{_esc(', '.join(m['cells']))}</td><td class='l msg'>{_esc(key)}"
                   f"<details><summary>メッセージの例 (example message)</summary><pre>"
                   f"{_esc(example)}</pre></details></td>"
                   f"<td class='l'>{_names(m['students'])}</td></tr>")
    out.append("</table>")
    if len(ranked) > TOP_FAILURES:
        out.append(f"<p class='note'>ほか {len(ranked) - TOP_FAILURES} 種類 "
                   f"({len(ranked) - TOP_FAILURES} more): exercises.csv を参照。</p>")
    return out


def _not_attempted_table(analysis, subs):
    out = ["<h2 id='not-attempted'>未着手 (Not attempted)</h2>",
           "<p class='note'>テストが使う関数がスタブのまま (NotImplementedError) か解答のセルが空、"
           "または記述問題が空欄のままのもの (間違いとは数えません)。前のセルで止まって実行され"
           "なかったテストは「未実行 (not run)」として別に示します。</p>"]
    per = defaultdict(lambda: {"idle": [], "not_run": []})    # (student, aid) -> cells
    for (aid, gid), who in analysis.not_attempted.items():
        for student in who:
            per[(student, aid)]["idle"].append(gid)
    for (aid, gid), who in analysis.not_run.items():
        for student in who:
            per[(student, aid)]["not_run"].append(gid)
    if not per:
        out.append("<p>ありません (none).</p>")
        return out
    out.append("<table><tr><th class='l'>学生 (student)</th><th class='l'>課題 (assignment)</th>"
               "<th>未着手 (not attempted)</th><th>未実行 (not run)</th>"
               "<th class='l'>セル (cells)</th></tr>")
    for (student, aid), cells in sorted(per.items()):
        sub = subs.get((student, aid))
        n_cells = len(sub.cells) if sub else 0
        listed = ", ".join(cells["idle"] + [f"{g} (未実行)" for g in cells["not_run"]])
        everything = sub is not None and len(cells["idle"]) == n_cells
        out.append(f"<tr><td class='l'>{_esc(student)}</td><td class='l'>{_esc(aid)}</td>"
                   f"<td>{len(cells['idle'])} / {n_cells}</td><td>{len(cells['not_run']) or '—'}"
                   f"</td><td class='l msg'>{'全部 (everything) — ' if everything else ''}"
                   f"<details><summary>{len(cells['idle']) + len(cells['not_run'])} セル</summary>"
                   f"{_esc(listed)}</details></td></tr>")
    out.append("</table>")
    return out


def _exercise_table(analysis):
    out = ["<h2 id='exercises'>問題ごとの結果 (Scores per exercise, autograded tests)</h2>"
           "<table><tr><th class='l'>課題 (assignment)</th><th class='l'>テスト (test)</th>"
           "<th>配点 (points)</th><th>平均 (mean)</th><th>満点 (full marks)</th>"
           "<th>間違い (mistakes)</th><th>未着手 (not attempted)</th>"
           "<th class='l'>いちばん多い間違い (most common mistake)</th></tr>"]
    for (aid, gid), e in analysis.exercises.items():
        n = e["n"] or 1
        share = e["full"] / n
        common = e["mistakes"].most_common(1)
        common_text = (f"{_esc(_short_text(common[0][0], 80))} ({common[0][1]})"
                       if common else "—")
        cls = "full" if share >= 0.999 else "zero" if share < LOW_SUCCESS else ""
        out.append(f"<tr><td class='l'>{_esc(aid)}</td><td class='l'>{_esc(gid)}</td>"
                   f"<td>{e['points']:g}</td><td>{e['total'] / n:.2f}</td>"
                   f"<td class='{cls}'>{share:.0%} ({e['full']}/{e['n']})</td>"
                   f"<td>{e['outcomes'].get('mistake', 0)}</td>"
                   f"<td>{e['outcomes'].get('not_attempted', 0)}</td>"
                   f"<td class='l msg'>{common_text}</td></tr>")
    out.append("</table>")
    return out
