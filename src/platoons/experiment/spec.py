"""The experiment file: designs (what is chosen) under uncertainties (what is not), replicated.

```yaml
base: default                      # a preset name or a scenario file (relative to this file)
changes: {run.months: 36}          # applied to every design
designs:
  - regional-prime                 # a preset: its design section on the base
  - {name: cheap-prime, preset: regional-prime, changes: {design.delivery.prime.management_fee: 0.1}}
uncertainties:
  - {name: referral_volume, path: "world.regions.*.areas.*.referrals_per_month", kind: scale, low: 0.6, high: 1.4}
  - {name: optimism, path: design.bidding.optimism, low: 0.0, high: 0.7}
sampler: {method: lhs, futures: 16}
replicates: 30
seed: 0
```

The file is validated at the boundary by frozen models that forbid unknown keys; an error is
one line naming the file and the field.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from platoons.errors import InputError
from platoons.scenario.load import MAX_ERRORS, read_yaml_mapping
from platoons.scenario.schema import require_unique

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
RUN_COLUMNS = ("run_id", "design", "future", "replicate", "seed", "scenario_hash", "version")


MAX_REPLICATES = 10_000
MAX_FUTURES = 100_000
MAX_RUNS = 1_000_000
NUMBERS = (int, float, int | None, float | None)


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_flags_as_numbers(cls, data: Any) -> Any:
        for name, value in data.items() if isinstance(data, dict) else ():
            field = cls.model_fields.get(name) if isinstance(name, str) else None
            if field is not None and isinstance(value, bool) and field.annotation in NUMBERS:
                raise ValueError(f"{name} must be a number, not true or false (got {value})")
        return data


class DesignSpec(Model):
    """A design: a preset's design section, or the base's, with changes on top."""

    name: str | None = Field(None, min_length=1, description="Name of the design (default: the preset's).")
    preset: str | None = Field(None, min_length=1, description="Start from this preset's design section.")
    changes: dict[str, Any] = Field(default_factory=dict, description="Dotted-path changes, as in a scenario file.")

    @model_validator(mode="after")
    def _named(self) -> DesignSpec:
        if self.name is None and self.preset is None:
            raise ValueError("a design needs a name (or a preset to take it from)")
        return self

    @property
    def label(self) -> str:
        return self.name or self.preset or ""


class Uncertainty(Model):
    """A parameter nobody chooses: a range, a triangular distribution or a list of values.

    `path` is a dotted scenario path in which `*` matches every item of a list or every key of a
    mapping. `kind: set` puts the drawn value at every matched path; `kind: scale` multiplies
    each matched value by it. Drawn values for integer parameters are rounded.
    """

    name: str = Field(..., pattern=NAME, description="Column name of the parameter in the results.")
    path: str = Field(..., min_length=1, description="Dotted scenario path; `*` matches all items or keys.")
    kind: Literal["set", "scale"] = Field("set", description="Put the value at the path, or multiply by it.")
    distribution: Literal["uniform", "triangular"] = Field("uniform", description="Shape over [low, high].")
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    values: tuple[Any, ...] | None = Field(None, min_length=1, description="Equally likely values (instead of a range).")
    description: str = ""

    @field_validator("path")
    @classmethod
    def _path(cls, path: str) -> str:
        if any(not part for part in path.split(".")):
            raise ValueError(f"must be dotted names, e.g. design.bidding.optimism (got {path!r})")
        return path

    @model_validator(mode="after")
    def _shape(self) -> Uncertainty:
        if self.name in RUN_COLUMNS:
            raise ValueError(f"name must not be one of the run columns {', '.join(RUN_COLUMNS)} (got {self.name!r})")
        ranged = self.low is not None or self.high is not None
        if self.values is not None:
            if ranged or self.mode is not None:
                raise ValueError("give either low and high, or values, not both")
            kinds = {_value_type(v) for v in self.values}
            if len(kinds) != 1 or None in kinds:
                raise ValueError(f"values must all be numbers, all text or all true/false (got {list(self.values)!r})")
            if self.kind == "scale" and kinds != {"number"}:
                raise ValueError(f"values of a scale must be numbers (got {list(self.values)!r})")
            return self
        if self.low is None or self.high is None:
            raise ValueError("needs low and high (a range), or values")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"low must be below high (got low {self.low}, high {self.high})")
        if self.distribution == "triangular":
            if self.mode is None or not self.low <= self.mode <= self.high:
                raise ValueError(f"mode of a triangular distribution must lie in [low, high] (got {self.mode})")
        elif self.mode is not None:
            raise ValueError("mode goes with distribution: triangular")
        return self

    @property
    def value_type(self) -> str:
        return "number" if self.values is None else _value_type(self.values[0]) or "number"


class Grid(Model):
    """Every combination of `levels` evenly spaced values per range (each value of a list once)."""

    method: Literal["grid"]
    levels: int = Field(3, ge=1, le=1000)  # the product over uncertainties is bounded by MAX_FUTURES


class MonteCarlo(Model):
    """`futures` independent random draws."""

    method: Literal["monte_carlo"]
    futures: int = Field(..., ge=1, le=MAX_FUTURES)


class LatinHypercube(Model):
    """`futures` draws by Latin hypercube (scipy.stats.qmc): every range evenly covered."""

    method: Literal["lhs"]
    futures: int = Field(..., ge=1, le=MAX_FUTURES)


class Sobol(Model):
    """Saltelli's scheme for Sobol indices (SALib): base_samples x (parameters + 2) futures."""

    method: Literal["sobol"]
    base_samples: int = Field(..., ge=2, le=MAX_FUTURES)

    @field_validator("base_samples")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if n & (n - 1):
            raise ValueError(f"must be a power of 2 (got {n})")
        return n


