"""The hostile-input gallery: scenario files, `--set`, experiment files and command-line usage.

Each case is listed with the promise it checks in tests/invalid/README.md. Every case runs the
real command in this process (`platoons.cli.main`) and asserts its exit status, the words of its
one-line message, no traceback and a bound on its time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hostile import Case, assert_one_line, cli, tiny_experiment

BIG = 1024 * 1024 + 1


def scenario(text: str | bytes, *extra: str, name: str = "scenario.yaml"):
    """A case's maker: the scenario file holding `text`, validated (with `extra` arguments)."""

    def make(tmp: Path) -> list:
        path = tmp / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return ["validate", path, *extra]

    return make


def on_default(changes: str):
    """A scenario file: the default preset with `changes` (a YAML mapping of path: value)."""
    return scenario(f"base: default\nchanges: {changes}\n")


def setting(*assignments: str, command: str = "validate"):
    return lambda tmp: [command, "default", *(a for pair in assignments for a in ("--set", pair))]


def alias_bomb(levels: int = 8) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def chain(tmp: Path, length: int) -> list:
    for i in range(length):
        base = f"base: link{i + 1}.yaml\n" if i + 1 < length else "base: default\n"
        (tmp / f"link{i}.yaml").write_text(base)
    return ["validate", tmp / "link0.yaml"]


def cycle(tmp: Path) -> list:
    (tmp / "a.yaml").write_text("base: b.yaml\n")
    (tmp / "b.yaml").write_text("base: ./a.yaml\n")
    return ["validate", tmp / "a.yaml"]


def base_beside_the_file(tmp: Path) -> list:
    """`base:` names parent.yaml beside the file; a stray parent.yaml in the working directory must not count."""
    (tmp / "sub").mkdir()
    (tmp / "sub" / "parent.yaml").write_text("base: default\ndesign: {name: from-its-folder}\n")
    (tmp / "sub" / "child.yaml").write_text("base: parent.yaml\n")
    (tmp / "parent.yaml").write_text("base: default\ndesign: {name: stray-in-cwd}\n")
    return ["validate", tmp / "sub" / "child.yaml"]


def many_errors(count: int) -> str:
    bands = ", ".join(f"sector.bands.{i}.turnover_spread: -1" for i in range(8))
    areas = ", ".join(f"world.regions.{i % 6}.areas.{i // 6}.referrals_per_month: -1" for i in range(count - 8))
    return f"base: default\nchanges: {{{bands}, {areas}}}\n"


def experiment(**fields):
    def make(tmp: Path) -> list:
        return ["sweep", tiny_experiment(tmp, **fields), "--out", tmp / "out", "--executor", "sequential"]

    return make


def experiment_text(text: str | bytes):
    def make(tmp: Path) -> list:
        tiny_experiment(tmp)
        path = tmp / "raw.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return ["sweep", path, "--out", tmp / "out"]

    return make


def usage(*argv):
    return lambda tmp: [a.replace("{tmp}", str(tmp)) if isinstance(a, str) else a for a in argv]


def file_as_out(tmp: Path) -> list:
    (tmp / "taken").write_text("not a folder")
    return ["run", "default", "--set", "run.months=6", "--out", tmp / "taken"]


def papers_as_out(tmp: Path) -> list:
    (tmp / "papers").mkdir()
    (tmp / "papers" / "notes.txt").write_text("keep me")
    return ["run", "default", "--set", "run.months=6", "--out", tmp / "papers", "--force"]


UNCERTAIN_VOLUME = {"name": "volume", "path": "world.regions.*.areas.*.referrals_per_month", "kind": "scale",
                    "low": 0.0, "high": 1.2}
OPTIMISM = {"name": "optimism", "path": "design.bidding.optimism", "low": 0.0, "high": 0.7}

