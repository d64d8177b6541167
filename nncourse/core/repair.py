"""Honest mistakes in a submission's structure are repaired before nbgrader reads it.

nbgrader refuses a whole notebook for things students do without meaning any harm: a test
cell copied and pasted (the same ``grade_id`` twice), a cell pasted from another notebook
(a ``grade_id`` this assignment does not have), nbgrader metadata of another nbgrader
version (``schema_version`` 1/2/4, missing or extra keys) or lost by an editor.
``RepairSubmission`` runs first among nbgrader's sanitize preprocessors
(``nbconfig.grading_config``) and makes the notebook one nbgrader grades, as far as it allows:

- the nbgrader metadata of every graded or locked cell is taken from the trusted source
  notebook (``source/<assignment>/``), by ``grade_id``; nbgrader's OverwriteCells then puts
  back the source of every locked cell (test cells) and the points, as it always does; a
  value the student changed (a test cell's ``points`` made 100, ``locked`` turned off) is
  announced, never restored silently;
- a ``grade_id`` seen again (a copied cell): the first cell keeps it, the others become
  plain cells (they still run, they are not graded), so copying never adds points;
- a ``grade_id`` the source does not have, or nbgrader metadata without one: removed;
- a cell without nbgrader metadata whose cell ``id`` is a ``grade_id`` of the source that
  no other cell has (metadata lost by an editor): the source's metadata is put back.

What was repaired is stored in the notebook (``metadata.nncourse.repairs``, replaced on
every run: a student cannot write it) as a Japanese sentence for the student's feedback and
an English line for the instructor (``repair_notes``).

(A pasted image in a written answer, ``![image.png](attachment:image.png)``, needs no
repair: ``sanitize.py`` renders markdown with the cell's attachments.)
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

NOTES_KEY = "nncourse"          # notebook metadata: {"repairs": [{"ja": ..., "en": ...}]}
IGNORED_KEYS = ("checksum", "cell_type")     # nbgrader writes these itself (release, autograde)


def _cell_name(cell, meta):
    """How the student calls the cell: テストセル / 解答セル / セル, and its grade_id."""
    what = ("テストセル" if cell.cell_type == "code" and meta.get("grade")
            and not meta.get("solution") else "解答セル" if meta.get("solution") else "セル")
    return f"{what} {meta['grade_id']}"


def source_metadata(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """{grade_id: nbgrader metadata} of the trusted source notebook at ``path``."""
    nb = nbformat.read(str(path), as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if isinstance(meta, dict) and meta.get("grade_id"):
            out[meta["grade_id"]] = {k: v for k, v in meta.items() if k not in IGNORED_KEYS}
    return out


def _points_text(value, other):
    """A cell's points as a short number, or ``other`` when it is not one (the student's
    value is never printed as it is)."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"{value:g}"
    except OverflowError:
        pass
    return other


def _same_points(mine, source):
    try:
        return float(mine) == float(source) and not isinstance(mine, bool)
    except (TypeError, ValueError, OverflowError):
        return False


def _changed(mine, source):
    """The keys whose values the submission changed from the source's (both have the key)."""
    keys = sorted(k for k in set(mine) & set(source) if k != "schema_version")
    return [k for k in keys if not (_same_points(mine[k], source[k]) if k == "points"
                                    else mine[k] == source[k])]


def _as_source(cell, meta):
    """Give ``cell`` the source cell's nbgrader metadata ``meta`` (a copy)."""
    cell.metadata["nbgrader"] = copy.deepcopy(meta)


