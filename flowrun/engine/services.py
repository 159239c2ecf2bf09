"""The services an execution uses (state DB, storage, KV, secrets, masking, starting an execution), built once."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from flowrun.engine.launch import RunOptions
from flowrun.plain import Plain
from flowrun.project import Project
from flowrun.state.location import open_store
from flowrun.state.protocol import StateStore

if TYPE_CHECKING:
    from flowrun.crypto import Cipher
    from flowrun.model.execution import Execution
    from flowrun.secrets import Masker, Secrets
    from flowrun.storage.internal import InternalStorage
    from flowrun.storage.kv import KVStore
    from flowrun.storage.namespace_files import NamespaceFiles


class PreparedRun(Protocol):
    """An execution that exists (validated flow, resolved inputs) and has not run yet."""

    execution: Execution
    services: Services

    def run(self) -> Execution:
        """Run the execution to its end (or its pause) and return it."""
        ...


#: `start_execution(flow_ref, options)`: validate the flow and resolve its inputs, raising `FlowrunError` when
#: that fails (nothing ran); handed down by `flowrun.app` to subflows, Flow triggers and schedule runners.
StartExecution = Callable[[str, RunOptions], PreparedRun]


class Services(Plain):
    FIELDS = ("project", "db", "storage", "namespace_files", "kv", "secrets", "masker", "cipher", "envs", "globals",
              "start_execution", "dispatch", "worker_name")

    def __init__(self, project: Project, db: StateStore, storage: InternalStorage, namespace_files: NamespaceFiles,
                 kv: KVStore, secrets: Secrets, masker: Masker, cipher: Cipher, envs: dict[str, str] | None = None,
                 globals: dict[str, Any] | None = None, start_execution: StartExecution | None = None,
                 dispatch: Callable[..., Any] | None = None, worker_name: str | None = None) -> None:
        self.project = project
        self.db = db
        self.storage = storage
        self.namespace_files = namespace_files
        self.kv = kv
        self.secrets = secrets
        self.masker = masker
        self.cipher = cipher
        self.envs: dict[str, str] = {} if envs is None else envs
        self.globals: dict[str, Any] = {} if globals is None else globals
        #: `StartExecution` for subflows, set by the layer that runs the execution
        self.start_execution = start_execution
        #: with the Celery executor, runs one attempt on a worker: (executor, task, ctx) -> AttemptResult
        #: (flowrun.engine.remote.RemoteAttempts); None runs every attempt in this process
        self.dispatch = dispatch
        #: the Celery worker running this execution, recorded on its task runs (None: a local run)
        self.worker_name = worker_name


def env_variables(environ: dict[str, str] | None = None) -> dict[str, str]:
    """`envs.*`: process variables prefixed ENV_, prefix stripped and name lowercased."""
    environ = dict(os.environ) if environ is None else environ
    return {k[4:].lower(): v for k, v in environ.items() if k.startswith("ENV_")}


def checked_cipher(project: Project, db: StateStore) -> Cipher:
    """The project's cipher, guarded by the state's key ledger: the key's fingerprint is recorded on first use
    and a key other than the state's is refused before anything is encrypted with it. Every path that encrypts
    or decrypts (a run, `kv set --secret`, `state check`) builds its cipher here."""
    from flowrun.crypto import Cipher
    from flowrun.state.keys import KeyLedger

    return Cipher(project.home, guard=KeyLedger(db), key_file=project.secret_key_path)


def open_services(project: Project, db: StateStore | None = None) -> Services:
    from flowrun.secrets import Masker, Secrets
    from flowrun.storage.kv import KVStore
    from flowrun.storage.location import open_storage

    db = db or open_store(project)
    masker = Masker()
    cipher = checked_cipher(project, db)
    storage, namespace_files = open_storage(project)
    return Services(
        project=project, db=db, storage=storage, namespace_files=namespace_files, kv=KVStore(db, cipher),
        secrets=Secrets(os.environ, project.secrets_file, masker=masker), masker=masker,
        cipher=cipher,
        envs=env_variables(), globals=project.config.globals,
    )
