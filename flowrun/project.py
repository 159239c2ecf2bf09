"""The project on disk: its root, `flowrun.yaml`, state dir, flows index and namespace files dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowrun.errors import InvalidFlowError, Problem, UsageError
from flowrun.model.base import PluginDefault, Strict
from flowrun.model.lite import field_validator
from flowrun.plain import Plain
from flowrun.scaleout.settings import ExecutorSettings, effective

CONFIG_FILE = "flowrun.yaml"


class GitSettings(Strict):
    """`git:` in flowrun.yaml: the remote of `flowrun git pull/push` (command-line options win).

    The repository mirrors the project under `gitDirectory` (default its root): `flows/` and
    `namespace_files/<namespace>/`. String values may use `{{ secret('NAME') }}`."""

    url: str | None = None
    branch: str = "main"
    git_directory: str = ""
    namespace: str | None = None
    username: str | None = None
    password: str | None = None
    private_key: str | None = None
    private_key_path: str | None = None
    passphrase: str | None = None
    author_name: str | None = None
    author_email: str | None = None
    commit_message: str | None = None


class ProjectConfig(Strict):
    """`flowrun.yaml`. Every key is optional."""

    home: str | None = None
    plugin_defaults: list[PluginDefault] = []
    globals: dict[str, Any] = {}
    secrets_file: str | None = None
    max_parallel: int | None = None
    emulators: dict[str, str] = {}
    #: a timed Pause that resumes within this long waits in the process; a longer one leaves the execution
    #: PAUSED for `flowrun tick` (or `flowrun resume`)
    pause_wait: str = "PT1M"

    @field_validator("max_parallel")
    @classmethod
    def _check_max_parallel(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"maxParallel must be at least 1 (it caps the task attempts running at once), got {value}")
        return value

    @field_validator("pause_wait")
    @classmethod
    def _check_pause_wait(cls, value: str) -> str:
        from flowrun.durations import parse_duration

        parse_duration(value)
        return value

    git: GitSettings | None = None
    #: how executions run: in this process (local, the default) or on Celery workers (flowrun/scaleout)
    executor: ExecutorSettings | None = None
    #: where flowrun's own state lives: a postgresql:// URL shared by several machines (FLOWRUN_STATE wins);
    #: unset, the embedded SQLite file in the state dir
    state: str | None = None
    #: the secret key file (FLOWRUN_SECRET_KEY_FILE wins): machines sharing one Postgres state need the same key
    secret_key_file: str | None = None

    @field_validator("state")
    @classmethod
    def _check_state(cls, value: str | None) -> str | None:
        from flowrun.state.pg_url import check_url

        if value is not None:
            try:
                check_url(value.strip(), "`state`")
            except UsageError as exc:
                raise ValueError(exc.message) from None
        return value

    #: where `kestra://` files and namespace files live: `gs://bucket/prefix` or a shared dir (FLOWRUN_STORAGE wins)
    storage: str | None = None

    @field_validator("storage")
    @classmethod
    def _check_storage(cls, value: str | None) -> str | None:
        from flowrun.storage.spec import parse_storage

        if value is not None:
            try:
                parse_storage(value, Path("."), "storage")
            except UsageError as exc:
                raise ValueError(exc.message) from None
        return value


class Project(Plain):
    """A project: its root directory, its `flowrun.yaml` settings and its state dir."""

    FIELDS = ("root", "config", "home")

    def __init__(self, root: Path, config: ProjectConfig | None = None, home: Path = Path(".flowrun")) -> None:
        self.root = root
        self.config = ProjectConfig.model_construct() if config is None else config
        self.home = home

    @property
    def executor(self) -> ExecutorSettings:
        """`executor:` of flowrun.yaml with FLOWRUN_EXECUTOR / FLOWRUN_BROKER... applied."""
        return effective(self.config.executor)

    @property
    def flows_dir(self) -> Path:
        return self.root / "flows"

    @property
    def templates_dir(self) -> Path:
        """Kestra's (deprecated) templates, one YAML file each: `id`, `namespace`, `tasks`, `errors`."""
        return self.root / "templates"

    @property
    def namespace_files_dir(self) -> Path:
        return self.root / "namespace_files"

    @property
    def db_path(self) -> Path:
        return self.home / "state.db"

    @property
    def secret_key_path(self) -> Path:
        """The secret key file: FLOWRUN_SECRET_KEY_FILE, then `secretKeyFile` (relative to the root), else
        `<state dir>/secret.key`."""
        chosen = os.environ.get("FLOWRUN_SECRET_KEY_FILE", "").strip() or self.config.secret_key_file
        if not chosen:
            return self.home / "secret.key"
        path = Path(chosen).expanduser()
        return path if path.is_absolute() else (Path.cwd() if os.environ.get("FLOWRUN_SECRET_KEY_FILE") else
                                                 self.root) / path

    @property
    def storage_dir(self) -> Path:
        return self.home / "storage"

    @property
    def secrets_file(self) -> Path | None:
        if not self.config.secrets_file:
            return None
        path = Path(self.config.secrets_file)
        return path if path.is_absolute() else self.root / path

    def flow_files(self) -> list[Path]:
        if not self.flows_dir.is_dir():
            return []
        return sorted(p for p in self.flows_dir.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())

    def find_flow(self, namespace: str, flow_id: str) -> Path | None:
        """The flow file under flows/ whose namespace and id match (reads only the two keys)."""
        for path in self.flow_files():
            ns, fid = _peek_ids(path)
            if ns == namespace and fid == flow_id:
                return path
        return None