def repair_notebook(nb: nbformat.NotebookNode,
                    source_meta: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """Repair ``nb`` in place against ``source_meta`` (``source_metadata``); returns the notes
    [{"ja": sentence for the student, "en": line for the instructor}], also stored in it."""
    seen, duplicates, unknown, other_version, restored, dropped = set(), {}, [], [], [], 0
    changed = []                   # (cell's name, grade_id, [keys], the student's points)
    present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells
               if isinstance(c.metadata.get("nbgrader"), dict)}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            cid = cell.get("id")
            if cid in source_meta and cid not in present and cid not in seen:
                _as_source(cell, source_meta[cid])      # metadata lost by an editor
                restored.append(cid)
                seen.add(cid)
            continue
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(gid, str) or gid not in source_meta:
            del cell.metadata["nbgrader"]
            if isinstance(gid, str) and gid:
                unknown.append(gid)
            else:
                dropped += 1
            continue
        if gid in seen:            # grade_id -> [its name, how many cells had it, code?]
            duplicates.setdefault(gid, [_cell_name(cell, source_meta[gid]), 1,
                                        cell.cell_type == "code"])[1] += 1
            del cell.metadata["nbgrader"]
            continue
        seen.add(gid)
        mine = {k: v for k, v in meta.items() if k not in IGNORED_KEYS}
        if mine.get("schema_version") != source_meta[gid].get("schema_version") \
                or set(mine) != set(source_meta[gid]):
            other_version.append((gid, mine.get("schema_version")))
        keys = _changed(mine, source_meta[gid])
        if keys:
            changed.append((_cell_name(cell, source_meta[gid]), gid, keys, mine.get("points")))
        _as_source(cell, source_meta[gid])
    notes = []
    for gid, (name, n, code) in duplicates.items():
        notes.append({"ja": f"同じ{name} が {n} つあったため、2 つ目{'から' if n > 2 else ''}は"
                            "採点に使っていません"
                            + (" (ふつうのセルとして実行はしています)。" if code else "。"),
                      "en": f"cell {gid} appeared {n} times: graded the first, the copies ran "
                            "as plain cells"})
    if unknown:
        notes.append({"ja": "この課題のノートブックにないセル ("
                            f"{', '.join(unknown)}) は採点に使っていません。別のノートブックから"
                            "コピーしたセルではありませんか？",
                      "en": f"cells with grade_ids this assignment does not have were not graded: "
                            f"{', '.join(unknown)}"})
    if dropped:
        notes.append({"ja": f"採点用の情報 (nbgrader のメタデータ) が壊れていたセル {dropped} 個は、"
                            "ふつうのセルとして扱いました。",
                      "en": f"{dropped} cell(s) with broken nbgrader metadata (no grade_id) "
                            "treated as plain cells"})
    if other_version:
        versions = sorted({str(v) for _, v in other_version})
        notes.append({"ja": "採点用の情報 (nbgrader のメタデータ) が配布したものと違う形式"
                            "だったため、配布時のものに置き換えて採点しました。",
                      "en": f"nbgrader metadata of {len(other_version)} cell(s) was of another "
                            f"form (schema_version {', '.join(versions)}): replaced by the "
                            "source's"})
    for name, gid, keys, points in changed:
        source = source_meta[gid]
        if "points" in keys:
            was = _points_text(points, "")
            now = _points_text(source["points"], "?")
            notes.append({"ja": f"{name} の配点 (points) が変更されていたため、元に戻して採点しました "
                                f"({f'{was} 点' if was else '数値でない値'} → {now} 点)。",
                          "en": f"cell {gid}: points changed in the submission "
                                f"({_points_text(points, 'not a number')} instead of {now}): "
                                "graded with the source's points"})
        others = [k for k in keys if k != "points"]
        if others:
            notes.append({"ja": f"{name} の採点用の情報 (nbgrader のメタデータ: {', '.join(others)}) "
                                "が配布時と違っていたため、元に戻して採点しました。",
                          "en": f"cell {gid}: nbgrader metadata changed in the submission "
                                f"({', '.join(others)}): restored from the source"})
    if restored:
        notes.append({"ja": "採点用の情報 (nbgrader のメタデータ) がなくなっていたセル ("
                            f"{', '.join(restored)}) は、配布時の情報を戻して採点しました。",
                      "en": f"nbgrader metadata missing on cells {', '.join(restored)}: put back "
                            "from the source (matched by cell id)"})
    nb.metadata[NOTES_KEY] = {"repairs": notes}
    return notes


def repair_notes(nb: nbformat.NotebookNode) -> list[dict[str, str]]:
    """The repair notes stored in a graded notebook (``repair_notebook``)."""
    meta = nb.get("metadata", {}).get(NOTES_KEY, {})
    notes = meta.get("repairs", []) if isinstance(meta, dict) else []
    return [n for n in notes if isinstance(n, dict) and isinstance(n.get("ja"), str)
            and isinstance(n.get("en"), str)]


class RepairSubmission(Preprocessor):
    """nbgrader sanitize preprocessor (first): ``repair_notebook`` against the source."""

    enabled = Bool(True, help="Always on while grading.").tag(config=True)
    source_dir = Unicode("", help="The course's trusted source/ folder.").tag(config=True)

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict[str, Any] | None
                   ) -> tuple[nbformat.NotebookNode, dict[str, Any] | None]:
        meta = (resources or {}).get("nbgrader", {})
        name = f"{meta.get('notebook', '')}.ipynb"
        path = Path(self.source_dir) / meta.get("assignment", "") / name
        nb.metadata.pop(NOTES_KEY, None)            # only the grader writes it
        if not (self.source_dir and path.is_file()):
            return nb, resources
        for note in repair_notebook(nb, source_metadata(path)):
            self.log.warning("repaired: %s", note["en"])
        return nb, resources
