"""The emulator's certificate covers the names clients use, and is reused while it does."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from elasticjobs_emulator.tls import ensure_certificate


def _dns_names(cert_path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return set(
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    )


def test_default_certificate_covers_localhost_only(tmp_path: Path) -> None:
    cert_path, key_path = ensure_certificate(tmp_path)
    assert _dns_names(cert_path) == {"localhost"}
    assert oct(key_path.stat().st_mode & 0o777) == "0o600"


def test_certificate_is_reused_while_it_covers_the_names(tmp_path: Path) -> None:
    cert_path, _ = ensure_certificate(tmp_path, ["emulator"])
    first = cert_path.read_bytes()
    ensure_certificate(tmp_path, ["emulator"])
    ensure_certificate(tmp_path)
    assert cert_path.read_bytes() == first


def test_certificate_is_remade_for_a_new_host_name(tmp_path: Path) -> None:
    cert_path, _ = ensure_certificate(tmp_path)
    ensure_certificate(tmp_path, ["emulator"])
    assert _dns_names(cert_path) == {"localhost", "emulator"}
