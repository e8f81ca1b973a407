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
        assert (other.specifier, other.extras, other.marker) == (req.specifier, req.extras, req.marker), (
            f"{name}: pyproject.toml has {req}, environment.yml has {other}"
        )


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
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} carry outputs or execution counts; "
        "clear them before committing (the book build executes every notebook)"
    )
    assert "widgets" not in nb.get("metadata", {}), (
        f"{path.name}: notebook metadata carries saved widget state; remove metadata.widgets"
    )


# --------------------------------------------------------------------------- Binder


def _postbuild_commands() -> list[list[str]]:
    """The `python -m MODULE ...` commands of postBuild, as argument lists."""
    import shlex

    text = (REPO_ROOT / "postBuild").read_text()
    return [shlex.split(line.strip())[2:] for line in text.splitlines() if line.strip().startswith("python -m ")]


def test_binder_postbuild_is_executable_and_valid_bash():
    import os
    import subprocess

    post = REPO_ROOT / "postBuild"
    assert post.exists(), "postBuild missing: Binder would not install the Voila template"
    assert os.access(post, os.X_OK), "postBuild must be executable (chmod +x; git keeps the mode)"
    text = post.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    subprocess.run(["bash", "-n", str(post)], check=True)
    mode = subprocess.run(
        ["git", "ls-files", "-s", "postBuild"], cwd=REPO_ROOT, capture_output=True, check=False, text=True
    ).stdout.split()
    assert not mode or mode[0] == "100755", f"git records postBuild with mode {mode[0]}, not 100755"
    # repo2docker reads a binder/ (or .binder/) folder *instead of* the root's environment.yml
    assert not (REPO_ROOT / "binder").exists() and not (REPO_ROOT / ".binder").exists()


def test_binder_postbuild_calls_real_modules_with_real_flags():
    import importlib.util
    import subprocess
    import sys

    commands = _postbuild_commands()
    modules = [c[0] for c in commands]
    assert "daxsim.book.bookassets" in modules, "postBuild must install the daxsim Voila template"
    for module, *args in commands:
        assert importlib.util.find_spec(module) is not None, f"postBuild runs python -m {module}: no such module"
        sub = [a for a in args[:1] if not a.startswith("-")]  # a subcommand, as in `daxsim compare`
        helptext = subprocess.run(
            [sys.executable, "-m", module, *sub, "--help"], capture_output=True, text=True, cwd=REPO_ROOT, check=True
        ).stdout
        for flag in (a.split("=")[0] for a in args if a.startswith("--")):
            assert flag in helptext, f"postBuild passes {flag} to python -m {module} {' '.join(sub)}; not in its --help"


def test_binder_voila_uses_the_template_make_live_uses():
    import re

    text = (REPO_ROOT / "postBuild").read_text()
    (dest,) = [c[-1] for c in _postbuild_commands() if "--voila-template" in c]
    template = dest.rstrip("/").rsplit("/", 1)[-1]
    assert dest.endswith(f"/share/jupyter/voila/templates/{template}"), dest
    config = re.search(r"echo '(\{.*\})' > \"\$prefix/etc/jupyter/voila.json\"", text)
    assert config, "postBuild must write voila.json into the environment's Jupyter config path"
    assert json.loads(config.group(1)) == {"VoilaConfiguration": {"template": template}}
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert f"--template={template}" in makefile and f"voila/templates/{template}" in makefile


def test_readme_explains_the_binder_link_without_inventing_one():
    import re

    readme = (REPO_ROOT / "README.md").read_text()
    assert "https://mybinder.org/v2/gh/<owner>/<repo>/HEAD" in readme
    (urlpath,) = set(re.findall(r"urlpath=voila/render/([\w/.-]+\.ipynb)", readme))
    assert (REPO_ROOT / urlpath).exists(), f"the README's Binder explorer link names {urlpath}, which does not exist"
    # no launch URL of a real repository anywhere: only the placeholder pattern
    for path in (REPO_ROOT / "README.md", REPO_ROOT / "_config.yml", REPO_ROOT / "book" / "how-to-use.md"):
        found = re.findall(r"mybinder\.org/v2/gh/(?!<owner>/<repo>)[^\s)`]+", path.read_text())
        assert not found, f"{path.name} carries a Binder URL for a real repository: {found}"


@pytest.mark.slow
def test_an_installed_wheel_runs_outside_the_checkout(tmp_path):
    """The built wheel holds everything a run needs: installed into a folder and imported
    from there (not from lib/), outside the checkout, it runs the CLI and the book's
    modules import; files that only a checkout has are looked for, not assumed."""
    import subprocess
    import sys

    import shutil

    src = tmp_path / "src"  # a copy, so that setuptools' build/ never lands in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, src / name)
    shutil.copytree(REPO_ROOT / "lib", src / "lib", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(src)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("daxsim-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert (target / "daxsim" / "paths" / "loop.py").exists()  # the event loop is read as source: it must ship
    env = {**__import__("os").environ, "PYTHONPATH": str(target), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    env.pop("DAXSIM_ROOT", None)
    code = (
        "import daxsim, json, sys; assert daxsim.__file__.startswith(sys.argv[1]), daxsim.__file__; "
        "from daxsim.book import charts, explore, grids, widgets, lab, history, verdict, benchresults, sources; "
        "print(json.dumps(sorted(daxsim.OPTIONS)))"
    )
    p = subprocess.run(
        [sys.executable, "-c", code, str(target)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, p.stderr
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "daxsim",
            "run",
            "--option",
            "1a",
            "--pmem",
            "1G",
            "--dram",
            "1G",
            "--ios",
            "20",
            "--json",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["metrics"]["ios_completed"] == 20
