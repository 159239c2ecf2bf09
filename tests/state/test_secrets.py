"""Secrets (base64 env vars, dotenv file), masking, and at-rest encryption with the project key."""

from __future__ import annotations

import base64
import multiprocessing
import stat
import threading
from pathlib import Path

import pytest

from flowrun.crypto import Cipher, CryptoError, is_encrypted, mask_sealed
from flowrun.secrets import Masker, SecretError, Secrets, load_dotenv


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_secret_from_base64_env() -> None:
    secrets = Secrets({"SECRET_GCP_CREDS": b64('{"type": "service_account"}')})
    assert secrets.get("GCP_CREDS") == '{"type": "service_account"}'
    assert secrets.get("gcp_creds") == '{"type": "service_account"}'


def test_base64_with_line_breaks_and_no_padding() -> None:
    encoded = b64("a fairly long secret value!")
    wrapped = "\n".join(encoded[i:i + 8] for i in range(0, len(encoded), 8)) + "\r\n"
    assert Secrets({"SECRET_X": wrapped}).get("X") == "a fairly long secret value!"
    assert Secrets({"SECRET_X": b64("ab").rstrip("=")}).get("X") == "ab"


def test_undecodable_env_names_variable() -> None:
    with pytest.raises(SecretError, match="SECRET_BAD"):
        Secrets({"SECRET_BAD": "not base64 !!"}).get("BAD")


def test_missing_secret_message(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("")
    with pytest.raises(SecretError) as info:
        Secrets({}, env_file).get("db_password")
    assert str(info.value) == (f"secret `db_password` is not defined; set SECRET_DB_PASSWORD (base64) "
                               f"or add db_password to {env_file}")


DOTENV = """\
# a comment
PLAIN=value
export EXPORTED=exp
SPACED = spaced value   # trailing comment
SINGLE='lit\\n $x # not a comment'
DOUBLE="line1\\nline2 \\"quoted\\""
MULTI="{
  \\"key\\": 1
}"
EMPTY=
lower_key=low
HASH=a#b
"""


def test_dotenv_parsing(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text(DOTENV)
    assert load_dotenv(path) == {
        "PLAIN": "value",
        "EXPORTED": "exp",
        "SPACED": "spaced value",
        "SINGLE": "lit\\n $x # not a comment",
        "DOUBLE": 'line1\nline2 "quoted"',
        "MULTI": '{\n  "key": 1\n}',
        "EMPTY": "",
        "lower_key": "low",
        "HASH": "a#b",
    }


def test_env_wins_and_file_lookup_case(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_text("TOKEN=from-file\nlower_key=low\nUPPER=up\n")
    secrets = Secrets({"SECRET_TOKEN": b64("from-env")}, path)
    assert secrets.get("TOKEN") == "from-env"
    assert secrets.get("lower_key") == "low"
    assert secrets.get("upper") == "up"


def test_dotenv_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.env"
    path.write_text("OK=1\nthis is not an assignment\n")
    with pytest.raises(SecretError, match="bad.env:2"):
        load_dotenv(path)
    with pytest.raises(SecretError, match="cannot read secrets file"):
        Secrets({}, tmp_path / "missing.env").get("X")


def test_secrets_register_with_masker() -> None:
    masker = Masker()
    Secrets({"SECRET_PW": b64("hunter22")}, masker=masker).get("PW")
    assert masker.mask("password is hunter22.") == "password is ******."


def test_masker_longest_first_and_short_values() -> None:
    masker = Masker(["secret", "secret-extended", "ab"])
    assert masker.mask("secret-extended and secret and ab") == "****** and ****** and ab"


def test_masker_multiline_and_json_forms() -> None:
    masker = Masker(['{\n  "private_key": "KEYDATA"\n}'])
    assert "KEYDATA" not in masker.mask('"private_key": "KEYDATA"')
    assert "KEYDATA" not in masker.mask('{"creds": "{\\n  \\"private_key\\": \\"KEYDATA\\"\\n}"}')


@pytest.mark.slow
def test_masker_is_thread_safe() -> None:
    masker = Masker()

    def add(start: int) -> None:
        for i in range(start, start + 200):
            masker.add(f"value-{i:05d}")
            masker.mask("value-00001 text")

    threads = [threading.Thread(target=add, args=(n * 200,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(masker) == 800
    assert masker.mask("x value-00799 y") == "x ****** y"


def test_cipher_round_trip_and_key_mode(tmp_path: Path) -> None:
    cipher = Cipher(tmp_path / "state")
    token = cipher.encrypt("s3cret ✓")
    assert token.startswith("flowrun:enc:v1:") and is_encrypted(token)
    assert "s3cret" not in token
    assert Cipher(tmp_path / "state").decrypt(token) == "s3cret ✓"
    assert stat.S_IMODE(cipher.key_path.stat().st_mode) == 0o600
    assert not is_encrypted("plain")


def test_seal_unseal_and_mask(tmp_path: Path) -> None:
    cipher = Cipher(tmp_path)
    doc = {"user": "bob", "password": cipher.seal("pw"), "list": [cipher.seal({"n": 1}), 2]}
    assert cipher.unseal(doc) == {"user": "bob", "password": "pw", "list": [{"n": 1}, 2]}
    assert mask_sealed(doc) == {"user": "bob", "password": "******", "list": ["******", 2]}


def test_a_document_shown_has_sealed_values_and_known_secrets_masked(tmp_path: Path) -> None:
    doc = {"said": 'token "hunter2pass" used', "password": Cipher(tmp_path).seal("pw"), "n": [1, "hunter2pass"]}
    shown = Masker(["hunter2pass"]).mask_document(doc)
    assert shown == {"said": 'token "******" used', "password": "******", "n": [1, "******"]}


def test_decrypt_with_another_key_fails(tmp_path: Path) -> None:
    token = Cipher(tmp_path / "a").encrypt("x")
    with pytest.raises(CryptoError, match="cannot decrypt"):
        Cipher(tmp_path / "b").decrypt(token)
    with pytest.raises(CryptoError, match="not a flowrun-encrypted token"):
        Cipher(tmp_path / "a").decrypt("plain")


def _encrypt_in_child(state_dir: str, barrier: object, queue: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    cipher = Cipher(Path(state_dir))
    queue.put((cipher.encrypt("hello"), cipher.key_path.read_bytes()))  # type: ignore[attr-defined]


def test_concurrent_processes_share_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    count = 4
    barrier, queue = context.Barrier(count), context.Queue()
    procs = [context.Process(target=_encrypt_in_child, args=(str(tmp_path), barrier, queue))
             for _ in range(count)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert len({key for _, key in results}) == 1
    cipher = Cipher(tmp_path)
    assert all(cipher.decrypt(token) == "hello" for token, _ in results)
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]
