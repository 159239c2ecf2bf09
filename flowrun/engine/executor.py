"""Runs a flow's task tree: task runs, attempts, retries, timeouts, errors/finally, and the final state."""

from __future__ import annotations

import itertools
import threading
from functools import partial
from typing import Any

from flowrun.engine.context import TaskContext, TemplateRuntime, make_log_line, readable_prefixes
from flowrun.engine.deadline import start_timer
from flowrun.engine.events import Bus
from flowrun.engine.mocks import TaskMock, find_mock, run_mock
from flowrun.engine.outcomes import AttemptResult, Failure, attempt_result, capture
from flowrun.engine.parallel import run_bounded
from flowrun.engine.retry import next_delay, resubmit_delay
from flowrun.engine.services import Services
from flowrun.engine.template_errors import render_located
from flowrun.engine.template_vars import base_variables
from flowrun.model.execution import (
    FAILED_LIKE,
    TERMINAL,
    Attempt,
    Execution,
    State,
    TaskRun,
    final_state,
    new_id,
    utcnow,
)
from flowrun.model.flow import Flow
from flowrun.storage.internal import execution_prefix
from flowrun.tasks.base import Task
from flowrun.tasks.runner import Scope
from flowrun.templating.limits import bounded
from flowrun.templating.truth import is_true


