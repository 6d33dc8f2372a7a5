//! The user directory as the server sees it: loaded from the config's files and reloaded when
//! one of them changes, so `calm user add` takes effect without a restart.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use calm_accounts::{AccountsError, Directory, DirectorySettings};
use calm_config::Config;
use calm_eventlog::EventLog;

/// Password checks that may run at once (one per core on the machines calm is sized for).
pub const PASSWORD_CHECKS: usize = 2;

type PasswordJob = Box<dyn FnOnce() + Send>;

/// The queue of the password-checking threads, started on first use.
fn password_pool() -> &'static Mutex<std::sync::mpsc::Sender<PasswordJob>> {
    static POOL: std::sync::OnceLock<Mutex<std::sync::mpsc::Sender<PasswordJob>>> =
        std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<PasswordJob>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..PASSWORD_CHECKS {
            let rx = rx.clone();
            let worker = move || {
                loop {
                    let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            };
            let name = format!("calm-password-{i}");
            if let Err(e) = std::thread::Builder::new().name(name).spawn(worker) {
                tracing::error!(error = %e, "cannot start a password-checking thread");
            }
        }
        Mutex::new(tx)
    })
}

/// How often the files' modification times are looked at, at most.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Files and settings a [`Directory`] is built from.
#[derive(Clone)]
pub struct Sources {
    users: PathBuf,
    aliases: Option<PathBuf>,
    virtual_map: Option<PathBuf>,
    settings: DirectorySettings,
}

impl Sources {
    /// The directory sources named by `config`.
    pub fn from_config(config: &Config) -> Sources {
        let settings = DirectorySettings {
            local_domains: config.server.local_domains.clone(),
            subaddress_separator: config.accounts.subaddress_separator,
            catch_all: config.accounts.catch_all.clone(),
        };
        Sources {
            users: config.users_file(),
            aliases: config.accounts.aliases_file.clone(),
            virtual_map: config.accounts.virtual_file.clone(),
            settings,
        }
    }

    /// Loads the directory once.
    pub fn load(&self) -> Result<Directory, AccountsError> {
        Directory::load(
            &self.users,
            self.aliases.as_deref(),
            self.virtual_map.as_deref(),
            self.settings.clone(),
        )
    }

    fn stamp(&self) -> Vec<Option<SystemTime>> {
        let files = std::iter::once(&self.users)
            .chain(&self.aliases)
            .chain(&self.virtual_map);
        files
            .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .collect()
    }
}

struct State {
    sources: Sources,
    directory: Arc<Directory>,
    stamp: Vec<Option<SystemTime>>,
    checked: Instant,
}

/// A directory that follows its files.
pub struct LiveDirectory {
    state: Mutex<State>,
    events: EventLog,
}

impl LiveDirectory {
    /// Loads the directory; an error here stops start-up.
    pub fn new(sources: Sources, events: EventLog) -> Result<LiveDirectory, AccountsError> {
        let stamp = sources.stamp();
        let directory = Arc::new(sources.load()?);
        let checked = Instant::now();
        let state = Mutex::new(State {
            sources,
            directory,
            stamp,
            checked,
        });
        Ok(LiveDirectory { state, events })
    }

    /// Switches to other files (a configuration reload), with their directory already loaded.
    pub fn replace(&self, sources: Sources, directory: Directory) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.stamp = sources.stamp();
        state.sources = sources;
        state.directory = Arc::new(directory);
    }

    /// Checks a password on one of [`PASSWORD_CHECKS`] dedicated threads.
    ///
    /// argon2id is slow and memory-hard on purpose (19 MiB per check with the defaults), so a
    /// burst of logins must not run unbounded checks at once: a fixed pool bounds the CPU and
    /// memory they take, and a client waiting for a slow login simply waits in the queue.
    /// (The memory growth under many IMAP logins that bench/imap_bench.py measured came from
    /// how that memory was allocated: see `calm_accounts` `password.rs`, `ARGON2_MIN_CAPACITY`.)
    pub async fn verify_password(&self, user: &str, password: &str) -> Option<String> {
        let directory = self.current();
        let (user, password) = (user.to_string(), password.to_string());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: PasswordJob = Box::new(move || {
            let _ = tx.send(directory.authenticate(&user, &password));
        });
        password_pool()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(job)
            .ok()?;
        rx.await.ok().flatten()
    }

    /// The current directory, reloaded first if a file changed. A file that fails to load is
    /// logged and the previous directory stays in force.
    pub fn current(&self) -> Arc<Directory> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.checked.elapsed() >= CHECK_EVERY {
            state.checked = Instant::now();
            let stamp = state.sources.stamp();
            if stamp != state.stamp {
                state.stamp = stamp;
                match state.sources.load() {
                    Ok(d) => {
                        state.directory = Arc::new(d);
                        self.events.log(&serde_json::json!({"event": "accounts_reloaded"}));
                    }
                    Err(e) => self.events.log(&serde_json::json!({
                        "event": "accounts_reload_failed", "error": e.to_string(), "action": "kept previous"
                    })),
                }
            }
        }
        state.directory.clone()
    }
}
