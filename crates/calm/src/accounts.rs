//! The user directory as the server sees it: loaded from the config's files and reloaded when
//! one of them changes, so `calm user add` takes effect without a restart.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use calm_accounts::{AccountsError, Directory, DirectorySettings};
use calm_config::Config;
use calm_eventlog::EventLog;

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
