//! A throwaway certificate authority for Hydra's TLS variant: a CA generated per test and a
//! server certificate for 127.0.0.1 and localhost signed by it. Nothing is written outside
//! Hydra's temporary directory and nothing is trusted system-wide.

use std::net::Ipv4Addr;
use std::sync::Arc;

use hydra_launcher::{Probe, Urls};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, ServerName};

/// A CA and the server certificate it signed.
pub(crate) struct TestCa {
    /// The CA certificate, PEM: what a client must trust.
    pub(crate) ca_pem: String,
    ca_der: CertificateDer<'static>,
    /// The server certificate (PEM) and its private key (PKCS#8 PEM), for Hydra.
    pub(crate) server_cert_pem: String,
    pub(crate) server_key_pem: String,
}

impl TestCa {
    pub(crate) fn generate() -> Result<Self, rcgen::Error> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "hydra-tests throwaway CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        // rcgen turns "127.0.0.1" into an IP-address SAN, "localhost" into a DNS name.
        let mut server_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        server_params
            .distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate()?;
        let server_cert = server_params.signed_by(&server_key, &ca)?;

        Ok(TestCa {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
        })
    }

    /// Readiness over TLS for the std-only launcher: `GET /health/ready` on the admin port
    /// through a blocking rustls stream that trusts only this CA.
    pub(crate) fn ready_probe(&self) -> Result<Probe, rustls::Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone())?;
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let config = Arc::new(config);
        Ok(Arc::new(move |urls: &Urls| {
            https_ready(&config, urls.admin_port)
        }))
    }
}

fn https_ready(config: &Arc<rustls::ClientConfig>, port: u16) -> Result<(), String> {
    let mut tcp = hydra_launcher::connect_for_probe(port)?;
    let name = ServerName::IpAddress(Ipv4Addr::LOCALHOST.into());
    let mut conn = rustls::ClientConnection::new(Arc::clone(config), name)
        .map_err(|e| format!("starting TLS: {e}"))?;
    hydra_launcher::health_ready_over(&mut rustls::Stream::new(&mut conn, &mut tcp))
        .map_err(|e| format!("over TLS: {e}"))
}
