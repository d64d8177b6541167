"""テストの結果のまとめ: 課題のノートブックの最後の「見えているテストの結果」の表を作るファイルです。

課題のノートブックと一緒に配布されます。ノートブックと同じフォルダに置いてください (Google Colab では
左の「ファイル」にアップロードします)。書き換えないでください。

ノートブックの補助関数のセルが watch_cells() を呼ぶと、テストセル (1 行目が「# テストセル: 名前」のセル) を
実行するたびに、合格したかどうかとメッセージを覚えておきます。最後のセルの Summary([...]) が、それを表に
します。この表は自分で確かめるためのもので、採点には使われません。

(For instructors: one file, source/<assignment>/check_summary.py in every assignment is a symlink
to reference/check_summary.py, so ``nncourse build`` ships a copy beside every released notebook.
It runs only in the student's kernel: the grader decides every test cell itself, and
``nbgrader autograde`` replaces a submitted copy with the course's.)
"""
import html as _html

try:
    from IPython import get_ipython
except ImportError:  # IPython がない (python コマンドだけ) とき
    def get_ipython():
        return None

_test_results = {}   # テストセルの名前 -> (合格したか, メッセージ)
_cell_errors = {}    # テストセル以外でエラーになったセルの 1 行目 -> メッセージ


def _error_text(err):
    """エラー err を、まとめの表に出す短い説明にする。"""
    if isinstance(err, AssertionError):
        return str(err) or "テストの条件 (assert) が成り立ちませんでした。"
    if isinstance(err, NotImplementedError):
        return str(err) or "まだ実装していません。"
    if isinstance(err, NameError):
        return (f"{type(err).__name__}: {err} — この名前を定義するセルがまだ実行されていないか、"
                "エラーで止まっています。上のセルから順に実行してください。")
    return f"{type(err).__name__}: {err}"


def _record(result):
    """セルを実行するたびに IPython が呼ぶ関数: テストセルの結果と、ほかのセルのエラーを覚える。"""
    lines = (getattr(getattr(result, "info", None), "raw_cell", "") or "").strip().splitlines()
    if not lines:
        return
    err = result.error_before_exec or result.error_in_exec
    if lines[0].startswith("# テストセル:"):
        _test_results[lines[0].split(":", 1)[1].strip()] = (err is None, err and _error_text(err))
    elif err is not None:
        _cell_errors[lines[0]] = _error_text(err)
    else:
        _cell_errors.pop(lines[0], None)


def watch_cells():
    """記録を空にして、_record を IPython に登録する (セルを実行し直しても 1 回だけ)。"""
    _test_results.clear()
    _cell_errors.clear()
    shell = get_ipython()
    if shell is None:  # IPython の外 (python コマンドなど) では記録しない
        return
    for f in [f for f in shell.events.callbacks["post_run_cell"] if getattr(f, "__name__", "") == "_record"]:
        shell.events.unregister("post_run_cell", f)
    shell.events.register("post_run_cell", _record)


class Summary:
    """テストの結果のまとめ。Jupyter では表 (HTML)、それ以外では文字で表示される。"""

    NOTE = ("✓ は「見えているテストに合格した」という意味で、点数ではありません。点数は提出後の採点で、"
            "隠しテスト (別の入力での確認) も含めて決まります。記述問題 (教員が採点) はこの表に入りません。"
            "コードを直したら、そのテストセルを実行し直すか「Restart Kernel and Run All Cells」を"
            "実行して、このセルをもう一度実行してください。")

    def __init__(self, checks):
        self.rows = []
        for label, name, points in checks:
            passed, message = _test_results.get(name, (None, "まだ実行していません。"))
            mark = "✓" if passed else ("−" if passed is None else "✗")
            self.rows.append((label, name, points, mark, message or ""))
        self.errors = dict(_cell_errors)

    def _head(self):
        ok = [r for r in self.rows if r[3] == "✓"]
        return (f"見えているテストの結果: {len(ok)} / {len(self.rows)} 個のテストセルが合格 "
                f"(配点 {sum(r[2] for r in ok)} / {sum(r[2] for r in self.rows)} 点分)")

    def _repr_html_(self):
        color = {"✓": "#1a7f37", "✗": "#cf222e", "−": "#6e7781"}
        cells = "".join(
            f"<tr><td style='text-align:left;white-space:nowrap'>{_html.escape(label)}</td>"
            f"<td style='text-align:left'><code>{_html.escape(name)}</code></td>"
            f"<td style='white-space:nowrap'>{points} 点</td><td style='color:{color[mark]};font-weight:bold'>{mark}</td>"
            f"<td style='text-align:left;white-space:pre-wrap'>{_html.escape(message)}</td></tr>"
            for label, name, points, mark, message in self.rows)
        errors = "".join(f"<li><code>{_html.escape(first)}</code>: {_html.escape(text)}</li>"
                         for first, text in self.errors.items())
        errors = f"<p>テストセル以外でエラーになったセル:</p><ul>{errors}</ul>" if errors else ""
        return (f"<p><b>{_html.escape(self._head())}</b></p><table><tr><th>問</th><th>テストセル</th>"
                f"<th>配点</th><th>結果</th><th style='text-align:left'>メッセージ (ヒント)</th></tr>"
                f"{cells}</table>{errors}<p>{_html.escape(self.NOTE)}</p>")

    def __repr__(self):
        lines = [self._head()]
        for label, name, points, mark, message in self.rows:
            lines.append(f"{mark} {label} ({points} 点) {name}")
            lines += ["    " + line for line in message.splitlines()]
        if self.errors:
            lines.append("テストセル以外でエラーになったセル:")
            lines += [f"  {first}: {text}" for first, text in self.errors.items()]
        return "\n".join(lines + [self.NOTE])
