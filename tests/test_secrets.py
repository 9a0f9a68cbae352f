"""Remote-access credentials: encrypted at rest, keys loaded or created safely, never printed."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core.errors import CasetrackError, CredentialsUnreadable, SecretKeyError
from core.settings import Settings
from core.store.secrets import (
    KEY_FILE,
    CredentialVault,
    RemoteCredentials,
    load_key,
    redact,
)

SECRET = "Xq7-pa55w0rd!"
CREDS = {
    "login": "his-admin",
    "password": SECRET,
    "dial_up_number": "0631-8452299",
    "device_ip": "10.20.30.40",
    "operator": "wdkn-ops",
    "operator_password": "0perat0r-Secret",
}

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def new_key() -> str:
    return Fernet.generate_key().decode()


# --- the vault ---------------------------------------------------------------------------------


def test_round_trip() -> None:
    vault = CredentialVault(new_key())
    token = vault.encrypt(CREDS)
    assert isinstance(token, bytes)
    assert vault.decrypt(token) == CREDS


def test_key_as_bytes() -> None:
    key = Fernet.generate_key()
    assert CredentialVault(key).decrypt(CredentialVault(key.decode()).encrypt(CREDS)) == CREDS


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    token = CredentialVault(new_key()).encrypt(CREDS)
    for name, value in CREDS.items():
        assert value.encode() not in token
        assert name.encode() not in token
    # a fresh IV each time: the same credentials never give the same token
    vault = CredentialVault(new_key())
    assert vault.encrypt(CREDS) != vault.encrypt(CREDS)


def test_wrong_key_is_credentials_unreadable() -> None:
    token = CredentialVault(new_key()).encrypt(CREDS)
    with pytest.raises(CredentialsUnreadable) as info:
        CredentialVault(new_key()).decrypt(token)
    assert isinstance(info.value, CasetrackError)
    assert SECRET not in str(info.value)


def test_damaged_token_is_credentials_unreadable() -> None:
    vault = CredentialVault(new_key())
    token = bytearray(vault.encrypt(CREDS))
    token[-5] ^= 1
    with pytest.raises(CredentialsUnreadable):
        vault.decrypt(bytes(token))
    with pytest.raises(CredentialsUnreadable):
        vault.decrypt(b"not a token")


@pytest.mark.parametrize("key", ["", "  ", ",", "not-a-key", "c2hvcnQ=", b"\xff\xfe"])
def test_garbage_key_is_secret_key_error(key: str | bytes) -> None:
    with pytest.raises(SecretKeyError) as info:
        CredentialVault(key)
    if isinstance(key, str) and key.strip(", "):
        assert key not in info.value.detail  # the key is never echoed


def test_one_bad_key_in_a_list_is_named_by_position() -> None:
    with pytest.raises(SecretKeyError, match="secret key 2 of 2"):
        CredentialVault(f"{new_key()},oops")


def test_only_string_values_are_encrypted() -> None:
    with pytest.raises(TypeError):
        CredentialVault(new_key()).encrypt({"port": 22})  # type: ignore[dict-item]


def test_vault_repr_hides_the_keys() -> None:
    key = new_key()
    assert key not in repr(CredentialVault(key))
    assert repr(CredentialVault(f"{key}, {new_key()}")) == "CredentialVault(keys=2)"


# --- rotation ----------------------------------------------------------------------------------


def test_rotation_with_two_keys() -> None:
    old, new = new_key(), new_key()
    old_token = CredentialVault(old).encrypt(CREDS)
    rotating = CredentialVault(f"{new}, {old}")  # first encrypts, all decrypt
    assert rotating.decrypt(old_token) == CREDS
    new_token = rotating.encrypt(CREDS)
    assert CredentialVault(new).decrypt(new_token) == CREDS
    with pytest.raises(CredentialsUnreadable):
        CredentialVault(old).decrypt(new_token)
    # re-encrypt stored tokens, then the old key can go
    rotated = rotating.rotate(old_token)
    assert CredentialVault(new).decrypt(rotated) == CREDS
    with pytest.raises(CredentialsUnreadable):
        CredentialVault(new).rotate(CredentialVault(new_key()).encrypt(CREDS))


# --- the key -----------------------------------------------------------------------------------


def test_settings_key_wins(tmp_path: Path) -> None:
    key = new_key()
    settings = Settings(secret_key=f" {key} ", var_dir=str(tmp_path))
    assert load_key(settings) == key
    assert not (tmp_path / KEY_FILE).exists()


def test_settings_key_from_environment(tmp_path: Path) -> None:
    key = new_key()
    env = {"CASETRACK_SECRET_KEY": key, "CASETRACK_VAR_DIR": str(tmp_path)}
    assert load_key(Settings.from_env(env)) == key


@posix_only
def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(var_dir=str(tmp_path / "var"))
    old_umask = os.umask(0)  # even a permissive umask must not widen the mode
    try:
        key = load_key(settings)
    finally:
        os.umask(old_umask)
    path = tmp_path / "var" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == key
    CredentialVault(key)  # a valid Fernet key
    assert load_key(settings) == key  # reused, not replaced
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE]  # no temp file left


def test_tokens_survive_a_restart(tmp_path: Path) -> None:
    settings = Settings(var_dir=str(tmp_path))
    token = CredentialVault(load_key(settings)).encrypt(CREDS)
    assert CredentialVault(load_key(Settings(var_dir=str(tmp_path)))).decrypt(token) == CREDS


@posix_only
def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    settings = Settings(var_dir=str(tmp_path))
    load_key(settings)
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(SecretKeyError, match="chmod 600"):
        load_key(settings)


def test_empty_key_file_is_secret_key_error(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE
    path.write_text("")
    path.chmod(0o600)
    with pytest.raises(SecretKeyError, match="empty"):
        load_key(Settings(var_dir=str(tmp_path)))


# --- never printed -----------------------------------------------------------------------------


def test_repr_and_str_hide_values(caplog: pytest.LogCaptureFixture) -> None:
    creds = RemoteCredentials.from_mapping(CREDS)
    texts = [repr(creds), str(creds), f"{creds}", f"{creds!r}", repr([creds]), repr({"c": creds})]
    with caplog.at_level(logging.INFO):
        logging.getLogger("casetrack.test").info("remote access with %s / %r", creds, creds)
    texts.append(caplog.text)
    for text in texts:
        for value in CREDS.values():
            assert value not in text, text
    assert repr(creds).startswith("RemoteCredentials(login=******, password=******")
    assert "notes" not in repr(creds)  # unset fields are left out


def test_rich_repr_hides_values() -> None:
    creds = RemoteCredentials(password=SECRET, device_ip="10.0.0.1")
    assert list(creds.__rich_repr__()) == [("password", "******"), ("device_ip", "******")]


def test_credentials_struct_round_trip_through_the_vault() -> None:
    creds = RemoteCredentials(login="admin", password=SECRET, notes="VPN first")
    vault = CredentialVault(new_key())
    back = RemoteCredentials.from_mapping(vault.decrypt(vault.encrypt(creds.to_mapping())))
    assert back == creds
    assert back.password == SECRET  # the values are there, just never printed


def test_unknown_credential_field_is_refused() -> None:
    with pytest.raises(CredentialsUnreadable, match="pasword") as info:
        RemoteCredentials.from_mapping({"pasword": SECRET})
    assert SECRET not in str(info.value)


def test_redact() -> None:
    assert redact(CREDS) == dict.fromkeys(CREDS, "******")
    creds = RemoteCredentials(login="admin", device_ip="10.0.0.1")
    assert redact(creds) == {"login": "******", "device_ip": "******"}
