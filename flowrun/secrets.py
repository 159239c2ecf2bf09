"""Secret lookup (`SECRET_*` base64 env vars, then a dotenv secrets file) and masking of secret values."""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flowrun.errors import ExitCode, FlowrunError

MASK = "******"
#: flowrun's own settings that carry credentials (a state or broker URL with its password, the server's
#: token, git's password, the secret key's path): a task's processes never inherit them
CREDENTIAL_VARIABLES = frozenset({"FLOWRUN_STATE", "FLOWRUN_BROKER", "FLOWRUN_SERVER_TOKEN", "FLOWRUN_GIT_PASSWORD",
                                  "FLOWRUN_SECRET_KEY_FILE"})
#: Values shorter than this are never masked: hiding every "a" or "42" would garble logs and hide
#: nothing an attacker could not guess.
MIN_MASK_LENGTH = 3
_ENV_KEY = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)", re.DOTALL)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}


class SecretError(FlowrunError):
    """A secret is missing, or its source cannot be read (a configuration problem: nothing ran)."""

    exit_code = ExitCode.INVALID


class Secrets:
    """Kestra's open-source secrets: `secret('X')` reads env `SECRET_X` (base64), else X in `secrets_file`.

    Every value returned is registered with `masker`, when one is given.
    """

    def __init__(self, env: Mapping[str, str], secrets_file: Path | None = None,
                 masker: Masker | None = None) -> None:
        self.env = env
        self.secrets_file = secrets_file
        self.masker = masker
        self._file_values: dict[str, str] | None = None

    def get(self, key: str) -> str:
        value = self._lookup(key)
        if self.masker is not None:
            self.masker.add(value)
        return value

    def _lookup(self, key: str) -> str:
        var = "SECRET_" + key.upper()
        if var in self.env:
            return decode_base64_secret(var, self.env[var])
        values = self._file()
        for candidate in (key, key.upper()):
            if candidate in values:
                return values[candidate]
        where = f" or add {key} to {self.secrets_file}" if self.secrets_file else ""
        raise SecretError(f"secret `{key}` is not defined; set {var} (base64){where}",
                          hint=f"for example: export {var}=$(printf %s 'value' | base64 -w0)")

    def _file(self) -> dict[str, str]:
        if self._file_values is None:
            self._file_values = load_dotenv(self.secrets_file) if self.secrets_file else {}
        return self._file_values


def decode_base64_secret(var: str, raw: str) -> str:
    """Decode a `SECRET_*` value: line breaks and surrounding blanks removed, padding optional."""
    text = re.sub(r"[\r\n]", "", raw).strip()
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise SecretError(f"environment variable {var} is not valid base64 of UTF-8 text: {exc}",
                          hint=f"encode it: export {var}=$(base64 -w0 < file)") from exc


def load_dotenv(path: Path) -> dict[str, str]:
    """Parse a dotenv file: `KEY=value`, `export KEY=value`, `#` comments, '…' (literal) and "…"
    (escapes, may span lines) quotes; unquoted values lose a trailing ` # comment`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SecretError(f"cannot read secrets file {path}: {exc.strerror}",
                          hint="fix the secretsFile setting or create the file") from exc
    values: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        match = _ENV_KEY.fullmatch(line)
        if match is None:
            raise SecretError(f"{path}:{index}: expected KEY=value", hint="fix or comment out this line")
        key, raw = match.groups()
        start = index
        while _is_open_quote(raw) and index < len(lines):
            raw += "\n" + lines[index]
            index += 1
        values[key] = _unquote(raw.strip(), f"{path}:{start}")
    return values


def _is_open_quote(raw: str) -> bool:
    raw = raw.strip()
    if not raw.startswith('"'):
        return False
    body = raw[1:]
    return re.search(r'(?<!\\)(?:\\\\)*"', body) is None


def _unquote(raw: str, where: str) -> str:
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = _closing_quote(raw, quote)
        if end == -1:
            raise SecretError(f"{where}: unterminated {quote}-quoted value", hint=f"close the {quote}")
        body = raw[1:end]
        return body if quote == "'" else re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], "\\" + m[1]), body)
    return re.split(r"\s+#", raw, maxsplit=1)[0].strip()


def _closing_quote(raw: str, quote: str) -> int:
    index = 1
    while index < len(raw):
        if raw[index] == "\\" and quote == '"':
            index += 2
            continue
        if raw[index] == quote:
            return index
        index += 1
    return -1


class Masker:
    """A thread-safe registry of secret values; `mask()` replaces each of them with `******`.

    Values shorter than MIN_MASK_LENGTH are ignored. A multi-line value also registers each of its lines
    and its JSON-escaped form, so that a secret printed line by line or inside JSON is masked too.
    Masking replaces the values longest first, each only where the text holds it: no regular expression to
    compile again on every new secret (an alternation of 800 values took ~9 ms to compile, once per value).
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._ordered: tuple[str, ...] = ()  # longest first: a value inside a longer one never splits it
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        forms = {value, json.dumps(value)[1:-1]}
        if "\n" in value:
            forms.update(line.strip() for line in value.splitlines())
        with self._lock:
            fresh = {f for f in forms if len(f) >= MIN_MASK_LENGTH} - self._values
            if not fresh:
                return
            self._values |= fresh
            self._ordered = tuple(sorted(self._values, key=len, reverse=True))

    def add_value(self, value: Any) -> None:
        """Register a secret JSON-like value: each string inside it (a number or a date on its own as text)."""
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, str | dict | list | tuple):
                    self.add_value(item)
        elif isinstance(value, str):
            self.add(value)
        elif value is not None and not isinstance(value, bool):
            self.add(str(value))

    def mask(self, text: str) -> str:
        if not text:
            return text
        for value in self._ordered:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def mask_document(self, document: Any) -> Any:
        """A copy of a JSON-like document shown to a user: sealed values and every registered secret masked."""
        from flowrun.crypto import mask_sealed

        return json.loads(self.mask(json.dumps(mask_sealed(document), default=str)))

    def __len__(self) -> int:
        return len(self._values)


def task_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment a task's processes start from: `environ` without the secret sources.

    `SECRET_*` variables reach a task only through `secret()` in its properties (so that they are masked),
    and flowrun's own credentials (`CREDENTIAL_VARIABLES`) never do.
    """
    return {key: value for key, value in environ.items()
            if not key.startswith("SECRET_") and key not in CREDENTIAL_VARIABLES}

