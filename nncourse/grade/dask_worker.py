"""The grading task on a Dask worker: each worker's ``WorkerState`` lives in its
``GradingPlugin`` (registered by ``executors.DaskExecutor``), and ``run_on_worker`` grades
with it.  Imported only when grading on Dask (importing ``distributed`` is slow: grading
without Dask does not pay it)."""
from __future__ import annotations

from distributed import Worker, WorkerPlugin, get_worker

from .task import GradingInputs, GradingTask, TaskResult, WorkerState, run_task


class GradingPlugin(WorkerPlugin):
    """One ``WorkerState`` per Dask worker, made when the plugin is set up there."""
    name = "nncourse-grading"

    def setup(self, worker: Worker) -> None:
        self.state = WorkerState()

    def teardown(self, worker: Worker) -> None:
        self.state.close()


def run_on_worker(task: GradingTask, inputs: GradingInputs) -> TaskResult:
    """``task.run_task`` with the state of the Dask worker that runs it."""
    return run_task(task, inputs, get_worker().plugins[GradingPlugin.name].state)