def peek_ids(path: Path) -> tuple[str | None, str | None]:
    """A flow file's top-level `namespace` and `id` (read without parsing the file); None when absent."""
    return _peek_ids(path)


def _peek_ids(path: Path) -> tuple[str | None, str | None]:
    ns = fid = None
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("namespace:"):
                    ns = line.split(":", 1)[1].strip().strip("'\"")
                elif line.startswith("id:"):
                    fid = line.split(":", 1)[1].strip().strip("'\"")
                if ns and fid:
                    break
    except (OSError, UnicodeDecodeError):
        return None, None
    return ns, fid


def find_root(start: Path) -> Path | None:
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / CONFIG_FILE).is_file() or (candidate / "flows").is_dir():
            return candidate
    return None


def load_config(root: Path, cache_root: Path | None = None,
                keep: Callable[[ProjectConfig], bool] = lambda config: True) -> ProjectConfig:
    """`flowrun.yaml` validated; all defaults when it is absent, empty or holds only comments.

    With `cache_root` (a state dir), the validated config is kept under it for the next load of the same bytes
    (flow_cache.cached_config), where `keep` accepts it: a run of an unchanged project imports neither PyYAML
    nor pydantic (~100 ms)."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return defaults()
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise InvalidFlowError([Problem(f"cannot read the project config: {exc}", file=str(path))]) from None
    if cache_root is None:
        return _validate_config(path, source)
    from flowrun.flow_cache import cached_config

    return cached_config(cache_root, path, source, ProjectConfig, lambda: _validate_config(path, source), keep)


def _validate_config(path: Path, source: bytes) -> ProjectConfig:
    from flowrun.model.parse import parse_yaml
    from flowrun.model.problems import pydantic_problems

    try:
        text = source.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text() reads
    except UnicodeDecodeError as exc:
        raise InvalidFlowError([Problem(f"cannot read the project config: {exc}", file=str(path))]) from None
    if _holds_nothing(text):
        return defaults()
    doc = parse_yaml(text, str(path))
    if doc.data is None:  # e.g. only `---` and comments
        return defaults()
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"the {type(doc.data).__name__} {doc.data!r}"[:80]
        raise InvalidFlowError([Problem(f"the project config must be a mapping of settings, not {kind}",
                                        file=str(path), line=1)],
                               hint="write `key: value` lines (home, maxParallel, secretsFile, globals, "
                                    "pluginDefaults), or leave the file empty for the defaults")
    from pydantic import ValidationError

    try:
        return ProjectConfig.model_validate(doc.data)
    except ValidationError as exc:
        raise InvalidFlowError(pydantic_problems(doc, exc, (), None, ProjectConfig)) from None


def defaults() -> ProjectConfig:
    """The config of a project without settings. Defaults need no validation, so the model's validator (built
    on first use: ~2 ms) is not built on a run that never reads a `flowrun.yaml`."""
    return ProjectConfig.model_construct()


def _holds_nothing(text: str) -> bool:
    """True for YAML with no document node: empty, blank, comments and `---` only."""
    if not text.strip():
        return True  # without importing the YAML parser
    import yaml

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader) is None
    except yaml.YAMLError:
        return False  # parse_yaml reports it, with its line and column


def open_project(home: str | None = None, start: Path | None = None) -> Project:
    """Find the project from `start` (default: cwd) and choose its state dir.

    The state dir is `--home`, then FLOWRUN_HOME, then `home` in flowrun.yaml, then `<root>/.flowrun`.
    """
    start = start or Path.cwd()
    root = find_root(start) or Path.cwd().resolve()
    explicit = home or os.environ.get("FLOWRUN_HOME")
    if explicit:
        state = Path.cwd() / Path(explicit).expanduser()  # an absolute path stays itself
        return Project(root=root, config=load_config(root, state), home=state)
    default = root / ".flowrun"
    # the config is kept in the default state dir only when it names no other (the next load finds it there)
    config = load_config(root, default, keep=lambda found: found.home is None)
    return Project(root=root, config=config, home=root / Path(config.home).expanduser() if config.home else default)


def resolve_flow_ref(ref: str, home: str | None = None) -> tuple[Path, Project]:
    """A flow named by a path or, when no such file exists, by NAMESPACE/FLOW_ID."""
    path = Path(ref)
    if path.is_file():
        return path, open_project(home, path.resolve().parent)
    project = open_project(home)
    if "/" in ref and not ref.endswith((".yaml", ".yml")):
        namespace, _, flow_id = ref.rpartition("/")
        found = project.find_flow(namespace, flow_id)
        if found:
            return found, project
        close = closest_flow(project, ref)
        raise UsageError(f"no flow `{flow_id}` in namespace `{namespace}` under {project.flows_dir}"
                         + (f"; did you mean {close}?" if close else ""),
                         hint="list the project's flows with `flowrun flows list`")
    raise InvalidFlowError([Problem("file not found", file=ref)],
                           hint="check the path, or name the flow as NAMESPACE/FLOW_ID")


def closest_flow(project: Project, ref: str) -> str | None:
    """The NAMESPACE/FLOW_ID under flows/ most like `ref` (a typo), if any is close enough."""
    import difflib

    known = [f"{ns}/{fid}" for ns, fid in map(_peek_ids, project.flow_files()) if ns and fid]
    close = difflib.get_close_matches(ref, known, n=1, cutoff=0.6)
    return close[0] if close else None
