"""The Simplified Chinese edition (``notebooks/zh/``): each lesson's twin, and the check that
keeps the two editions in step.

A twin has its English lesson's cells in the same order, with the same cell ids:

- its code cells are the English code; only comments may differ (translated), so the Chinese
  lesson runs, and teaches, exactly what the tested English one does;
- each markdown cell is a translation, stamped in its metadata (``ganlab.translated_from``)
  with a hash of the English text it translates. When the English cell changes, the stamp no
  longer matches and :func:`problems` names the cell, so the twin cannot silently fall behind.

Translators write the Chinese text of the cells (``{"cells": {cell_id: text}}``, JSON) and build
the twin; cells the JSON leaves out are kept from the existing twin when still current::

    python -m ganlab.lessons.editions build 05_image_gans.ipynb zh_05.json
    python -m ganlab.lessons.editions check
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
import tokenize
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TWINS = NOTEBOOKS / "zh"
STAMP = "translated_from"
# A translated markdown cell: CJK characters / (CJK characters + Latin words) at least this.
MIN_CJK_SHARE = 0.5
# English cells with fewer Latin words than this (a formula, a picture) need no CJK.
MIN_WORDS = 3

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z]+")
# Code spans, maths, link targets, URLs and HTML tags are not prose: they stay as in English.
_NOT_PROSE = re.compile(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\]\([^)]*\)|https?://\S+|<[^>]+>",
                        re.S)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def code_without_comments(source: str) -> str:
    """The code with comments, trailing spaces and blank lines removed: what must match."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
                  if t.type != tokenize.COMMENT]
        source = tokenize.untokenize(tokens)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # cell magics and the like: compare them as they are
    lines = (line.rstrip() for line in source.splitlines())
    return "\n".join(line for line in lines if line)


def english_hash(text: str) -> str:
    """The stamp of an English markdown cell: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cjk_share(text: str) -> float:
    """CJK characters / (CJK characters + Latin words) in the prose of a markdown cell."""
    prose = _NOT_PROSE.sub(" ", text)
    cjk, words = len(_CJK.findall(prose)), len(_WORD.findall(prose))
    return cjk / (cjk + words) if cjk + words else 1.0


def twin_of(english: Path) -> Path:
    """Where the Chinese twin of a lesson lives (same file name, under ``notebooks/zh/``)."""
    return english.parent / "zh" / english.name


def problems(english: Path, twin: Path | None = None) -> list[str]:
    """Every way the twin is out of step with the English lesson; [] when it is in step."""
    twin = twin or twin_of(english)
    if not twin.exists():
        return [f"{english.name}: no Chinese twin at {twin} (build it: python -m "
                f"ganlab.lessons.editions build {english.name} TRANSLATIONS.json)"]
    en, zh = _cells(english), _cells(twin)
    if [c.get("id") for c in en] != [c.get("id") for c in zh]:
        return [f"{twin.name}: its cells are not the English lesson's cells in order (English "
                f"{len(en)} cells, twin {len(zh)}); cells added, moved or removed in English "
                "need the same in the twin: rebuild it with translations for the new cells"]
    found = []
    for number, (e, z) in enumerate(zip(en, zh, strict=True), start=1):
        where = f"{twin.name} cell {number} (id {e.get('id')})"
        found += [f"{where}: {p}" for p in _cell_problems(e, z, twin.parent)]
    return found


def _cell_problems(en: dict, zh: dict, folder: Path) -> list[str]:
    text, original = _source(zh), _source(en)
    if en["cell_type"] != zh["cell_type"]:
        return [f"is {zh['cell_type']}, the English cell is {en['cell_type']}"]
    if en["cell_type"] == "code":
        found = []
        if code_without_comments(text) != code_without_comments(original):
            found.append("its code differs from the English lesson's (only comments may); "
                         "copy the English code into the twin")
        if zh.get("outputs") or zh.get("execution_count") is not None:
            found.append("has outputs; twins are committed without outputs like the lessons")
        return found
    found = []
    if zh.get("metadata", {}).get("ganlab", {}).get(STAMP) != english_hash(original):
        found.append("the English text changed since it was translated; translate it again "
                     "(python -m ganlab.lessons.editions build ...)")
    if len(_WORD.findall(_NOT_PROSE.sub(" ", original))) >= MIN_WORDS and \
            cjk_share(text) < MIN_CJK_SHARE:
        found.append(f"reads as English (CJK share {cjk_share(text):.2f} < {MIN_CJK_SHARE}); "
                     "translate it")
    for target in _LINK.findall(text):
        path = target.split("#")[0]
        if path and "://" not in path and not path.startswith("mailto:") and \
                not (folder / path).exists():
            found.append(f"links to {target}, which does not exist from {folder.name}/")
    return found


def build(english: Path, translations: dict[str, str], twin: Path | None = None) -> Path:
    """Write the twin of ``english``: each cell from ``translations`` (id -> Chinese text), or
    from the existing twin where it is still current, stamped; raise ValueError otherwise."""
    twin = twin or twin_of(english)
    notebook = json.loads(english.read_text(encoding="utf-8"))
    old = {c.get("id"): c for c in _cells(twin)} if twin.exists() else {}
    missing = []
    for cell in notebook["cells"]:
        cid, original = cell.get("id"), _source(cell)
        kept = old.get(cid)
        if cid in translations:
            text = translations[cid]
        elif kept is not None and kept["cell_type"] == cell["cell_type"] and \
                not _cell_problems(cell, kept, twin.parent):
            text = _source(kept)
        elif cell["cell_type"] == "code":
            text = original
        else:
            missing.append(cid)
            continue
        if cell["cell_type"] == "code" and \
                code_without_comments(text) != code_without_comments(original):
            raise ValueError(f"{english.name} cell {cid}: the translated code differs from the "
                             "English code beyond its comments; translate comments only")
        cell["source"] = text.splitlines(keepends=True)
        if cell["cell_type"] == "markdown":
            cell.setdefault("metadata", {})["ganlab"] = {STAMP: english_hash(original)}
    if missing:
        raise ValueError(f"{english.name}: no translation for markdown cell(s) {missing}; add "
                         "them to the translations JSON ({\"cells\": {id: text}})")
    twin.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    twin.write_text(text, encoding="utf-8")
    return twin


def lessons() -> list[Path]:
    """The English notebooks that have (or must have) a Chinese twin."""
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganlab.lessons.editions",
                                     description="Build or check the Chinese twins of the lessons.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="list every cell out of step (exit 1 if any)")
    make = sub.add_parser("build", help="write a twin from a translations JSON")
    make.add_argument("lesson", help="the English notebook's file name, e.g. 05_image_gans.ipynb")
    make.add_argument("translations", type=Path, help='JSON: {"cells": {cell_id: text}}')
    args = parser.parse_args(argv)
    if args.command == "check":
        found = [p for lesson in lessons() for p in problems(lesson)]
        print("\n".join(found) or f"all {len(lessons())} twins in step")
        return 1 if found else 0
    english = NOTEBOOKS / Path(args.lesson).name
    try:
        if not english.exists():
            raise ValueError(f"no lesson {english.name} in {NOTEBOOKS}")
        cells = json.loads(args.translations.read_text(encoding="utf-8"))["cells"]
        twin = build(english, cells)
    except (OSError, KeyError, json.JSONDecodeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    found = problems(english, twin)
    print("\n".join(found) or f"wrote {twin}: in step")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
