//! Server processes that never outlive the test process that started them, and the small
//! utilities every test server needs (free ports, waiting for readiness).

use std::io;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the shell script `then` once this process has exited, from a detached `sh` that
/// outlives it (even a `kill -9` of this process); `None` when no shell could be started.
pub(crate) fn after_exit(then: &str) -> Option<Child> {
    let script = format!("while kill -0 {parent} 2>/dev/null; do sleep 1; done; {then}", parent = std::process::id());
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

/// A server process started by the tests. A watchdog stops it with `signal` when the test
/// process exits (even when it is killed), so no server is left behind.
#[derive(Debug)]
pub struct TiedProcess {
    child: Child,
    watchdog: Option<Child>,
}

impl TiedProcess {
    /// Spawns `command` (stdout and stderr go to `log_file` when given, else nowhere) and a
    /// watchdog that sends `signal` (`INT`, `TERM`, ...) to it once this process is gone, then
    /// `KILL` after 10 s.
    pub fn spawn(mut command: Command, signal: &str, log_file: Option<&std::path::Path>) -> io::Result<TiedProcess> {
        match log_file {
            Some(path) => {
                let log = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
                command.stdout(log.try_clone()?).stderr(log);
            }
            None => {
                command.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        command.stdin(Stdio::null());
        let child = command.spawn()?;
        let watchdog = after_exit(&format!(
            "kill -{signal} {child} 2>/dev/null; \
             for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 {child} 2>/dev/null || exit 0; sleep 1; done; \
             kill -KILL {child} 2>/dev/null",
            child = child.id(),
        ));
        Ok(TiedProcess { child, watchdog })
    }

    /// The server's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` now and waits up to `grace` for the process to end, then kills it.
    pub fn stop(&mut self, signal: &str, grace: Duration) {
        let _ = Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !self.is_running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TiedProcess {
    fn drop(&mut self) {
        if self.is_running() {
            self.stop("TERM", Duration::from_secs(10));
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

/// Polls `ready` every 100 ms until it is true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
