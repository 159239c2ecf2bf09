"""The four peer pipelines (hello, chain, count, fan) written idiomatically for flowrun, doit, luigi and bash.

Each writer takes the pipeline's size and returns {file name: text}. Every pipeline's last step prints
`result=<value>` so the benchmark can check that the tool really ran it:
- hello: one task prints a string;
- chain: `n` sequential shell tasks running `true`;
- count: `n` chained tasks, each adding 1 to the previous task's output (the first outputs 0);
- fan: `n` shell `sleep s` tasks, at most `width` at once.
"""

from __future__ import annotations

from dataclasses import dataclass

PROCESS = "    taskRunner:\n      type: io.kestra.plugin.core.runner.Process\n"


@dataclass(frozen=True)
class Size:
    n: int = 1
    width: int = 1
    seconds: float = 0.0

    @property
    def expected(self) -> str:
        """What the pipeline's `result=` line carries."""
        return str(self.n - 1)


# -- flowrun: one YAML flow, the Process task runner for shell tasks ------------------------------------------------
def flowrun_hello(size: Size) -> dict[str, str]:
    return {"flows/hello.yaml": "id: hello\nnamespace: bench\ntasks:\n  - id: hello\n"
                                "    type: io.kestra.plugin.core.log.Log\n    message: result=0\n"}


def flowrun_chain(size: Size) -> dict[str, str]:
    tasks = "".join(f"  - id: t{i:03d}\n    type: io.kestra.plugin.scripts.shell.Commands\n{PROCESS}"
                    f"    commands: [\"true\"]\n" for i in range(size.n))
    return {"flows/chain.yaml": f"id: chain\nnamespace: bench\ntasks:\n{tasks}  - id: done\n"
                                f"    type: io.kestra.plugin.core.log.Log\n    message: result={size.n - 1}\n"}


def flowrun_count(size: Size) -> dict[str, str]:
    tasks = ["  - id: t000\n    type: io.kestra.plugin.core.debug.Return\n    format: \"0\"\n"]
    tasks += [f"  - id: t{i:03d}\n    type: io.kestra.plugin.core.debug.Return\n"
              f"    format: \"{{{{ outputs.t{i - 1:03d}.value | number + 1 }}}}\"\n" for i in range(1, size.n)]
    last = f"t{size.n - 1:03d}"
    return {"flows/count.yaml": f"id: count\nnamespace: bench\ntasks:\n{''.join(tasks)}  - id: done\n"
                                "    type: io.kestra.plugin.core.log.Log\n"
                                f"    message: \"result={{{{ outputs.{last}.value }}}}\"\n"}


def flowrun_fan(size: Size) -> dict[str, str]:
    children = "".join(f"      - id: s{i:02d}\n        type: io.kestra.plugin.scripts.shell.Commands\n"
                       "        taskRunner:\n          type: io.kestra.plugin.core.runner.Process\n"
                       f"        commands: [\"sleep {size.seconds:g}\"]\n" for i in range(size.n))
    return {"flows/fan.yaml": "id: fan\nnamespace: bench\ntasks:\n  - id: fan\n"
                              f"    type: io.kestra.plugin.core.flow.Parallel\n    concurrent: {size.width}\n"
                              f"    tasks:\n{children}  - id: done\n    type: io.kestra.plugin.core.log.Log\n"
                              f"    message: result={size.n - 1}\n"}


# -- doit: a dodo.py of task_* generators; cmd actions for shell steps, python actions and getargs for values -----
DOIT_HEAD = "DOIT_CONFIG = {'verbosity': 2}\n\n\ndef say(text):\n    print(text)\n\n\n"


def doit_hello(size: Size) -> dict[str, str]:
    return {"dodo.py": DOIT_HEAD + "def task_hello():\n    return {'actions': [(say, ['result=0'])]}\n"}


def doit_chain(size: Size) -> dict[str, str]:
    return {"dodo.py": DOIT_HEAD + (
        "def task_t():\n"
        f"    for i in range({size.n}):\n"
        "        yield {'name': str(i), 'actions': ['true'], 'task_dep': [f't:{i - 1}'] if i else []}\n\n"
        "def task_done():\n"
        f"    return {{'actions': [(say, ['result={size.n - 1}'])], 'task_dep': ['t:{size.n - 1}']}}\n")}


def doit_count(size: Size) -> dict[str, str]:
    return {"dodo.py": DOIT_HEAD + (
        "def add(prev=None):\n    return {'value': 0 if prev is None else prev + 1}\n\n"
        "def show(value):\n    print(f'result={value}')\n\n"
        "def task_t():\n"
        f"    for i in range({size.n}):\n"
        "        yield {'name': str(i), 'actions': [add], 'uptodate': [False],  # getargs alone would skip reruns\n"
        "               'getargs': {'prev': (f't:{i - 1}', 'value')} if i else {}}\n\n"
        "def task_done():\n"
        f"    return {{'actions': [show], 'uptodate': [False], 'getargs': {{'value': ('t:{size.n - 1}', 'value')}}}}\n")}


