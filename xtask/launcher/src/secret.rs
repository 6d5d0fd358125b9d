//! Randomness: Hydra's system secret, from the OS.

use std::fs::File;
use std::io::Read;

use crate::Error;

/// 48 hex characters from the OS's random source, a fresh `SECRETS_SYSTEM` for each Hydra (and
/// one shared by a set of replicas).
pub fn random_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 24];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| Error::io("reading /dev/urandom for SECRETS_SYSTEM", e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_differ() -> Result<(), Error> {
        let (a, b) = (random_secret()?, random_secret()?);
        assert_eq!(a.len(), 48);
        assert_ne!(a, b);
        Ok(())
    }
}
