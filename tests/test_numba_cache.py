"""The numba cache folder per emulator source (daxsim/_numba_cache.py): a new one removes
the stale ones beyond the few used last, and leaves everything else alone."""

import os
import subprocess
import sys

from daxsim._numba_cache import KEEP, source_hash, use_cache


def _folders(root, n):
    """``n`` hash-named cache folders, the first used longest ago, each holding a file."""
    made = []
    for i in range(n):
        p = root / f"{i:016x}"
        (p / "sub").mkdir(parents=True)
        (p / "sub" / "x.nbi").write_bytes(b"index")
        os.utime(p, (1_000_000 + i * 100, 1_000_000 + i * 100))
        made.append(p.name)
    return made


def test_a_new_cache_keeps_only_the_ones_used_last(tmp_path):
    old = _folders(tmp_path, 6)
    (tmp_path / "notes").mkdir()  # not a cache folder: never touched
    (tmp_path / "0123456789abcdef.txt").write_text("a file, not a folder")
    folder = use_cache(tmp_path, "f" * 16, keep=3)
    assert folder == tmp_path / ("f" * 16) and folder.is_dir()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([*old[-2:], "f" * 16, "notes", "0123456789abcdef.txt"])


def test_an_existing_cache_is_marked_used_and_removes_nothing(tmp_path):
    old = _folders(tmp_path, 6)
    folder = use_cache(tmp_path, old[0], keep=2)  # the oldest, used again
    assert sorted(p.name for p in tmp_path.iterdir()) == old
    assert folder.stat().st_mtime > (tmp_path / old[-1]).stat().st_mtime
    use_cache(tmp_path, "e" * 16, keep=2)  # a new one: keeps itself and the one just used
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([old[0], "e" * 16])


def test_importing_daxsim_uses_its_source_cache_and_prunes(tmp_path):
    root = tmp_path / "daxsim-numba"
    root.mkdir()
    old = _folders(root, KEEP + 2)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    code = "import daxsim, numba.core.config as c; print(c.CACHE_DIR)"
    p = subprocess.run(
        [sys.executable, "-c", code], env={**env, "XDG_CACHE_HOME": str(tmp_path)}, capture_output=True, text=True
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(root / source_hash())
    assert sorted(x.name for x in root.iterdir()) == sorted([*old[-(KEEP - 1) :], source_hash()])
