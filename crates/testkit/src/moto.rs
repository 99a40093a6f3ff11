//! Starting the pinned moto server as a child of a test or benchmark
//! process: on a free loopback port, under a watchdog shell that stops it
//! once that process is gone (a test binary has no hook at exit), ready and
//! configured (Lambda without Docker) before it is handed out. One process
//! can serve every account (the test suite's), or one account only (a
//! benchmark's shard: [`crate::FaultProxy::serve_account`]). A benchmark's
//! servers can be started lean ([`Moto::start_lean`]): moto's own answers,
//! without the CPU it spends on key pairs no call uses.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A moto server this process started.
pub struct Moto {
    pub url: String,
    pub log: PathBuf,
    pid_file: PathBuf,
    /// The watchdog shell: it stops moto once this process is gone, and
    /// ends once moto has.
    watchdog: Child,
}

impl Moto {
    /// The pinned `moto_server` of the repository at `root`, installed by
    /// `scripts/emulator.sh install` (into `target/emulator/venv`) on first
    /// use; the script prints its path. Its Python, beside it, also holds
    /// the pinned consumers reports are checked with.
    pub fn install(root: &Path) -> std::io::Result<PathBuf> {
        let out = Command::new(root.join("scripts/emulator.sh"))
            .arg("install")
            .current_dir(root)
            .output()
            .map_err(|e| {
                std::io::Error::other(format!(
                    "run scripts/emulator.sh install (needs bash and python3): {e}"
                ))
            })?;
        if !out.status.success() {
            return Err(std::io::Error::other(format!(
                "installing the emulator failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    }

    /// Starts `server` (the `moto_server` that `scripts/emulator.sh
    /// install` prints), its log and pid files in `dir`. With `account`,
    /// every request it answers is that account's (moto's
    /// `MOTO_ACCOUNT_ID`), whatever key signed it: the process stands for
    /// one account of a landing zone.
    pub fn start(server: &str, dir: &Path, account: Option<&str>) -> std::io::Result<Self> {
        Self::launch(server, dir, account, None)
    }

    /// As [`Moto::start`], but a symmetric or HMAC KMS key's RSA key pair,
    /// which moto makes for every key at CreateKey (about 100 ms of CPU
    /// each) although only an asymmetric key's Sign, Verify and
    /// GetPublicKey use one, is made on first use
    /// (`moto_lazy_key_pairs.py`, loaded as the server's
    /// `sitecustomize`). For benchmarks: fifty environments' two hundred
    /// keys made twenty seconds of two cores' time that AWS's side of a
    /// real run does not take from the machine paysec runs on.
    pub fn start_lean(server: &str, dir: &Path, account: Option<&str>) -> std::io::Result<Self> {
        Self::launch(
            server,
            dir,
            account,
            Some(("moto-lean", include_str!("moto_lazy_key_pairs.py"))),
        )
    }

    /// A server for IAM enforcement (`/moto-api/reset-auth`): permissions
    /// checked, signatures not (`moto_permissions_only.py` says why).
    pub fn start_enforcing(server: &str, dir: &Path) -> std::io::Result<Self> {
        Self::launch(
            server,
            dir,
            None,
            Some((
                "moto-permissions-only",
                include_str!("moto_permissions_only.py"),
            )),
        )
    }

    /// `sitecustomize`: (a folder of `dir` for it, its text).
    fn launch(
        server: &str,
        dir: &Path,
        account: Option<&str>,
        sitecustomize: Option<(&str, &str)>,
    ) -> std::io::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = dir.join(format!("moto-{port}.log"));
        let pid_file = dir.join(format!("moto-{port}.pid"));
        let mut command = Command::new("sh");
        command
            .args([
                "-c",
                r#"MOTO_IAM_LOAD_MANAGED_POLICIES=true "$0" -H 127.0.0.1 -p "$1" >"$2" 2>&1 &
m=$!
echo $m >"$4"
trap 'kill $m 2>/dev/null' EXIT
while kill -0 "$3" 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done"#,
                server,
                &port.to_string(),
                &log.to_string_lossy(),
                &std::process::id().to_string(),
                &pid_file.to_string_lossy(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(account) = account {
            command.env("MOTO_ACCOUNT_ID", account);
        }
        if let Some((folder, text)) = sitecustomize {
            let site = dir.join(folder);
            std::fs::create_dir_all(&site)?;
            std::fs::write(site.join("sitecustomize.py"), text)?;
            command.env("PYTHONPATH", site);
        }
        let watchdog = command.spawn()?;
        let started = Instant::now();
        while http(port, "GET", "/moto-api/", "").is_err() {
            if started.elapsed() > Duration::from_secs(60) {
                return Err(std::io::Error::other(format!(
                    "moto did not start within 60 s; see {}",
                    log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        // No Docker here: Lambda Invoke echoes the payload instead of running it.
        http(
            port,
            "POST",
            "/moto-api/config",
            r#"{"lambda": {"use_docker": false}}"#,
        )?;
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            log,
            pid_file,
            watchdog,
        })
    }

    /// The moto process's own id (for reading its CPU time).
    pub fn pid(&self) -> Option<String> {
        std::fs::read_to_string(&self.pid_file)
            .ok()
            .map(|p| p.trim().to_owned())
    }
}

/// Stops the process (a test run's emulator lives in a static, never
/// dropped: its watchdog stops it when the run ends).
impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").arg(&pid).status();
        }
        // Its watchdog ends once the process is gone: reaped here.
        let _ = self.watchdog.wait();
    }
}

/// One HTTP/1.1 request to a local emulator; Ok when it answers 2xx.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<()> {
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port))?;
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)?;
    if crate::wire::succeeded(answer.as_bytes()) {
        Ok(())
    } else {
        Err(std::io::Error::other(
            answer.lines().next().unwrap_or("no answer").to_owned(),
        ))
    }
}
