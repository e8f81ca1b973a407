"""Packaging invariants: Binder's environment.yml matches pyproject.toml, and notebooks
are committed without outputs (the book build executes them)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def _requirements(lines) -> dict[str, Requirement]:
    reqs = {}
    for line in lines:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name not in reqs, f"{req.name} is listed twice"
        reqs[name] = req
    return reqs


def _pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    return _requirements(lines)


def _environment():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    conda, pip = [], []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep.get("pip", [])
        else:
            conda.append(dep)
    return env, conda, pip


def test_environment_pip_requirements_match_pyproject():
    _, _, pip = _environment()
    local = [line for line in pip if line.startswith("-e")]
    assert local == ["-e ."], f"environment.yml must install daxsim with `-e .`, has {local}"
    env_reqs = _requirements(line for line in pip if not line.startswith("-"))
    py_reqs = _pyproject_requirements()
    assert sorted(env_reqs) == sorted(py_reqs), (
        f"only in environment.yml: {sorted(set(env_reqs) - set(py_reqs))}; "
        f"only in pyproject.toml: {sorted(set(py_reqs) - set(env_reqs))}"
    )
    for name, req in py_reqs.items():
        other = env_reqs[name]
        assert (other.specifier, other.extras, other.marker) == (
            req.specifier, req.extras, req.marker
        ), f"{name}: pyproject.toml has {req}, environment.yml has {other}"


def test_environment_python_matches_requires_python():
    env, conda, _ = _environment()
    assert "conda-forge" in env["channels"]
    assert "pip" in conda
    pythons = [d for d in conda if d.split("=")[0].strip() == "python"]
    assert len(pythons) == 1, f"environment.yml must pin python once, has {pythons}"
    version = pythons[0].split("=", 1)[1].strip("=")
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(project["requires-python"]).contains(version + ".0"), (
        f"python={version} does not satisfy requires-python {project['requires-python']}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    dirty = [
        i for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} carry outputs or execution counts; "
        "clear them before committing (the book build executes every notebook)"
    )
    assert "widgets" not in nb.get("metadata", {}), (
        f"{path.name}: notebook metadata carries saved widget state; remove metadata.widgets"
    )