def doit_fan(size: Size) -> dict[str, str]:
    return {"dodo.py": DOIT_HEAD + (
        "def task_s():\n"
        f"    for i in range({size.n}):\n"
        f"        yield {{'name': str(i), 'actions': ['sleep {size.seconds:g}']}}\n\n"
        "def task_done():\n"
        f"    return {{'actions': [(say, ['result={size.n - 1}'])], 'task_dep': ['s']}}\n")}


# -- luigi: Task classes with LocalTarget outputs (what makes a luigi task complete), run by the luigi CLI ---------
LUIGI_HEAD = "import subprocess\n\nimport luigi\n\n\n"


def luigi_hello(size: Size) -> dict[str, str]:
    return {"pipeline.py": LUIGI_HEAD + (
        "class Hello(luigi.Task):\n"
        "    def output(self):\n        return luigi.LocalTarget('out/hello')\n\n"
        "    def run(self):\n        print('result=0')\n"
        "        with self.output().open('w') as f:\n            f.write('0')\n")}


def luigi_chain(size: Size) -> dict[str, str]:
    return {"pipeline.py": LUIGI_HEAD + (
        "class T(luigi.Task):\n    i = luigi.IntParameter()\n\n"
        "    def requires(self):\n        return T(self.i - 1) if self.i else []\n\n"
        "    def output(self):\n        return luigi.LocalTarget(f'out/t{self.i}')\n\n"
        "    def run(self):\n        subprocess.run(['true'], check=True)\n        self.output().open('w').close()\n\n\n"
        "class Done(luigi.Task):\n"
        f"    def requires(self):\n        return T({size.n - 1})\n\n"
        "    def output(self):\n        return luigi.LocalTarget('out/done')\n\n"
        f"    def run(self):\n        print('result={size.n - 1}')\n        self.output().open('w').close()\n")}


def luigi_count(size: Size) -> dict[str, str]:
    return {"pipeline.py": LUIGI_HEAD + (
        "class Add(luigi.Task):\n    i = luigi.IntParameter()\n\n"
        "    def requires(self):\n        return Add(self.i - 1) if self.i else []\n\n"
        "    def output(self):\n        return luigi.LocalTarget(f'out/add{self.i}')\n\n"
        "    def run(self):\n"
        "        value = int(self.input().open().read()) + 1 if self.i else 0\n"
        "        with self.output().open('w') as f:\n            f.write(str(value))\n\n\n"
        "class Done(luigi.Task):\n"
        f"    def requires(self):\n        return Add({size.n - 1})\n\n"
        "    def output(self):\n        return luigi.LocalTarget('out/done')\n\n"
        "    def run(self):\n        print('result=' + self.input().open().read())\n"
        "        self.output().open('w').close()\n")}


def luigi_fan(size: Size) -> dict[str, str]:
    return {"pipeline.py": LUIGI_HEAD + (
        "class S(luigi.Task):\n    i = luigi.IntParameter()\n\n"
        "    def output(self):\n        return luigi.LocalTarget(f'out/s{self.i}')\n\n"
        f"    def run(self):\n        subprocess.run(['sleep', '{size.seconds:g}'], check=True)\n"
        "        self.output().open('w').close()\n\n\n"
        "class Done(luigi.Task):\n"
        f"    def requires(self):\n        return [S(i) for i in range({size.n})]\n\n"
        "    def output(self):\n        return luigi.LocalTarget('out/done')\n\n"
        f"    def run(self):\n        print('result={size.n - 1}')\n        self.output().open('w').close()\n")}


# -- bash: the floor, no task runner at all ---------------------------------------------------------------------------
def bash_hello(size: Size) -> dict[str, str]:
    return {"pipeline.sh": "echo result=0\n"}


def bash_chain(size: Size) -> dict[str, str]:
    return {"pipeline.sh": "set -e\n" + "true\n" * size.n + f"echo result={size.n - 1}\n"}


def bash_count(size: Size) -> dict[str, str]:
    return {"pipeline.sh": f"v=0\nfor _ in $(seq {size.n - 1}); do v=$((v + 1)); done\necho result=$v\n"}


def bash_fan(size: Size) -> dict[str, str]:
    return {"pipeline.sh": f"set -e\nseq {size.n} | xargs -P {size.width} -I{{}} sleep {size.seconds:g}\n"
                           f"echo result={size.n - 1}\n"}


WRITERS = {
    "flowrun": {"hello": flowrun_hello, "chain": flowrun_chain, "count": flowrun_count, "fan": flowrun_fan},
    "doit": {"hello": doit_hello, "chain": doit_chain, "count": doit_count, "fan": doit_fan},
    "luigi": {"hello": luigi_hello, "chain": luigi_chain, "count": luigi_count, "fan": luigi_fan},
    "bash": {"hello": bash_hello, "chain": bash_chain, "count": bash_count, "fan": bash_fan},
}
