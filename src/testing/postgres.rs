//! A throwaway PostgreSQL server for tests and benchmarks (features `testing` and
//! `postgres`): `initdb` and `pg_ctl` from the system installation, a fresh temporary
//! directory, a free port on 127.0.0.1, the Unix socket inside that directory. Under root
//! the server runs as the unprivileged user `nobody` (PostgreSQL refuses to run as root).
//! [`TestPostgres::stop`], [`TestPostgres::start`] and [`TestPostgres::restart`] serve fault
//! tests; dropping it stops the server (`-m immediate`) and removes the directory.
//!
//! When PostgreSQL is not installed, [`TestPostgres::launch`] fails with
//! [`TestPostgresError::NotInstalled`], whose message says to install it: the tests fail
//! rather than skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why the test server could not be started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestPostgresError {
    /// No `initdb`/`pg_ctl` on PATH nor under /usr/lib/postgresql/*/bin.
    #[error(
        "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin): \
         install it, e.g. `apt-get install postgresql`"
    )]
    NotInstalled,
    /// A PostgreSQL command failed.
    #[error("{command} failed ({status}): {output}")]
    Command {
        /// The command.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed (and the server log, for `pg_ctl start`).
        output: String,
    },
    /// A file-system or process error.
    #[error("test PostgreSQL: {0}")]
    Io(#[from] std::io::Error),
}

/// A running throwaway PostgreSQL server; see the module documentation.
#[derive(Debug)]
pub struct TestPostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    run_as: Option<String>,
    running: bool,
    database: &'static str,
}

const USER: &str = "oidfed";
const DATABASE: &str = "oidfed_test";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The directory holding `initdb` and `pg_ctl`.
pub fn find_postgres_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                // A symlink on PATH leads to the installation's own bin directory, where
                // the other tools are.
                let real = std::fs::canonicalize(dir.join("initdb")).ok();
                return Some(
                    real.and_then(|r| r.parent().map(Path::to_path_buf))
                        .unwrap_or(dir),
                );
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn uid_gid_of(user: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let o = Command::new("id").args([flag, user]).output().ok()?;
        String::from_utf8_lossy(&o.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl TestPostgres {
    /// Creates a cluster in a fresh temporary directory, starts it on a free port of
    /// 127.0.0.1 and creates the test database.
    pub fn launch() -> Result<TestPostgres, TestPostgresError> {
        let bin = find_postgres_bin().ok_or(TestPostgresError::NotInstalled)?;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("oidfed-pg-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let run_as = if is_root() {
            let user = "nobody".to_string();
            let (uid, gid) = uid_gid_of(&user).ok_or_else(|| {
                std::io::Error::other("running as root, but there is no user `nobody`")
            })?;
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))?;
            Some(user)
        } else {
            None
        };
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        let mut pg = TestPostgres {
            bin,
            dir,
            port: 0,
            run_as,
            running: false,
            database: DATABASE,
        };
        let data = pg.data_dir();
        pg.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                USER,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        let mut last = None;
        for _ in 0..5 {
            pg.port = free_port()?;
            match pg.start() {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            return Err(e);
        }
        let port = pg.port.to_string();
        if pg.bin.join("createdb").is_file() {
            pg.run(
                "createdb",
                &["-h", "127.0.0.1", "-p", &port, "-U", USER, DATABASE],
            )?;
        } else {
            // Without the client tools, the cluster's own `postgres` database serves.
            pg.database = "postgres";
        }
        Ok(pg)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The database URL (`postgres://oidfed@127.0.0.1:PORT/oidfed_test`).
    pub fn url(&self) -> String {
        format!(
            "postgres://{USER}@127.0.0.1:{}/{}",
            self.port, self.database
        )
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the (stopped) server again on the same port.
    pub fn start(&mut self) -> Result<(), TestPostgresError> {
        if self.running {
            return Ok(());
        }
        let data = self.data_dir();
        let log = self.dir.join("server.log");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            path_str(&self.dir)
        );
        let r = self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-w",
                "-t",
                "60",
                "-o",
                &opts,
                "start",
            ],
        );
        if let Err(TestPostgresError::Command {
            command,
            status,
            output,
        }) = r
        {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(TestPostgresError::Command {
                command,
                status,
                output: format!("{output}\nserver log:\n{log}"),
            });
        }
        r?;
        self.running = true;
        Ok(())
    }

    /// Stops the server (`-m fast`: connections are cut, like a database going down).
    pub fn stop(&mut self) -> Result<(), TestPostgresError> {
        self.stop_mode("fast")
    }

    /// Stops and starts the server.
    pub fn restart(&mut self) -> Result<(), TestPostgresError> {
        self.stop()?;
        self.start()
    }

    fn stop_mode(&mut self, mode: &str) -> Result<(), TestPostgresError> {
        if !self.running {
            return Ok(());
        }
        let data = self.data_dir();
        self.run("pg_ctl", &["-D", path_str(&data), "-m", mode, "-w", "stop"])?;
        self.running = false;
        Ok(())
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<Output, TestPostgresError> {
        let exe = self.bin.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args).current_dir(&self.dir);
        let out = cmd.output()?;
        if !out.status.success() {
            return Err(TestPostgresError::Command {
                command: format!("{} {}", exe.display(), args.join(" ")),
                status: out.status.to_string(),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            });
        }
        Ok(out)
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let _ = self.stop_mode("immediate");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
