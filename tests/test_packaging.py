"""pyproject.toml and environment.yml agree, and the README's two commands exist."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _conda_names() -> set[str]:
    names = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("- ") and not line.startswith("- -e") and line != "- pip:":
            names.add(_name(line[2:]))
    return names


def test_every_dependency_is_in_environment_yml():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = {_name(r) for r in project["dependencies"]}
    for extra in ("lab", "test"):
        needed |= {_name(r) for r in project["optional-dependencies"][extra]}
    missing = needed - _conda_names()
    assert not missing, f"add {sorted(missing)} to environment.yml"


def test_environment_yml_has_nothing_the_package_lacks():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]}
    for requirements in project["optional-dependencies"].values():
        declared |= {_name(r) for r in requirements}
    extra = _conda_names() - declared - {"python", "pip"}
    assert not extra, f"{sorted(extra)} are in environment.yml but not in pyproject.toml"


def test_readme_quick_start_is_two_make_commands():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for command in ("make lab", "make test"):
        assert command in readme
        assert re.search(rf"^{command.split()[1]}:", makefile, re.M)
    assert "ganlab lab" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_lab_listens_on_localhost_with_a_token_and_runs_as_root():
    from ganlab.launch import lab_command, lessons_folder

    folder = lessons_folder()
    assert (folder / "00_start.ipynb").is_file()
    as_user, as_root = lab_command(folder, as_root=False), lab_command(folder, as_root=True)
    assert "--ip=127.0.0.1" in as_user and "--allow-root" not in as_user
    assert "--allow-root" in as_root
    assert not any("token=" in part or "0.0.0.0" in part for part in as_root)
    chinese = lab_command(folder, as_root=False, lang="zh")
    assert chinese[-1] == "zh/00_start.ipynb" and (folder / chinese[-1]).is_file()
    with pytest.raises(ValueError, match="--lang must be one of"):
        lab_command(folder, lang="fr")
