"""Every student-facing message of the autograders, in one place (Japanese, lecture terms)."""

HEADER = "[採点] {check}: {problem}"

# problems ---------------------------------------------------------------------------------
RAISED = "実行中にエラー (例外) が発生しました: {etype}: {evalue}"
NOT_IMPLEMENTED = "まだ実装されていません (NotImplementedError)。解答欄のコードを書いてください。"
RETURNED_NONE = "値が返されていません (None)。return を書き忘れていませんか？"
NOT_NUMERIC = "数値 (または NumPy 配列) ではない値が返されました: {got_type}"
WRONG_SHAPE = "配列の形 (shape) が違います。期待: {expected}、あなたの値: {got}"
WRONG_KIND = "配列の要素の型 (dtype) が違います。期待: {expected}、あなたの値: {got}"
HAS_NAN = "結果に NaN (非数) が含まれています。log(0) や 0 での割り算、exp のオーバーフローを確認してください。"
HAS_INF = "結果に inf (無限大) が含まれています。log(0) や exp のオーバーフローを確認してください。"
NOT_CLOSE = "値が正しくありません。"
INPUT_CHANGED = "関数が引数 {arg} の中身を書き換えています。呼び出し元の配列は元のままにしてください。"
TOO_SLOW = "時間がかかりすぎています ({seconds:.1f} 秒、上限 {limit:.0f} 秒)。"
CONDITION = "{what}"
NOT_DEFINED = "{name} が定義されていません。解答のセルを上から順に実行しましたか？"

# detail lines -----------------------------------------------------------------------------
INPUT = "  入力: {desc}"
EXPECTED = "  期待値: {expected}"
GOT = "  あなたの値: {got}"
MAX_ERROR = "  最大の差: {err:.3g} (許容: 相対 {rtol:g}, 絶対 {atol:g})"
HINT = "  ヒント: {hint}"

KIND_NAMES = {"f": "浮動小数点数 (float)", "i": "整数 (int)", "u": "符号なし整数 (uint)",
              "b": "真偽値 (bool)", "c": "複素数 (complex)", "O": "Python オブジェクト",
              "U": "文字列", "S": "バイト列"}


def render(check, problem, *, desc=None, expected=None, got=None, extra=(), hint=None):
    """Join a header line and the detail lines that are given into one message."""
    lines = [HEADER.format(check=check, problem=problem)]
    if desc is not None:
        lines.append(INPUT.format(desc=desc))
    if expected is not None:
        lines.append(EXPECTED.format(expected=expected))
    if got is not None:
        lines.append(GOT.format(got=got))
    lines.extend(extra)
    if hint:
        lines.append(HINT.format(hint=hint))
    return "\n".join(lines)
