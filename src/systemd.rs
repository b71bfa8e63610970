//! Telling systemd how the service is doing (`Type=notify`): `READY=1` once the listener is
//! bound and the database open, `WATCHDOG=1` at half the watchdog interval while the claim
//! writer is running, `STOPPING=1` on the way out. Nothing happens outside systemd.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Sends one notification to `$NOTIFY_SOCKET`, if systemd set one.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(abstract_name) = bytes.strip_prefix(b"@") {
        // An abstract socket (Linux): the name after '@'.
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)
            .and_then(|addr| socket.send_to_addr(state.as_bytes(), &addr))
    } else {
        socket.send_to(state.as_bytes(), &path)
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "could not notify systemd");
    }
}

/// Half of `$WATCHDOG_USEC`, when systemd watches this service.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}
