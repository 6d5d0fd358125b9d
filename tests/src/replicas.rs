//! Several Hydra replicas sharing one throwaway PostgreSQL, behind a round-robin TCP proxy: how
//! Hydra runs in production, small enough for one test.
//!
//! The proxy balances connections, not requests (as a Kubernetes Service or an L4 load balancer
//! does): each new connection goes to the next replica that accepts one, so a replica that was
//! killed is skipped. A client that keeps a connection open stays on one replica until that
//! connection ends; a test that needs a particular replica talks to it directly
//! ([`ReplicaSet::replica`]).
//!
//! Every replica has the same `SECRETS_SYSTEM` (a token one mints, another must verify) and names
//! the proxy as its issuer and public URL, so clients see one Hydra.

use std::fmt;

use hydra_launcher::Postgres;

use crate::harness::{blocking, hydra_bin, Error};
use crate::tcp_proxy::TcpProxy as Proxy;
use crate::TestHydra;

/// Replicas of one Hydra on one PostgreSQL database, migrated, behind a proxy for each API.
/// Dropping it stops the proxy, then the replicas, then PostgreSQL (fields drop in order).
pub struct ReplicaSet {
    public: Proxy,
    admin: Proxy,
    replicas: Vec<TestHydra>,
    postgres: Postgres,
}

impl fmt::Debug for ReplicaSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplicaSet")
            .field("public", &self.public.url())
            .field("admin", &self.admin.url())
            .field("replicas", &self.replicas)
            .field("postgres", &self.postgres)
            .finish()
    }
}

impl ReplicaSet {
    /// Starts PostgreSQL, creates and migrates a database, then `count` replicas on it with
    /// `env` as extra Hydra settings (e.g. `TTL_ACCESS_TOKEN`), and the two proxies.
    pub async fn start(count: usize, env: &[(&str, &str)]) -> Result<ReplicaSet, Error> {
        crate::install_crypto_provider();
        let (postgres, dsn) = blocking(|| {
            let postgres = Postgres::start()?;
            postgres.create_database("hydra")?;
            let dsn = postgres.dsn("hydra");
            hydra_launcher::migrate(&hydra_bin()?, &dsn)?;
            Ok((postgres, dsn))
        })
        .await?;
        let public = Proxy::bind().await?;
        let admin = Proxy::bind().await?;
        let secret = hydra_launcher::random_secret()?;
        let mut replicas = Vec::with_capacity(count);
        for _ in 0..count {
            let mut builder = TestHydra::builder()
                .env("DSN", &dsn)
                .env("SECRETS_SYSTEM", &secret)
                .env("URLS_SELF_ISSUER", format!("{}/", public.url()))
                .env("URLS_SELF_PUBLIC", format!("{}/", public.url()))
                .env(
                    "WEBFINGER_OIDC_DISCOVERY_CLIENT_REGISTRATION_URL",
                    format!("{}/oauth2/register", public.url()),
                );
            for (key, value) in env {
                builder = builder.env(*key, *value);
            }
            replicas.push(builder.start().await?);
        }
        public.set_backends(replicas.iter().map(|h| h.urls().public_port));
        admin.set_backends(replicas.iter().map(|h| h.urls().admin_port));
        Ok(ReplicaSet {
            public,
            admin,
            replicas,
            postgres,
        })
    }

    /// The admin API through the proxy.
    pub fn admin_url(&self) -> &str {
        self.admin.url()
    }

    /// The public API through the proxy; also every replica's issuer (with a trailing slash).
    pub fn public_url(&self) -> &str {
        self.public.url()
    }

    /// Replica `index`, to talk to it directly or to kill and restart it.
    pub fn replica(&self, index: usize) -> Result<&TestHydra, Error> {
        self.replicas
            .get(index)
            .ok_or_else(|| Error::Task(format!("no replica {index}")))
    }

    /// Replica `index`, mutable.
    pub fn replica_mut(&mut self, index: usize) -> Result<&mut TestHydra, Error> {
        self.replicas
            .get_mut(index)
            .ok_or_else(|| Error::Task(format!("no replica {index}")))
    }

    /// Kills every replica, then starts each again on its ports. The database stays: unlike
    /// `DSN=memory`, nothing Hydra stored is lost.
    pub async fn restart_all(&mut self) -> Result<(), Error> {
        for replica in &mut self.replicas {
            replica.kill()?;
        }
        for replica in &mut self.replicas {
            replica.restart().await?;
        }
        Ok(())
    }

    /// How many connections each replica got through the proxies, in replica order.
    pub fn connections(&self) -> Vec<usize> {
        let public = self.public.counts();
        let admin = self.admin.counts();
        public.iter().zip(admin).map(|(p, a)| p + a).collect()
    }
}