class Executor:
    """Drives one execution. Flowable tasks call back into `run_list` / `run_task`."""

    def __init__(self, flow: Flow, execution: Execution, services: Services, bus: Bus,
                 max_parallel: int = 4, reuse: dict[tuple[str, tuple[str, ...]], TaskRun] | None = None,
                 resumptions: dict[str, Any] | None = None, mocks: list[TaskMock] | None = None) -> None:
        self.flow = flow
        self.execution = execution
        self.services = services
        self.bus = bus
        self.outputs: dict[str, Any] = {}
        self.task_states: dict[str, Any] = {}
        self.lock = threading.RLock()
        self.killed = threading.Event()
        self.active: dict[str, TaskContext] = {}
        self.slots = threading.BoundedSemaphore(max(1, max_parallel))
        #: task runs of an earlier run of this execution (restart, resume, replay), by (task id, loop values)
        self.reuse = reuse or {}
        #: PAUSED task runs of the earlier run to resume, by task run id (flowrun.engine.pause.Resumption)
        self.resumptions: dict[str, Any] = dict(resumptions or {})
        self.mocks = mocks or []  #: tasks a unit test's fixtures stand in for (flowrun.engine.mocks)
        #: set by Exit (or a Pause resumed to CANCELLED): the state the execution ends in, no more tasks start
        self.ended: State | None = None
        self.background: list[threading.Thread] = []
        #: Ctrl-C or SIGTERM reached this execution (as opposed to a task ending KILLED on its own)
        self.interrupted = False
        first_seq = max([len(execution.task_runs), *(run.seq + 1 for run in self.reuse.values())])
        self._seq = itertools.count(first_seq)
        self.storage_prefix = execution_prefix(flow.namespace, flow.id, execution.id)
        self.runtime = TemplateRuntime(services, flow.namespace, readable_prefixes(execution, self.storage_prefix))
        self.base_vars = base_variables(flow, execution, services)

    # -- variables -------------------------------------------------------------------------------------
    def task_variables(self, task: Task | None, taskrun: TaskRun | None, scope: Scope) -> dict[str, Any]:
        variables = dict(self.base_vars)
        with self.lock:
            variables["outputs"] = dict(self.outputs)
            variables["tasks"] = dict(self.task_states)
        variables["labels"] = self.execution.labels_map()
        variables["execution"] = {**self.base_vars["execution"], "state": str(self.execution.state)}
        if task is not None and taskrun is not None:
            variables["task"] = {"id": task.id, "type": task.type}
            variables["taskrun"] = {
                "id": taskrun.id, "startDate": _iso(taskrun.start_date), "attemptsCount": len(taskrun.attempts),
                "parentId": taskrun.parent_id, "value": taskrun.value, "iteration": taskrun.iteration,
            }
        if scope.parents:
            variables["parents"] = scope.parents
            variables["parent"] = scope.parents[0]
        if scope.shared_dir is not None and scope.parent_run is not None:  # a WorkingDirectory's child
            variables["workerTaskrun"] = {"id": scope.parent_run.id, "value": scope.parent_run.value}
        return variables

    def render(self, value: Any, variables: dict[str, Any], typed: bool = False) -> Any:
        """Render a raw property; a template error fails with the task, property and flow file:line."""
        return render_located(self.runtime, value, variables, typed, self.flow, self.execution.trigger is not None)

    # -- events ----------------------------------------------------------------------------------------
    def emit_log(self, taskrun: TaskRun | None, attempt: int | None, level: str, message: str) -> None:
        text = self.services.masker.mask(str(message))
        self.bus.log(make_log_line(self.execution.id, taskrun, attempt, level, text))

    def emit_metric(self, taskrun: TaskRun, name: str, type: str, value: float, tags: dict[str, str]) -> None:
        self.bus.metric(self.execution, taskrun, name, type, value, tags)

    def emit_process_started(self, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        self.bus.process_started(self.execution, taskrun, attempt, pgid)

    def emit_process_ended(self, taskrun: TaskRun, attempt: int, pgid: int) -> None:
        self.bus.process_ended(self.execution, taskrun, attempt, pgid)

    def _update(self, taskrun: TaskRun) -> None:
        self.bus.taskrun_updated(self.execution, taskrun)

    def add_labels(self, labels: dict[str, str]) -> None:
        with self.lock:
            kept = [(k, v) for k, v in self.execution.labels if k not in labels]
            self.execution.labels = kept + [(k, v) for k, v in labels.items()]
        self.bus.execution_updated(self.execution)

    # -- running ---------------------------------------------------------------------------------------
    def run(self) -> Execution:
        ex = self.execution
        ex.set_state(State.RUNNING)
        self.bus.execution_updated(ex)
        if isinstance(capture(self._run_groups, errors=False), Failure):  # Ctrl-C or SIGTERM between tasks
            self.interrupted = True
            self.kill()
        top_ids = self._top_ids()  # once: the set is built from the flow's tasks, not per task run
        top = [tr for tr in ex.task_runs if tr.parent_id is None and tr.task_id in top_ids]
        state = State.KILLED if self.killed.is_set() else self.ended or final_state([tr.state for tr in top])
        if state not in (State.KILLED, State.CANCELLED) and self.flow.doc.outputs:
            state = self._render_flow_outputs(state)  # a FAILED execution has outputs too (FlowCaseTest#waitFailed)
        ex.end_date = utcnow()
        ex.set_state(state)
        self.bus.execution_updated(ex)
        self.ended = None  # afterExecution runs even after Exit
        if self.flow.after_execution:
            self.base_vars["execution"].update(state=str(state), outputs=ex.outputs)  # AfterExecutionTestCase
            self.run_list(self.flow.after_execution, Scope())
        return ex

    def _run_groups(self) -> None:
        """`tasks`, then `errors` if they failed, then `finally`."""
        runs = self.run_list(self.flow.tasks, Scope(retry=self.flow.doc.retry))
        state = final_state([tr.state for tr in runs])
        if state in FAILED_LIKE and self.flow.errors and not self.killed.is_set():
            self.run_list(self.flow.errors, Scope())
        if self.flow.finally_:
            self.run_list(self.flow.finally_, Scope())

    def run_in_background(self, target: Any) -> None:
        """Start work the execution does not wait for (Subflow with wait: false); joined before exit."""
        thread = threading.Thread(target=target, name="background", daemon=True)
        self.background.append(thread)
        thread.start()

    def join_background(self) -> None:
        for thread in self.background:
            thread.join()

    def end_execution(self, state: State) -> None:
        """End the execution in `state` (Exit): no task starts after this one; running ones go on, unless KILLED."""
        self.ended = State(state)
        if self.ended == State.KILLED:
            self.kill()

    def set_execution_state(self, state: State) -> None:
        self._execution_state(State(state))

    def _execution_state(self, state: State) -> None:
        with self.lock:
            if self.execution.state == state:
                return
            self.execution.set_state(state)
        self.bus.execution_updated(self.execution)

    def _top_ids(self) -> set[str]:
        return {t.id for t in self.flow.tasks}

    def kill(self) -> None:
        """Ctrl-C / SIGTERM: stop everything that runs and mark unfinished task runs KILLED."""
        self.killed.set()
        for ctx in list(self.active.values()):
            ctx.cancel.set()
        for tr in self.execution.task_runs:
            if tr.state not in TERMINAL:
                tr.set_state(State.KILLED)
                tr.end_date = utcnow()
                for attempt in tr.attempts:
                    if attempt.end_date is None:
                        attempt.state, attempt.end_date = State.KILLED, utcnow()
                self._update(tr)

    def run_list(self, tasks: list[Task], scope: Scope, value: str | None = None,
                 iteration: int | None = None) -> list[TaskRun]:
        """Run tasks one after the other; stop at the first FAILED, KILLED or PAUSED task run."""
        runs: list[TaskRun] = []
        for task in tasks:
            if task.disabled:
                continue
            if self.killed.is_set() or self.ended is not None:
                break
            taskrun = self.run_task(task, scope, value, iteration)
            runs.append(taskrun)
            if taskrun.state in FAILED_LIKE or taskrun.state == State.PAUSED:
                break
        return runs

    def run_group(self, tasks: list[Task], scope: Scope, errors: list[Task] | None, concurrent: int = 1) -> State:
        """A flowable's children: sequential (concurrent=1) or parallel; `errors` run when they fail."""
        if concurrent == 1:
            runs = self.run_list(tasks, scope)
        else:
            jobs = [partial(self.run_task, task, scope) for task in tasks if not task.disabled]
            runs = run_bounded(jobs, concurrent, lambda tr: tr.state in FAILED_LIKE, self.killed, self.kill)
        return self._after_children([tr.state for tr in runs], scope, errors)

    def _after_children(self, states: list[State], scope: Scope, errors: list[Task] | None) -> State:
        state = final_state(states)
        if state in FAILED_LIKE and errors and not self.killed.is_set():
            self.run_list(errors, scope)
        return state

    def run_each(self, tasks: list[Task], values: list[str], scope: Scope, errors: list[Task] | None,
                 limit: int) -> State:
        """ForEach: the task group once per value; `limit` groups at a time (0 = unlimited)."""
        jobs = [partial(self.run_list, tasks, scope.iterate(value), value, index)
                for index, value in enumerate(values)]
        results = run_bounded(jobs, limit, lambda runs: any(tr.state in FAILED_LIKE for tr in runs), self.killed,
                              self.kill)
        return self._after_children([tr.state for runs in results for tr in runs], scope, errors)

    def run_dag(self, tasks: list[Task], deps: dict[str, list[str]], scope: Scope, errors: list[Task] | None,
                limit: int) -> State:
        """Dag: start each task once all of its dependencies have ended; after a failure none new starts."""
        enabled = [task for task in tasks if not task.disabled]
        index = {task.id: i for i, task in enumerate(enabled)}
        after = [[index[dep] for dep in deps.get(task.id, []) if dep in index] for task in enabled]
        jobs = [partial(self.run_task, task, scope) for task in enabled]
        runs = run_bounded(jobs, limit, lambda tr: tr.state in FAILED_LIKE, self.killed, self.kill, after)
        return self._after_children([tr.state for tr in runs], scope, errors)

    def _reuse(self, task: Task, previous: TaskRun, scope: Scope) -> TaskRun | None:
        """Adopt a finished task run of an earlier run; None means: run it again in place."""
        from flowrun.engine.reuse import adopt

        return adopt(self, task, previous, scope)

    def keep_children(self, parent: TaskRun) -> None:
        """Keep, as they were recorded, the task runs below `parent` of the earlier run (it is not run again)."""
        from flowrun.engine.reuse import keep_children

        keep_children(self, parent)

    def retire_earlier_iterations(self, parent: TaskRun, first_task_id: str) -> None:
        """A loop continued from an earlier run: its task runs of earlier iterations are kept, not reused."""
        from flowrun.engine.reuse import retire_earlier_iterations

        retire_earlier_iterations(self, parent, first_task_id)

    def finish_taskrun(self, task: Task, taskrun: TaskRun, state: State) -> TaskRun:
        """End a task run in `state`, after allowFailure and allowWarning (KILLED once the execution is)."""
        return self._finish(taskrun, _allowances(task, State.KILLED if self.killed.is_set() else state))

    def new_taskrun(self, task: Task, scope: Scope, value: str | None = None,
                    iteration: int | None = None) -> TaskRun:
        parent = scope.parent_run
        if value is None and parent is not None:
            value = parent.value  # as Kestra's TaskRun.of: a task run below a loop iteration keeps its value
        taskrun = TaskRun(id=new_id(), execution_id=self.execution.id, task_id=task.id, task_type=task.type,
                          seq=next(self._seq), parent_id=parent.id if parent else None,
                          value=value, iteration=iteration, value_path=scope.value_path)
        with self.lock:
            self.execution.task_runs.append(taskrun)
        return taskrun

    def child_taskrun(self, parent: TaskRun, name: str) -> TaskRun:
        """A task run under `parent` that a task reports itself (one per dbt node), recorded like any other."""
        child = TaskRun(id=new_id(), execution_id=self.execution.id, task_id=name, task_type=parent.task_type,
                        seq=next(self._seq), parent_id=parent.id, value_path=parent.value_path)
        with self.lock:
            self.execution.task_runs.append(child)
        return child

    def update_child(self, child: TaskRun) -> None:
        """Publish a reported task run's new state, dates or outputs (the task sets them, not the engine)."""
        self._update(child)

    def run_task(self, task: Task, scope: Scope, value: str | None = None, iteration: int | None = None) -> TaskRun:
        previous = self.reuse.pop((task.id, scope.value_path), None) if self.reuse else None
        if previous is not None:
            reused = self._reuse(task, previous, scope)
            if reused is not None:
                return reused
            taskrun = previous
        else:
            taskrun = self.new_taskrun(task, scope, value, iteration)
        self.set_task_state(taskrun, State.CREATED)
        if task.run_if is not None:
            condition = capture(lambda: self.render(task.run_if, self.task_variables(task, taskrun, scope)),
                                interrupts=False)
            if isinstance(condition, Failure):
                self.emit_log(taskrun, None, "ERROR", f"runIf: {condition.message}")
                return self._finish(taskrun, State.FAILED, error=f"runIf: {condition.message}")
            if not is_true(condition):
                return self._finish(taskrun, State.SKIPPED)
        mock = find_mock(self.mocks, task.id, taskrun.value) if self.mocks else None
        if mock is not None:
            return run_mock(self, task, taskrun, scope, mock)
        if task.flowable:
            return self._run_flowable(task, taskrun, scope)
        return self._run_attempts(task, taskrun, scope)

    def _run_flowable(self, task: Any, taskrun: TaskRun, scope: Scope) -> TaskRun:
        self.set_task_state(taskrun, State.RUNNING)
        outcome = capture(partial(task.execute, self, taskrun, scope), interrupts=False)
        state = outcome if not isinstance(outcome, Failure) else self._flowable_failed(taskrun, outcome)
        if self.killed.is_set():
            state = State.KILLED
        elif self.ended is not None:
            state = self.ended  # Exit ends its parents in its state
        return self._finish(taskrun, _allowances(task, state))

    def _flowable_failed(self, taskrun: TaskRun, failure: Failure) -> State:
        """A flowable's own failure (a bad property, a missing subflow...) fails it, with its message logged."""
        if failure.kind == "killed":
            return State.KILLED
        message = failure.own_message or failure.message
        self.emit_log(taskrun, None, "ERROR", message)
        taskrun.error = message
        return State.FAILED

    def _run_attempts(self, task: Task, taskrun: TaskRun, scope: Scope) -> TaskRun:
        policy = task.retry or scope.retry
        while True:
            with self.slots:  # as a Kestra worker thread: the task run stays CREATED until a slot is free
                ctx = self._start_attempt(task, taskrun, scope)
                result = self._attempt(task, ctx)
            self._end_attempt(taskrun, result)
            state = result.state
            if state != State.FAILED or self.killed.is_set():
                break
            delay = next_delay(policy, taskrun) if policy else resubmit_delay(result.lost, taskrun)
            if delay is None:
                break
            self.set_task_state(taskrun, State.RETRYING)
            self._execution_state(State.RETRYING)
            self.emit_log(taskrun, len(taskrun.attempts), "WARN",
                          f"attempt {len(taskrun.attempts)} failed; retrying in {delay:.3g}s")
            if self.killed.wait(delay):
                state = State.KILLED
                break
            self._execution_state(State.RUNNING)
        if state == State.SUCCESS and policy and policy.warning_on_retry and len(taskrun.attempts) > 1:
            state = State.WARNING
        return self._finish(taskrun, _allowances(task, state))

    def _start_attempt(self, task: Task, taskrun: TaskRun, scope: Scope) -> TaskContext:
        worker = self.services.worker_name  # a Celery worker that took the whole execution
        taskrun.attempts.append(Attempt(state=State.RUNNING, start_date=utcnow(), worker=worker))
        taskrun.worker = worker or taskrun.worker
        ctx = TaskContext(self, taskrun, task, scope, len(taskrun.attempts))
        self.set_task_state(taskrun, State.RUNNING)
        return ctx

    def _attempt(self, task: Task, ctx: TaskContext) -> AttemptResult:
        """Run one attempt under the task's timeout (its caller holds a parallelism slot); the outcome is a value.

        With the Celery executor (`services.dispatch`), a task's attempt runs on a worker, unless it must stay
        here: a task that changes the execution, or one inside a WorkingDirectory (its dir is on this disk)."""
        self.active[ctx.taskrun_id] = ctx
        if self.killed.is_set():  # killed while this attempt was starting: kill() did not see it
            ctx.cancel.set()
        dispatch = self.services.dispatch
        if dispatch is not None and task.remote and ctx.scope.shared_dir is None:
            self.bus.flush()  # the worker reads the task run, RUNNING, from the state store
            try:
                return dispatch(self, task, ctx)
            finally:
                self.active.pop(ctx.taskrun_id, None)
        return self.run_attempt_here(task, ctx)

    def run_attempt_here(self, task: Task, ctx: TaskContext) -> AttemptResult:
        """Run one attempt in this process (a Celery worker runs the attempts it is sent through this)."""
        self.active[ctx.taskrun_id] = ctx
        timer = start_timer(self, task, ctx)
        try:
            outcome = capture(partial(self._run_bounded, task, ctx))
        finally:
            if timer is not None:
                timer.cancel()
            self.active.pop(ctx.taskrun_id, None)
            ctx.cleanup()
        result = attempt_result(outcome, ctx.timed_out, task.timeout)
        if ctx.warned and result.state == State.SUCCESS:  # the task asked to end WARNING (Kestra's finalState)
            result = result.replace(state=State.WARNING)
        return result

    def _run_bounded(self, task: Task, ctx: TaskContext) -> dict[str, Any]:
        with bounded(ctx.cancel, ctx.deadline):  # templates stop with the task
            outputs = task.run(ctx) or {}
            ctx.commit_files()  # the files it wrote are stored before the attempt counts as done
            return outputs

    def _end_attempt(self, taskrun: TaskRun, result: AttemptResult) -> None:
        """Record an attempt's result on its task run; a KILLED attempt stops the execution."""
        if result.error is not None:
            self._record_error(taskrun, len(taskrun.attempts), result.error, result.evidence)
        if result.state == State.KILLED:
            self.killed.set()
            if result.interrupted:
                self.interrupted = True
                self.kill()
        attempt = taskrun.attempts[-1]
        attempt.state, attempt.end_date, attempt.lost = result.state, utcnow(), result.lost
        self.set_outputs(taskrun, result.outputs)

    def _record_error(self, taskrun: TaskRun, attempt: int, message: str, evidence: dict[str, Any]) -> None:
        taskrun.error = self.services.masker.mask(message)
        from flowrun.engine.evidence import evidence_lines

        self.emit_log(taskrun, attempt, "ERROR", message)
        for line in evidence_lines(evidence):
            self.emit_log(taskrun, attempt, "ERROR", line)

    def set_outputs(self, taskrun: TaskRun, outputs: dict[str, Any]) -> None:
        taskrun.outputs = outputs
        if not outputs:
            return
        with self.lock:
            if not taskrun.value_path:
                self.outputs[taskrun.task_id] = outputs
                return
            node = self.outputs.setdefault(taskrun.task_id, {})
            for value in taskrun.value_path[:-1]:
                node = node.setdefault(value, {})
            node[taskrun.value_path[-1]] = outputs

    def set_task_state(self, taskrun: TaskRun, state: str) -> None:
        taskrun.set_state(state)
        self.note_state(taskrun)
        self._update(taskrun)

    def adopt_recorded(self) -> None:
        """Take the outputs and states of the execution's recorded task runs as this run's (a worker rebuilding
        the context of one attempt), without publishing anything."""
        for taskrun in self.execution.task_runs:
            self.set_outputs(taskrun, taskrun.outputs)
            self.note_state(taskrun)

    def note_state(self, taskrun: TaskRun) -> None:
        """`tasks.<id>.state` of the templates, from the task run's state."""
        state = taskrun.state
        with self.lock:
            if taskrun.value_path:
                node = self.task_states.setdefault(taskrun.task_id, {})
                for value in taskrun.value_path[:-1]:
                    node = node.setdefault(value, {})
                node[taskrun.value_path[-1]] = {"state": str(state)}
            else:
                self.task_states[taskrun.task_id] = {"state": str(state)}

    def _finish(self, taskrun: TaskRun, state: State, error: str | None = None) -> TaskRun:
        taskrun.end_date = utcnow()
        if error:
            taskrun.error = error
        self.set_task_state(taskrun, state)
        return taskrun

    def _render_flow_outputs(self, state: State) -> State:
        from flowrun.engine.outputs import render_flow_outputs

        variables = self.task_variables(None, None, Scope())
        outputs = capture(lambda: render_flow_outputs(self.flow.doc.outputs or [], self, variables), interrupts=False)
        if isinstance(outputs, Failure):
            self.emit_log(None, None, "ERROR", f"flow outputs: {outputs.message}")
            self.execution.error = self.execution.error if state == State.FAILED else outputs.message
            return State.FAILED
        self.execution.outputs = outputs
        return state


def _allowances(task: Task, state: State) -> State:
    if state == State.FAILED and task.allow_failure:
        state = State.WARNING
    if state == State.WARNING and task.allow_warning:
        state = State.SUCCESS
    return state


def _iso(moment: Any) -> str | None:
    from flowrun.model.execution import iso

    return iso(moment)
