"""The design registry: every list of options derives from it, and a new option is a
record, a path module and an oracle class (here a toy, in tests/paths/toy_path.py)."""

import json

import pytest

import daxsim
from daxsim import cli
from daxsim.model.counters import COUNTERS
from daxsim.oracle.reference import run_reference
from daxsim.paths import registry
from daxsim.paths.registry import Design, design, designs
from daxsim.study.spec import Spec


@pytest.fixture
def toy():
    d = registry.register(
        Design(
            "toy",
            "option 2 with an always-on range lock (a test option)",
            "toy_path",
            "toy_path:ToyOracle",
            struct_pages=False,
        )
    )
    yield d
    registry.unregister("toy")


def test_every_list_of_options_comes_from_the_registry():
    from daxsim.book import explore, history
    from daxsim.study import grid, powerloss  # noqa: F401

    assert designs() == ("0", "1a", "1b", "2", "3", "huge", "nvram")
    assert designs(bounds=True)[-1] == "ideal" and design("ideal").bound
    assert tuple(daxsim.OPTIONS) == designs(bounds=True)
    assert explore.SPECS == ("0", "1a", "1b", "2", "2+guard", "3", "huge", "nvram")
    assert history.OPTIONS == designs() and grid.DESIGNS == designs()
    assert [k for k, d in registry.DESIGNS.items() if d.hazard] == ["2"]


def test_a_registered_toy_option_runs_checks_and_costs_like_any_other(toy, capsys):
    m = daxsim.Machine("64M", "64M")
    w = daxsim.Workload(ios=40, io_size="8K", queue_depth=3, file_size="1M", truncate_rate=0.3, seed=4)
    cap = {}
    r = daxsim.run("toy", m, w, capture=cap)
    assert r.feasible and r.metrics["truncates"] > 0 and r.metrics["truncate_waits"] > 0
    assert r.metrics["corrupted_bytes"] == 0 and r.metrics["range_locks"] == r.metrics["ios_completed"] == 40
    ref = run_reference("toy", m, w)
    for name in COUNTERS:
        assert r.metrics[name] == ref.counters[name], name
    assert cap["pmem_pages"] == ref.pmem_pages and cap["dev_pages"] == ref.dev_pages
    assert daxsim.row(r)["label"] == "option toy"
    # the command line knows it too
    assert cli.main(["run", "--option", "toy", "--pmem", "64M", "--dram", "64M", "--ios", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["option"] == "toy" and out["metrics"]["ios_completed"] == 8
    # and refuses the flags of other options, naming the option that takes them
    assert cli.main(["run", "--option", "toy", "--pmem", "64M", "--dram", "64M", "--pool-pages", "8"]) == 2
    assert "pool_pages: only option 1b takes it" in capsys.readouterr().err


def test_a_path_module_that_lacks_part_of_the_interface_is_refused():
    with pytest.raises(ValueError, match="lacks .*make_state"):
        registry.register(Design("broken", "no state", "daxsim.paths.common", "toy_path:ToyOracle", struct_pages=False))
    assert "broken" not in registry.DESIGNS


@pytest.mark.parametrize(
    "text, key",
    [
        ("2+guard", "2+guard"),
        ("1b+pool_pages=4096", "1b"),
        ("huge+page_size=1G+memmap_variant=hvo", "huge+page_size=1G+memmap_variant=hvo"),
        (" 0 + bounce_node=pmem ", "0+bounce_node=pmem"),
    ],
)
def test_spec_strings_round_trip(text, key):
    s = Spec.parse(text)
    assert s.key == key and Spec.parse(s.key) == s


@pytest.mark.parametrize(
    "text, message",
    [
        ("1a+guard", "'guard' is not a parameter of option 1a; accepted: none"),
        ("2+guard=maybe", "guard: 'maybe' must be True or False"),
        ("1b+pool_pages=0", "pool_pages: 0 is not a positive integer"),
        ("1b+pool_pages=1+pool_pages=2", "gives pool_pages twice"),
        ("huge+page_size=3M", "page_size: 3 MiB is not one of 4 KiB, 2 MiB, 1 GiB"),
        ("7", "option: '7' is not an option; accepted: 0, 1a, 1b, 2, 3, huge, nvram, ideal"),
        ("", "is not an option spec"),
    ],
)
def test_bad_specs_name_the_parameter(text, message):
    with pytest.raises(ValueError) as e:
        Spec.parse(text)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_flag_for_another_option_fails_before_any_work(monkeypatch):
    from daxsim.study import stages
    from daxsim.study.stages import costing

    def no_emulation(plan, *args, **kwargs):
        raise AssertionError("emulated")

    monkeypatch.setattr(costing, "emulate", no_emulation)  # where run_plan looks it up
    with pytest.raises(ValueError, match="^page_size: only option huge takes it"):
        daxsim.run("1a", daxsim.Machine("8G", "4G"), daxsim.Workload(ios=4), page_size="2M")
    plan = stages.prepare("1b+pool_pages=8", daxsim.Machine("8G", "4G"), daxsim.Workload(ios=4))
    assert plan.feasible and plan.spec.params["pool_pages"] == 8
