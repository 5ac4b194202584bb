"""The Simplified Chinese edition stays in step with the English lessons (issue 19).

Each lesson's twin in ``notebooks/zh/`` must have the English code cells (comments aside), a
translation of every markdown cell in the same order, stamped with the English text it
translates, and no markdown left in English. The twins are not run by nbval: this test is what
proves they teach what the tested English lessons do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ganlab.lessons import editions

ROOT = Path(__file__).resolve().parents[1]
LESSONS = editions.lessons()


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_the_chinese_twin_is_in_step(lesson: Path):
    found = editions.problems(lesson)
    assert not found, "\n".join(found)


def test_every_twin_has_an_english_lesson():
    twins = {p.name for p in editions.TWINS.glob("*.ipynb")}
    assert twins == {p.name for p in LESSONS}


def test_the_chinese_start_page_links_the_glossary_and_says_output_is_english():
    start = _markdown(editions.TWINS / "00_start.ipynb")
    assert "glossary.md" in start
    assert "英文" in start  # code output and plot labels stay English, in one line
    glossary = (editions.TWINS / "glossary.md").read_text(encoding="utf-8")
    for chinese, english in [("生成器", "generator"), ("判别器", "discriminator"),
                             ("模式崩溃", "mode collapse"), ("梯度惩罚", "gradient penalty"),
                             ("潜在空间", "latent space")]:
        assert re.search(rf"\|\s*{chinese}[^|]*\|[^|]*{english}", glossary, re.I), chinese


def test_the_readmes_link_each_other():
    english = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:5]
    chinese = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert any("README.zh-CN.md" in line for line in english)
    assert "(README.md)" in chinese.splitlines()[0]
    for link in re.findall(r"\]\(([^)#\s]+)", chinese):
        if "://" not in link:
            assert (ROOT / link).exists(), f"README.zh-CN.md links to {link}, which is missing"


# The checker itself, on a small lesson and its twin in a temporary folder.


def _lesson(tmp_path: Path) -> Path:
    cells = [
        {"id": "aaaa0001", "cell_type": "markdown", "metadata": {},
         "source": ["# The generator\n", "\n", "The generator maps noise $z$ to samples."]},
        {"id": "aaaa0002", "cell_type": "code", "metadata": {}, "execution_count": None,
         "outputs": [], "source": ["# sample the noise\n", "z = 1 + 2  # two\n", "print(z)"]},
        {"id": "aaaa0003", "cell_type": "markdown", "metadata": {},
         "source": ["Next, the discriminator: see [lesson 02](02_objective.ipynb)."]},
    ]
    english = tmp_path / "01_tiny.ipynb"
    english.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                   "nbformat_minor": 5}))
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "02_objective.ipynb").write_text("{}")
    return english


ZH = {"aaaa0001": "# 生成器\n\n生成器把噪声 $z$ 映射为样本。",
      "aaaa0002": "# 采样噪声\nz = 1 + 2  # 二\nprint(z)",
      "aaaa0003": "接下来是判别器：见[第 02 课](02_objective.ipynb)。"}


def _edit(twin: Path, index: int, source: str) -> None:
    notebook = json.loads(twin.read_text(encoding="utf-8"))
    notebook["cells"][index]["source"] = source
    twin.write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")


def test_a_built_twin_is_in_step_and_keeps_translated_comments(tmp_path):
    english = _lesson(tmp_path)
    twin = editions.build(english, ZH)
    assert editions.problems(english, twin) == []
    assert "# 采样噪声" in _markdown(twin, "code")
    editions.build(english, {})  # rebuilding keeps every cell that is still current
    assert editions.problems(english, twin) == []


def test_a_changed_english_cell_names_the_stale_cell(tmp_path):
    english = _lesson(tmp_path)
    twin = editions.build(english, ZH)
    _edit(english, 0, "# The generator\n\nThe generator maps noise $z$ to images.")
    _edit(english, 1, "z = 1 + 3\nprint(z)")
    found = editions.problems(english, twin)
    assert len(found) == 2
    assert "cell 1 (id aaaa0001)" in found[0] and "English text changed" in found[0]
    assert "cell 2 (id aaaa0002)" in found[1] and "code differs" in found[1]
    with pytest.raises(ValueError, match=r"aaaa0001"):
        editions.build(english, {})  # the stale cell needs a new translation


def test_untranslated_cells_missing_cells_and_broken_links_are_found(tmp_path):
    english = _lesson(tmp_path)
    twin = editions.build(english, {**ZH, "aaaa0003": "Next, the discriminator, in English."})
    assert any("reads as English" in p for p in editions.problems(english, twin))
    editions.build(english, {**ZH, "aaaa0003": "下一课：判别器，见[这里](../03_missing.ipynb)。"})
    assert any("03_missing.ipynb" in p for p in editions.problems(english, twin))
    notebook = json.loads(twin.read_text(encoding="utf-8"))
    del notebook["cells"][2]
    twin.write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")
    assert "not the English lesson's cells" in editions.problems(english, twin)[0]


def test_build_refuses_code_changed_beyond_its_comments(tmp_path):
    english = _lesson(tmp_path)
    with pytest.raises(ValueError, match="beyond its comments"):
        editions.build(english, {**ZH, "aaaa0002": "z = 1 + 2\nprint('你好')"})


def test_code_without_comments_and_cjk_share():
    assert editions.code_without_comments("x = '# not a comment'  # a comment\n\n") == \
        "x = '# not a comment'"
    assert editions.code_without_comments("%%time\nx = 1  # c") == "%%time\nx = 1"
    assert editions.cjk_share("The generator, `G(z)`, and $D(x)$.") == 0.0
    assert editions.cjk_share("生成器 `G(z)` 把噪声映射为样本（samples）。") > 0.8


def _markdown(notebook: Path, kind: str = "markdown") -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == kind)