CASES = [
    # --- scenario files: text and YAML -----------------------------------------------------------------
    Case("latin1_bytes", "a file that is not UTF-8 is named as such", scenario(b"name: caf\xe9\n"), 2, ("UTF-8", "0xe9")),
    Case("utf16_file", "UTF-16 text is named, with what to do", scenario("name: x\n".encode("utf-16")), 2, ("UTF-16", "UTF-8")),
    Case("utf8_bom", "UTF-8 with a byte-order mark is read", scenario(b"\xef\xbb\xbfbase: default\n"), 0, ("valid",)),
    Case("oversize_file", "a file past the size limit is refused unread", scenario(b"#" * BIG), 2, ("at most 1024 KiB",)),
    Case("nul_bytes", "binary junk is one line", scenario(b"\x00\x01\x02\x00"), 2, ("YAML",)),
    Case("duplicate_key", "duplicate keys are refused, not last-wins",
         scenario("base: default\nrun: {months: 12}\nrun: {months: 24}\n"), 2, ("'run' appears twice", "line 3")),
    Case("duplicate_nested_key", "duplicate keys are refused at any depth",
         scenario("base: default\nrun: {months: 12, months: 24}\n"), 2, ("'months' appears twice",)),
    Case("deep_nesting", "nesting past the depth limit is refused while parsing", scenario("a: " + "[" * 5000 + "]" * 5000),
         2, ("nests more than 32",)),
    Case("alias_bomb", "aliases that expand past the limit are refused in milliseconds", scenario(alias_bomb()), 2,
         ("aliases expand",)),
    Case("recursive_alias", "an alias inside its own anchor is refused", scenario("a: &a [1, *a]\n"), 2, ("own anchor",)),
    Case("python_tag", "YAML tags that build objects are refused", scenario("name: !!python/object/apply:os.system [ls]\n"),
         2, ("YAML",)),
    Case("malformed_yaml", "malformed YAML names its line", scenario("world: {regions: [\n"), 2, ("well-formed YAML",)),
    Case("empty_file", "an empty file is named as empty", scenario(""), 2, ("empty",)),
    Case("top_level_list", "a list is not a scenario", scenario("- 1\n- 2\n"), 2, ("a scenario mapping", "list")),
    Case("top_level_number", "a number is not a scenario", scenario("42\n"), 2, ("a scenario mapping", "int")),
    Case("integer_keys", "keys that are not names are named", scenario("base: default\n1: x\n"), 2, ("is not a name",)),
    Case("null_section", "a section given as nothing is named", scenario("base: default\nrun:\n"), 2, ("run",)),
    # --- scenario files: numbers --------------------------------------------------------------------
    Case("months_true", "booleans are not numbers", on_default("{run.months: true}"), 2, ("run.months", "not true or false")),
    Case("months_huge", "months have an upper bound", on_default("{run.months: 100000}"), 2, ("run.months", "600")),
    Case("contract_1e20", "contract length has an upper bound", on_default("{design.contract.length_months: 1.0e+20}"), 2,
         ("length_months",)),
    Case("contract_601", "contract length is at most 600 months", on_default("{design.contract.length_months: 601}"), 2,
         ("length_months", "at most 600")),
    Case("referrals_inf", "infinite referrals are refused",
         on_default("{world.regions.0.areas.0.referrals_per_month: .inf}"), 2, ("referrals_per_month", "finite")),
    Case("referrals_nan", "NaN is refused", on_default("{world.regions.0.areas.0.referrals_per_month: .nan}"), 2,
         ("finite",)),
    Case("referrals_1e308", "referrals have an upper bound",
         on_default("{world.regions.0.areas.0.referrals_per_month: 1.0e+308}"), 2, ("at most 1e+06 people/month",)),
    Case("referrals_all_zero", "a world without referrals does not validate (it could not run)",
         scenario("base: default\nworld: {regions: [{name: R, areas: [{name: A, referrals_per_month: 0}]}]}\n"), 2,
         ("above 0",)),
    Case("outcome_fee_inf", "an infinite fee is refused, not paid as 0",
         on_default("{design.payment.by_group.complex.outcome_fee_gbp: .inf}"), 2, ("outcome_fee_gbp", "finite")),
    Case("outcome_fee_huge", "fees per person have an upper bound",
         on_default("{design.payment.by_group.complex.outcome_fee_gbp: 1.0e+9}"), 2, ("outcome_fee_gbp", "1e+06")),
    Case("turnover_inf", "infinite turnover is refused", on_default("{sector.bands.0.turnover_gbp: .inf}"), 2,
         ("turnover_gbp", "finite")),
    Case("budget_inf", "an infinite grant budget is refused",
         on_default("{design.capacity_grants.budget_gbp_per_year: .inf}"), 2, ("budget_gbp_per_year", "finite")),
    Case("entrants_inf", "infinite entrants are refused", on_default("{sector.dynamics.entrants_per_year: .inf}"), 2,
         ("entrants_per_year", "finite")),
    Case("entrants_huge", "entrants have an upper bound", on_default("{sector.dynamics.entrants_per_year: 1.0e+6}"), 2,
         ("entrants_per_year", "10,000")),
    Case("providers_million", "providers per band have an upper bound", on_default("{sector.bands.0.count: 1000000}"), 2,
         ("count", "100,000")),
    Case("providers_memory", "a run that would not fit in memory is refused, naming what to reduce",
         on_default("{sector.bands.6.count: 90000, design.lots.structure: area}"), 2, ("GiB", "reduce", "providers")),
    Case("lots_memory", "the schema's own most lots per area is refused when it would not fit in memory",
         on_default("{design.lots.structure: area, design.lots.lots_per_area: 100}"), 2, ("GiB", "lots")),
    Case("effectiveness_true", "booleans are not numbers inside mappings",
         on_default("{sector.bands.0.effectiveness.complex: true}"), 2, ("effectiveness", "not true or false")),
    Case("volume_by_year_inf", "numbers inside lists are finite", on_default("{world.referral_volume_by_year: [1, .inf]}"),
         2, ("referral_volume_by_year", "finite")),
    Case("volume_by_year_huge", "multipliers have an upper bound", on_default("{world.referral_volume_by_year: [1.0e+9]}"),
         2, ("referral_volume_by_year", "1,000")),
    Case("seed_negative", "a negative seed is refused", on_default("{run.seed: -1}"), 2, ("run.seed",)),
    Case("text_for_number", "text is not a number", on_default("{run.months: twelve}"), 2, ("run.months", "twelve")),
    Case("several_errors", "every error of a file is reported, not just the first",
         on_default("{run.months: 0, design.bidding.optimism: -1, sector.bands.0.count: -3}"), 2,
         ("run.months", "design.bidding.optimism", "sector.bands.0.count")),
    Case("many_errors", "errors past the limit are counted", scenario(many_errors(30)), 2, ("and ", "more")),
    # --- scenario files: base and changes -------------------------------------------------------------
    Case("base_chain_too_long", "a chain of base files past the limit is refused", lambda tmp: chain(tmp, 40), 2,
         ("chain of at most 16",)),
    Case("base_cycle", "a cycle of base files is refused, whatever the spelling of the path", cycle, 2, ("cycle",)),
    Case("base_beside_file", "base: resolves beside the file that names it, not in the working directory",
         base_beside_the_file, 0, ("from-its-folder",)),
    Case("base_missing", "a missing base file is named, with where it was looked for",
         scenario("base: nowhere.yaml\n"), 2, ("base", "relative to")),
    Case("base_list", "a base that is not a name is refused", scenario("base: [default]\n"), 2, ("base",)),
    Case("changes_list", "changes must be a mapping", scenario("base: default\nchanges: [1, 2]\n"), 2, ("changes",)),
    Case("changes_without_base", "changes need a base", scenario("changes: {run.months: 3}\n"), 2, ("base",)),
    Case("directory_as_file", "a folder is not a scenario file", lambda tmp: ["validate", tmp], 2, ("existing scenario file",)),
    Case("missing_file", "a missing file is named", lambda tmp: ["validate", tmp / "absent.yaml"], 2, ("absent.yaml",)),
    Case("unknown_preset", "an unknown preset lists the presets", usage("validate", "no-such-preset"), 2, ("presets",)),
    Case("device_file", "a special file is not a scenario file", usage("validate", "/dev/zero"), 2, ("existing scenario file",)),
    # --- --set --------------------------------------------------------------------------------------
    Case("set_without_equals", "--set needs PATH=VALUE", setting("run.months"), 2, ("PATH=VALUE",)),
    Case("set_malformed_yaml", "malformed YAML in --set is one line", setting("run.months=[1"), 2, ("--set run.months", "YAML")),
    Case("set_alias_bomb", "an alias bomb in --set is refused", setting("name=" + alias_bomb().replace("\n", "\n")), 2,
         ("YAML",)),
    Case("set_mapping_merges", "a mapping given to --set changes only the keys it names",
         setting("design.bidding={optimism: 0.1}"), 0, ("valid",)),
    Case("set_unknown_path", "an unknown path is named", setting("design.nothing=1"), 2, ("design.nothing",)),
    Case("set_bad_index", "a list index out of range is named", setting("sector.bands.99.count=1"), 2, ("sector.bands.99",)),
    Case("set_into_number", "a path through a number is refused", setting("run.months.x=1"), 2, ("run.months",)),
    Case("set_true_months", "--set booleans are not numbers", setting("run.months=true"), 2, ("not true or false",)),
    Case("set_inf_fee", "--set infinite numbers are refused", setting("design.payment.by_group.complex.outcome_fee_gbp=.inf"),
         2, ("finite",)),
    Case("set_contract_1e20", "--set huge numbers are refused", setting("design.contract.length_months=100000000"), 2,
         ("at most 600",)),
    # --- command-line usage ------------------------------------------------------------------------------
    Case("misspelt_option", "a misspelt option is click's usage line, exit 2", usage("run", "--sed", "1"), 2,
         ("No such option", "--sed", "--help")),
    Case("missing_argument", "a missing argument is a usage line", usage("validate"), 2, ("Missing argument",)),
    Case("unknown_command", "an unknown command is a usage line", usage("simulate"), 2, ("No such command",)),
    Case("replicates_zero", "--replicates 0 is a usage line", usage("compare", "--replicates", "0"), 2, ("--replicates",)),
    Case("replicates_billion", "--replicates has an upper bound", usage("compare", "--replicates", "1000000000"), 2,
         ("--replicates",)),
    Case("replicates_text", "--replicates must be a number", usage("compare", "--replicates", "many"), 2, ("--replicates",)),
    Case("workers_zero", "--workers 0 is a usage line", usage("compare", "--workers", "0"), 2, ("--workers",)),
    Case("workers_huge", "--workers has an upper bound", usage("sweep", "x.yaml", "--out", "o", "--workers", "100000"), 2,
         ("--workers",)),
    Case("seed_option_negative", "--seed -1 is a usage line", usage("run", "--seed", "-1"), 2, ("--seed",)),
    Case("set_key_space_value", "--set KEY VALUE (no =) is a usage line", usage("run", "default", "--set", "run.months", "3"),
         2, ("unexpected extra argument",)),
    Case("unknown_executor", "an unknown executor is named", usage("compare", "--executor", "threads"), 2, ("executor",)),
    Case("resume_and_force", "--resume with --force is refused",
         usage("sweep", "x.yaml", "--out", "{tmp}/o", "--resume", "--force"), 2, ("do not go together",)),
    Case("batch_size_zero", "--batch-size 0 is a usage line", usage("sweep", "x.yaml", "--out", "o", "--batch-size", "0"), 2,
         ("--batch-size",)),
    Case("describe_unknown", "an unknown parameter is named", usage("describe", "design.nothing"), 2, ("design.nothing",)),
    Case("out_is_a_file", "--out that is a file is refused before any run", file_as_out, 2, ("is a file",)),
    Case("out_under_a_file", "--out below a file is refused before any run",
         lambda tmp: (tmp / "taken").write_text("x") and ["run", "default", "--out", tmp / "taken" / "results"], 2,
         ("is not a directory",)),
    Case("out_is_papers", "--force never replaces a folder that is not a store", papers_as_out, 2, ("not a results store",)),
    Case("summarize_missing", "summarize of a missing folder is one line", usage("summarize", "{tmp}/none"), 2, ("DIRECTORY",)),
    Case("summarize_not_store", "summarize of a folder that is not a store is one line", usage("summarize", "{tmp}"), 2,
         ("a store written by",)),
    Case("report_missing", "report of a missing folder is one line", usage("report", "{tmp}/none"), 2, ("result directory",)),
    # --- experiment files ---------------------------------------------------------------------------------
    Case("replicates_billion_file", "replicates have an upper bound, checked before anything is allocated",
         experiment(replicates=10**9), 2, ("replicates", "10000")),
    Case("replicates_true", "replicates: true is not a number", experiment(replicates=True), 2, ("replicates", "true or false")),
    Case("futures_billion", "futures have an upper bound", experiment(sampler={"method": "lhs", "futures": 10**9}), 2,
         ("futures",)),
    Case("grid_explodes", "a grid whose futures multiply past the limit is refused before drawing",
         experiment(sampler={"method": "grid", "levels": 1000},
                    uncertainties=[{**OPTIMISM, "name": f"u{i}", "path": p} for i, p in enumerate(
                        ("design.bidding.optimism", "design.bidding.target_margin", "design.bidding.price_shading"))]), 2,
         ("futures, above the limit",)),
    Case("runs_too_many", "designs x futures x replicates past the limit is refused",
         experiment(sampler={"method": "lhs", "futures": 100_000}, replicates=100), 2, ("runs", "above the limit")),
    Case("two_uncertainties_one_path", "two uncertainties on one path are refused",
         experiment(uncertainties=[OPTIMISM, {**OPTIMISM, "name": "optimism2", "low": 0.1}]), 2,
         ("both change design.bidding.optimism",)),
    Case("overlapping_wildcards", "a wildcard overlapping another uncertainty's path is refused",
         experiment(uncertainties=[OPTIMISM, {"name": "all_bidding", "path": "design.bidding.*", "kind": "scale",
                                              "low": 0.9, "high": 1.1}]), 2, ("both change",)),
    Case("uncertainty_inf", "an infinite range is refused", experiment(uncertainties=[{**OPTIMISM, "high": float("inf")}]), 2,
         ("uncertainties.0",)),
    Case("scale_to_zero_referrals", "a sweep whose range would zero every area's referrals is refused before any run",
         experiment(uncertainties=[UNCERTAIN_VOLUME]), 2, ("above 0",)),
    Case("experiment_latin1", "a non-UTF-8 experiment file is named", experiment_text(b"name: caf\xe9\n"), 2, ("UTF-8",)),
    Case("experiment_duplicate_key", "duplicate keys in an experiment are refused",
         experiment_text("base: tiny.yaml\nreplicates: 2\nreplicates: 3\ndesigns: [local-lots]\n"), 2, ("appears twice",)),
    Case("experiment_fifo", "a named pipe given as an experiment is refused, not read forever",
         lambda tmp: os.mkfifo(tmp / "pipe.yaml") or ["sweep", tmp / "pipe.yaml", "--out", tmp / "out"], 2,
         ("regular file",)),
    Case("experiment_unknown_sampler", "an unknown sampler is named", experiment(sampler={"method": "halton"}), 2,
         ("sampler.method", "halton")),
    Case("experiment_several_errors", "every error of an experiment file is reported", experiment(replicates=0, seed=-1), 2,
         ("replicates", "seed")),
    Case("targets_not_utf8", "a calibration targets file is read by the same strict reader",
         lambda tmp: (tmp / "targets.yaml").write_bytes(b"targets: {caf\xe9: 0.2}\n") and
         ["calibrate", "work-programme-2011", "--targets", tmp / "targets.yaml"], 2, ("UTF-8",)),
    Case("experiment_missing_base", "a missing base file is named", experiment(base="missing.yaml"), 2, ("base",)),
]


