"""The report's plots (PNG): a score histogram per assignment and for the total, and the
share of outcomes per exercise.  Labels in English (the machine may have no Japanese font);
each plot's alt text, in Japanese, says what it shows."""


OUTCOME_STYLE = [("passed", "full marks", "#59a14f"), ("partial", "partial", "#edc948"),
                 ("mistake", "mistake", "#e15759"), ("not_attempted", "not attempted", "#bab0ac"),
                 ("not_run", "not run (earlier cell stopped)", "#9c755f"),
                 ("flagged", "flagged (grader's call failed)", "#b07aa1")]


def write_plots(directory, aids, subs, analysis):
    """The report's plots: ([png paths], {file name: alt text saying what it shows})."""
    # matplotlib loaded on demand: heavy (about a second), and only the report draws
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    paths, alts = [], {}
    students = sorted({s for s, _ in subs})
    for aid in aids + ["total"]:
        if aid == "total":
            per = [sum(subs[(s, a)].total for a in aids if (s, a) in subs) for s in students]
            pend = [sum(subs[(s, a)].pending_points for a in aids if (s, a) in subs)
                    for s in students]
            max_score = sum(max((sub.max_score for (s, a), sub in subs.items() if a == aid_),
                                default=0) for aid_ in aids)
            failed = sum(1 for s in students if any(
                subs[(s, a)].status != "graded" for a in aids if (s, a) in subs))
            title = f"all assignments: total score (n={len(per)} students)"
        else:
            mine = [sub for (s, a), sub in sorted(subs.items()) if a == aid]
            per = [sub.total for sub in mine if sub.status == "graded"]
            pend = [sub.pending_points for sub in mine if sub.status == "graded"]
            max_score = max((sub.max_score for sub in mine), default=0)
            failed = sum(1 for sub in mine if sub.status != "graded")
            title = f"{aid}: score distribution (n={len(mine)})"
        if not per and not failed:
            continue
        fig, ax = plt.subplots(figsize=(5.2, 3.2))
        top = max(max_score, max(per, default=0), 1)
        bins = [b - 0.5 for b in range(0, int(top) + 2)] if top <= 60 else 20
        ax.hist(per, bins=bins, color="#4878a8", edgecolor="white", label="graded")
        if per:
            mean = sum(per) / len(per)
            ax.axvline(mean, color="#333", linestyle="--", linewidth=1,
                       label=f"mean {mean:.1f} / {max_score:g}")
        ax.set_xlim(-0.7, top + 0.7)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        notes = [f"{failed} submission{'s' if failed > 1 else ''} not graded"] if failed else []
        waiting = sum(1 for q in pend if q)
        if waiting:
            notes.append(f"{waiting} with written answers pending ({sum(pend):g} pts)")
        ax.set_title(title + ("\n" + ", ".join(notes) if notes else ""), fontsize=10)
        ax.set_xlabel(f"score (max {max_score:g}; pending manual points not included)"
                      if waiting else f"score (max {max_score:g})")
        ax.set_ylabel("students")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2,
                  frameon=False)
        fig.tight_layout()
        path = directory / f"scores_{aid}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
        what = "全課題の合計点" if aid == "total" else f"課題 {aid} の得点"
        alts[path.name] = (
            f"{what}の分布 (ヒストグラム、満点 {max_score:g} 点): {len(per)} 人"
            + (f"、平均 {sum(per) / len(per):.1f} 点、最低 {min(per):g} 点、最高 {max(per):g} 点"
               if per else "")
            + (f"。採点できなかった提出 {failed} 件" if failed else "")
            + (f"。記述問題の採点待ち {waiting} 人 ({sum(pend):g} 点分、含まず)" if waiting else ""))
    if analysis.exercises:
        keys = list(analysis.exercises)
        short = {a: a.split("_", 1)[0] for a, _ in keys}     # a1_loss -> a1
        if len(set(short.values())) < len(short):
            short = {a: a for a in short}
        labels = [f"{short[a]}  {g[5:] if g.startswith('test_') else g}" for a, g in keys]
        fig, ax = plt.subplots(figsize=(9, 0.3 * len(keys) + 1.4))
        left = [0.0] * len(keys)
        for kind, label, color in OUTCOME_STYLE:
            vals = [analysis.exercises[k]["bars"].get(kind, 0) / (analysis.exercises[k]["n"] or 1)
                    for k in keys]
            if not any(vals):
                continue
            ax.barh(range(len(keys)), vals, left=left, color=color, label=label, height=0.7)
            left = [l_ + v for l_, v in zip(left, vals)]
        for i, k in enumerate(keys):
            e = analysis.exercises[k]
            ax.text(0.01, i, f"{e['full']}/{e['n']} full", va="center", ha="left", fontsize=7.5,
                    color="black")
        ax.set_yticks(range(len(keys)))
        ax.set_yticklabels(labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.set_title("per exercise (autograded tests): share of submissions", fontsize=10)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=2.2,
                  ncol=3, frameon=False)
        fig.tight_layout()
        path = directory / "exercises.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
        alts[path.name] = ("問題ごとの自動採点の結果 (横棒グラフ): 各テストで満点・間違い・未着手などの"
                           "提出の割合。満点の数: " + "、".join(
                               f"{lab.strip()} {analysis.exercises[k]['full']}/"
                               f"{analysis.exercises[k]['n']}" for lab, k in zip(labels, keys)))
    return paths, alts
