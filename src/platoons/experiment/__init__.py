"""Experiments: designs under uncertainty, replicated on common random numbers, run at scale.

- `runs`: a Task (scenario and seed) and its Outcome; `run_task` is what every executor calls.
- `executors`: sequential, local processes and Dask behind one interface, `run(tasks)`.
- `spec`, `sampling`, `sweep`: the experiment file, its futures, and the resolved sweep of runs.
- `driver`: streams a sweep's outcomes into a store on disk, resumably.
- `summary`, `sensitivity`: means with 90% intervals; Sobol and Morris indices.

`platoons compare` uses `plan`, `execute` and `summarize` on results held in memory;
`platoons sweep` uses `load_sweep` and `run_sweep`, which hold one batch at most.
"""

from platoons.experiment.driver import SweepReport, run_sweep
from platoons.experiment.executors import EXECUTORS, Dask, Executor, Processes, Sequential, execute, make_executor
from platoons.experiment.progress import with_progress
from platoons.experiment.runs import CORE_DESIGNS, Outcome, Task, plan, replicate_seeds, run_task
from platoons.experiment.spec import Experiment, load_experiment
from platoons.experiment.summary import INTERVAL, summarize
from platoons.experiment.sweep import Sweep, load_sweep, resolve

__all__ = [
    "CORE_DESIGNS", "EXECUTORS", "INTERVAL", "Dask", "Executor", "Experiment", "Outcome", "Processes", "Sequential",
    "Sweep", "SweepReport", "Task", "execute", "load_experiment", "load_sweep", "make_executor", "plan",
    "replicate_seeds", "resolve", "run_sweep", "run_task", "summarize", "with_progress",
]