def test_gallery_is_large_enough():
    assert len(CASES) >= 80
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_hostile_input(case: Case, tmp_path: Path, monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    if case.id == "base_beside_file":
        monkeypatch.chdir(tmp_path)  # where the stray parent.yaml lies
    result = cli(*case.make(tmp_path))
    assert_one_line(result, case.code, case.words)
    assert not (tmp_path / "out").exists(), "a refused sweep left a store behind"


def test_set_mapping_keeps_the_keys_it_does_not_name():
    from platoons import load_scenario
    from platoons.scenario.load import parse_assignments

    default = load_scenario("default")
    changed = load_scenario("default", parse_assignments(["design.bidding={optimism: 0.1}"]))
    assert changed.design.bidding.optimism == 0.1
    assert changed.design.bidding.bid_cost_gbp == default.design.bidding.bid_cost_gbp


def test_the_gallery_is_documented():
    readme = (Path(__file__).parent / "invalid" / "README.md").read_text()
    from test_hostile_stores import CASES as STORE_CASES
    from test_tender_gallery import CASES as TENDER_CASES

    for case in [*CASES, *STORE_CASES]:
        assert f"`{case.id}`" in readme, f"{case.id} is not listed in tests/invalid/README.md"
    for case in TENDER_CASES:
        case_id = (case.values if hasattr(case, "values") else case)[0]
        assert f"`{case_id}`" in readme, f"{case_id} is not listed in tests/invalid/README.md"
