"""How ProctorFlow's clients and workers reach Temporal: mTLS with a client certificate (and a
self-hosted frontend's own CA and name), TLS for an API key, plaintext only when neither is set."""

from __future__ import annotations

from temporalio.service import TLSConfig

from proctorflow.settings import Settings
from proctorflow.temporal import _tls


def test_plaintext_without_certificates_or_an_api_key():
    assert _tls(Settings(temporal_api_key=None)) is False


def test_an_api_key_alone_turns_tls_on_with_the_systems_roots():
    assert _tls(Settings(temporal_api_key="key")) is True


def test_mtls_to_a_self_hosted_frontend_with_its_own_ca_and_name(tmp_path):
    for name in ("client.pem", "client.key", "ca.pem"):
        (tmp_path / name).write_bytes(f"-- {name} --".encode())
    tls = _tls(
        Settings(
            temporal_tls_cert=str(tmp_path / "client.pem"),
            temporal_tls_key=str(tmp_path / "client.key"),
            temporal_tls_ca=str(tmp_path / "ca.pem"),
            temporal_tls_server_name="temporal.internal",
        )
    )
    assert tls == TLSConfig(
        server_root_ca_cert=b"-- ca.pem --",
        domain="temporal.internal",
        client_cert=b"-- client.pem --",
        client_private_key=b"-- client.key --",
    )


def test_mtls_against_the_systems_roots_when_no_ca_is_given(tmp_path):
    (tmp_path / "c.pem").write_bytes(b"cert")
    (tmp_path / "c.key").write_bytes(b"key")
    tls = _tls(Settings(temporal_tls_cert=str(tmp_path / "c.pem"), temporal_tls_key=str(tmp_path / "c.key")))
    assert tls == TLSConfig(client_cert=b"cert", client_private_key=b"key")


def test_server_only_tls_with_a_private_ca(tmp_path):
    (tmp_path / "ca.pem").write_bytes(b"ca")
    assert _tls(Settings(temporal_tls_ca=str(tmp_path / "ca.pem"))) == TLSConfig(server_root_ca_cert=b"ca")
