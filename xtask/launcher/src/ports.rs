//! Free loopback ports for Hydra and PostgreSQL.

use std::collections::HashSet;
use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Mutex;

use crate::Error;

/// Two distinct free ports; see [`free_ports`].
pub(crate) fn free_port_pair() -> Result<(u16, u16), Error> {
    let [public, admin] = free_ports()?;
    Ok((public, admin))
}

/// `N` distinct free ports, found by binding port 0 and letting go. Another process can grab one
/// before Hydra (or PostgreSQL) binds it; their starts retry on that. Ports handed out before in
/// this process are never handed out again, so parallel tests cannot collide with each other.
pub(crate) fn free_ports<const N: usize>() -> Result<[u16; N], Error> {
    static ISSUED: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut issued = ISSUED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let issued = issued.get_or_insert_with(HashSet::new);
    let mut held = Vec::new();
    let mut ports = Vec::new();
    // Bounded: each bind yields a port the kernel considers free; only already-issued ones are
    // skipped, and those are held bound so the kernel cannot return them again in this loop.
    for _ in 0..64 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| Error::io("binding 127.0.0.1:0 to find a free port", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("reading the port of a listener", e))?
            .port();
        held.push(listener);
        if issued.insert(port) {
            ports.push(port);
            if let Ok(ports) = <[u16; N]>::try_from(ports.as_slice()) {
                return Ok(ports);
            }
        }
    }
    Err(Error::io(
        format!("finding {N} free ports on 127.0.0.1"),
        io::Error::new(io::ErrorKind::AddrInUse, "no unused port after 64 tries"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_and_never_reissued() -> Result<(), Error> {
        let (a, b) = free_port_pair()?;
        let (c, d) = free_port_pair()?;
        let all: HashSet<u16> = [a, b, c, d].into_iter().collect();
        assert_eq!(all.len(), 4, "{a} {b} {c} {d}");
        Ok(())
    }
}
