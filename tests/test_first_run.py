"""The first run after an install or a source change, as a user meets it: an empty numba
cache, a fresh process. It says that it compiles, once; and the second process it starts
(:func:`daxsim.paths.registry.compile_ideal_aside`) compiles what the run then loads from
the cache instead of compiling it again."""

import json
import os
import subprocess
import sys

import pytest

NOTICE = "daxsim: compiling the kernels of option 1a once, about "


def _python(args, cache, timeout=300):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_the_first_run_says_it_compiles_and_the_second_does_not(tmp_path):
    run = ["-m", "daxsim", "run", "--option", "1a", "--pmem", "1G", "--dram", "1G", "--ios", "20", "--json"]
    first = _python(run, tmp_path)
    assert first.returncode == 0, first.stderr
    notice = [line for line in first.stderr.splitlines() if line.startswith(NOTICE)]
    assert len(notice) == 1, first.stderr
    assert notice[0].endswith(" s") and int(notice[0][len(NOTICE) : -2]) > 0
    second = _python(run, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "compiling" not in second.stderr
    out = [json.loads(p.stdout[p.stdout.index("{") :]) for p in (first, second)]
    assert out[0]["metrics"] == {
        **out[1]["metrics"],
        "wall_s": out[0]["metrics"]["wall_s"],
        "setup_s": out[0]["metrics"]["setup_s"],
    }


@pytest.mark.slow
def test_what_the_twin_process_compiles_the_run_loads_from_the_cache(tmp_path):
    """warm_twin's calls have the types the run's own calls have: the run loads the page
    checks and the ideal loop (cache hits), it compiles none of them (no cache miss)."""
    aside = _python(["-c", "from daxsim.study.stages.emulation import warm_twin; warm_twin(io=True)"], tmp_path)
    assert aside.returncode == 0, aside.stderr
    code = (
        "import json\n"
        "from daxsim.paths.common import count_busy_pages, fill_pattern\n"
        "from daxsim.paths.registry import event_loop\n"
        "from daxsim.study.pieces import digests\n"
        "from daxsim.study.stages import warm\n"
        "warm('1a', data=True, io=True)\n"
        "fns = dict(fill_pattern=fill_pattern, digests=digests, count_busy_pages=count_busy_pages,\n"
        "           ideal=event_loop('ideal', io_only=True))\n"
        "print(json.dumps({k: [sum(f.stats.cache_hits.values()), sum(f.stats.cache_misses.values())]"
        " for k, f in fns.items()}))\n"
    )
    run = _python(["-c", code], tmp_path)
    assert run.returncode == 0, run.stderr
    stats = json.loads(run.stdout.strip().splitlines()[-1])
    assert stats == {k: [hits, 0] for k, (hits, _m) in stats.items()} and all(h > 0 for h, _m in stats.values()), stats