class Morris(Model):
    """Morris elementary effects (SALib): trajectories x (parameters + 1) futures on a grid of `levels`."""

    method: Literal["morris"]
    trajectories: int = Field(..., ge=2, le=MAX_FUTURES)
    levels: int = Field(4, ge=2, le=100)

    @field_validator("levels")
    @classmethod
    def _even(cls, n: int) -> int:
        if n % 2:
            raise ValueError(f"must be even (got {n})")
        return n


Sampler = Annotated[Union[Grid, MonteCarlo, LatinHypercube, Sobol, Morris], Field(discriminator="method")]
SAMPLERS = ("grid", "monte_carlo", "lhs", "sobol", "morris")
SENSITIVITY_SAMPLERS = ("sobol", "morris")


class Experiment(Model):
    name: str = Field("experiment", min_length=1)
    description: str = ""
    base: str = Field("default", min_length=1, description="A preset name or a scenario file.")
    changes: dict[str, Any] = Field(default_factory=dict, description="Changes applied to every design.")
    designs: tuple[DesignSpec, ...] = Field(..., min_length=1)
    uncertainties: tuple[Uncertainty, ...] = ()
    sampler: Sampler | None = None
    replicates: int = Field(..., ge=1, le=MAX_REPLICATES)
    seed: int = Field(0, ge=0, le=2**63 - 1)

    @field_validator("designs", mode="before")
    @classmethod
    def _presets(cls, designs: Any) -> Any:
        if isinstance(designs, (list, tuple)):
            return [{"preset": d} if isinstance(d, str) else d for d in designs]
        return designs

    @model_validator(mode="after")
    def _check(self) -> Experiment:
        require_unique("designs", [d.label for d in self.designs])
        require_unique("uncertainties", [u.name for u in self.uncertainties])
        if self.uncertainties and self.sampler is None:
            raise ValueError("sampler is required when there are uncertainties (grid, monte_carlo, lhs, sobol or morris)")
        if not self.uncertainties and self.sampler is not None and self.sampler.method in SENSITIVITY_SAMPLERS:
            raise ValueError(f"sampler {self.sampler.method} needs at least one uncertainty (got none)")
        return self


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file (its scenarios are resolved by `platoons.experiment.Sweep`)."""
    source = str(path)
    data = read_yaml_mapping(Path(path), source, "an experiment mapping")
    try:
        return Experiment.model_validate(data)
    except ValidationError as error:
        raise _input_error(error, source) from None


def _input_error(error: ValidationError, source: str) -> InputError:
    """Every problem found (up to MAX_ERRORS) on one line; the first one names the field."""
    problems = [_one_error(problem, source) for problem in error.errors(include_url=False)]
    first = problems[0]
    if len(problems) == 1:
        return first
    texts = [str(p).removeprefix(f"{source}: ") for p in problems[:MAX_ERRORS]]
    if len(problems) > MAX_ERRORS:
        texts.append(f"and {len(problems) - MAX_ERRORS} more")
    return InputError(source, first.field, "", first.received, message="; ".join(texts))


def _one_error(first: dict, source: str) -> InputError:
    loc = list(first["loc"])
    if len(loc) > 1 and loc[0] == "sampler" and loc[1] in SAMPLERS:
        del loc[1]  # the union's tag, not a field
    field = ".".join(str(part) for part in loc) or "experiment"
    kind, message = first["type"], first["msg"]
    if kind == "union_tag_invalid":
        return InputError(source, "sampler.method", f"one of {', '.join(SAMPLERS)}", first["ctx"]["tag"])
    if kind == "union_tag_not_found":
        return InputError(source, "sampler.method", "", None,
                          message=f"sampler.method is required (one of {', '.join(SAMPLERS)})")
    if kind == "model_attributes_type" and loc[:1] == ["sampler"]:
        return InputError(source, "sampler", "a mapping such as {method: lhs, futures: 16}", first.get("input"))
    if kind == "string_pattern_mismatch":
        return InputError(source, field, "a name of letters, digits and _ (not starting with a digit)", first.get("input"))
    if message.startswith("Value error, "):
        reason = message.removeprefix("Value error, ")
        if not loc:
            return InputError(source, field, "", None, message=reason)
        return InputError(source, field, "", None, message=f"{field} {reason}" if reason.startswith("must ") else f"{field}: {reason}")
    if kind == "too_short":
        return InputError(source, field, f"a list of at least {first['ctx']['min_length']}", first.get("input"))
    if kind == "extra_forbidden":
        return InputError(source, field, "", None, message=f"unknown key {field!r} (not an experiment field)")
    if kind == "missing":
        return InputError(source, field, "", None, message=f"{field} is required (got nothing)")
    expected = message.removeprefix("Input should be ").removeprefix("Input ").removeprefix("String should ")
    return InputError(source, field, expected, first.get("input"))


def _value_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "flag"
    if isinstance(value, (int, float)) and math.isfinite(value):
        return "number"
    if isinstance(value, str):
        return "text"
    return None
