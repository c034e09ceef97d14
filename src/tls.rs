//! TLS client configurations (rustls with the ring provider): trusted roots from a CA file
//! or the system, an optional client certificate, a server name to verify other than the
//! address connected to, ALPN, and an `insecure` mode that skips verification (and says so).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tracing::warn;

use crate::error::{Error, Result};
use crate::options::TlsOptions;

fn bad(name: &str, expected: &'static str, got: String) -> Error {
    Error::InvalidOption {
        option: format!("tls.{name}"),
        expected,
        got,
    }
}

fn certificates(name: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| {
            bad(
                name,
                "a readable PEM file of certificates",
                format!("{path:?} ({e})"),
            )
        })?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            bad(
                name,
                "a readable PEM file of certificates",
                format!("{path:?} ({e})"),
            )
        })?;
    if certs.is_empty() {
        return Err(bad(
            name,
            "a PEM file with at least one certificate",
            format!("{path:?}"),
        ));
    }
    Ok(certs)
}

/// A rustls configuration for `o`.
///
/// # Errors
/// `BadOption` naming the `tls.*` option whose file or value is unusable.
pub fn client_config(o: &TlsOptions) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS: {e}")))?;
    let mut roots = RootCertStore::empty();
    match &o.ca_file {
        Some(path) => {
            for cert in certificates("ca_file", path)? {
                roots
                    .add(cert)
                    .map_err(|e| bad("ca_file", "CA certificates", format!("{path:?} ({e})")))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    let verifier: Arc<dyn ServerCertVerifier> = if o.insecure {
        warn!("TLS certificate verification is off (tls.insecure = true)");
        Arc::new(Insecure(provider))
    } else {
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| bad("ca_file", "usable CA certificates", e.to_string()))?;
        match &o.server_name {
            None => webpki,
            Some(name) => Arc::new(Renamed {
                inner: webpki,
                name: ServerName::try_from(name.clone()).map_err(|e| {
                    bad(
                        "server_name",
                        "a DNS name or IP address",
                        format!("{name:?} ({e})"),
                    )
                })?,
            }),
        }
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&o.cert_file, &o.key_file) {
        (Some(cert), Some(key)) => {
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                bad(
                    "key_file",
                    "a readable PEM private key",
                    format!("{key:?} ({e})"),
                )
            })?;
            builder
                .with_client_auth_cert(certificates("cert_file", cert)?, key)
                .map_err(|e| {
                    bad(
                        "cert_file",
                        "a certificate matching tls.key_file",
                        e.to_string(),
                    )
                })?
        }
        (None, None) => builder.with_no_client_auth(),
        (Some(_), None) => {
            return Err(bad(
                "key_file",
                "a key file with tls.cert_file",
                "nil".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(bad(
                "cert_file",
                "a certificate file with tls.key_file",
                "nil".into(),
            ))
        }
    };
    config.alpn_protocols = o.alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(Arc::new(config))
}

/// What a TLS failure means, in words, from rustls's description of it.
pub fn explain(error: &str) -> String {
    // rustls words these as enum names or as sentences, depending on the version.
    let squeezed: String = error.to_lowercase().split_whitespace().collect();
    let why = if squeezed.contains("unknownissuer") {
        "the broker's certificate is not signed by a trusted CA (unknown issuer)"
    } else if squeezed.contains("expired") {
        "the broker's certificate has expired"
    } else if squeezed.contains("notvalidforname") {
        "the broker's certificate is not valid for this host name (hostname mismatch)"
    } else if squeezed.contains("certificaterequired") {
        "the broker requires a client certificate (set tls.cert_file and tls.key_file)"
    } else if squeezed.contains("unknownca") || squeezed.contains("badcertificate") {
        "the broker did not accept the client certificate (not signed by a CA it trusts)"
    } else if squeezed.contains("causedasendentity") {
        "the broker's certificate is a CA certificate (self-signed with CA:TRUE); rustls \
         takes only certificates a CA signed: sign the broker's with that CA and give it as \
         tls.ca_file"
    } else {
        return format!("TLS handshake failed: {error}");
    };
    format!("TLS handshake failed: {why}")
}

/// Whether an error's text is a TLS failure's, as rumqttc wraps some of them (an alert after
/// the handshake, a WebSocket's handshake).
pub fn is_tls_failure(error: &str) -> bool {
    let lower = error.to_lowercase();
    ["certificate", "alert", "tls", "handshake"]
        .iter()
        .any(|w| lower.contains(w))
}

/// Accepts any certificate: `tls.insecure = true`.
#[derive(Debug)]
struct Insecure(Arc<CryptoProvider>);

impl ServerCertVerifier for Insecure {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Verifies the broker's certificate against `tls.server_name` rather than the address.
#[derive(Debug)]
struct Renamed {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for Renamed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_failures_are_explained() {
        assert!(explain("invalid peer certificate: UnknownIssuer").contains("unknown issuer"));
        assert!(explain("invalid peer certificate: Expired").contains("expired"));
        assert!(explain("certificate expired: verification time 1").contains("has expired"));
        assert!(explain("certificate not valid for name \"x\"").contains("hostname mismatch"));
        assert!(explain("NotValidForName").contains("hostname mismatch"));
        assert!(explain("something else").contains("something else"));
        let alert = "Mqtt state: Mqtt serialization/deserialization error: IO: received fatal alert: UnknownCA";
        assert!(is_tls_failure(alert));
        assert!(explain(alert).contains("did not accept the client certificate"));
        let ws = "Websocket: IO error: invalid peer certificate: UnknownIssuer";
        assert!(is_tls_failure(ws) && explain(ws).contains("unknown issuer"));
        assert!(
            explain("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))")
                .contains("is a CA certificate")
        );
        assert!(!is_tls_failure("I/O: Connection refused (os error 111)"));
    }

    #[test]
    fn the_default_configuration_trusts_the_system_roots_and_builds() {
        assert!(client_config(&TlsOptions::default()).is_ok());
    }

    #[test]
    fn missing_files_name_their_option() {
        let o = TlsOptions {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..TlsOptions::default()
        };
        let err = client_config(&o)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tls.ca_file"), "{err}");
        let o = TlsOptions {
            cert_file: Some("/nonexistent/c.pem".into()),
            ..TlsOptions::default()
        };
        let err = client_config(&o)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tls.key_file"), "{err}");
    }
}
