//! Numbered copies of every configuration calm has applied, so `calm rollback` can return to
//! the previous one and `calm config versions` can say what changed when.
//!
//! Layout: `<data_dir>/config-versions/NNNN/` holding `calm.toml` (the configuration file as
//! applied), `policy.toml` (the policy file, when one is configured) and `meta.json`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// Where the files of a version came from and when it was applied.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    /// Version number, from 1.
    pub number: u32,
    /// Unix time it was applied.
    pub applied_at: u64,
    /// The configuration file it was read from.
    pub config_path: PathBuf,
    /// The policy file it named, if any.
    pub policy_path: Option<PathBuf>,
}

/// The version store of one data directory.
pub struct Versions {
    dir: PathBuf,
}

/// One stored version with its file contents.
pub struct Version {
    pub meta: Meta,
    pub config: String,
    pub policy: Option<String>,
}

impl Versions {
    pub fn new(data_dir: &Path) -> Versions {
        Versions {
            dir: data_dir.join("config-versions"),
        }
    }

    /// All versions, oldest first.
    pub fn list(&self) -> Result<Vec<Version>> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Ok(Vec::new());
        };
        let mut numbers: Vec<u32> = entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        numbers.sort_unstable();
        numbers.into_iter().map(|n| self.read(n)).collect()
    }

    fn read(&self, number: u32) -> Result<Version> {
        let dir = self.dir.join(format!("{number:04}"));
        let meta: Meta = serde_json::from_slice(&fs::read(dir.join("meta.json"))?)
            .with_context(|| format!("{}: unreadable meta.json", dir.display()))?;
        let config = fs::read_to_string(dir.join("calm.toml"))?;
        let policy = fs::read_to_string(dir.join("policy.toml")).ok();
        Ok(Version {
            meta,
            config,
            policy,
        })
    }

    /// Records the files as they are now, unless they equal the latest version; returns the
    /// version number in force.
    pub fn record(&self, config_path: &Path, policy_path: Option<&Path>) -> Result<u32> {
        let config = fs::read_to_string(config_path)
            .with_context(|| format!("reading {}", config_path.display()))?;
        let policy = match policy_path {
            Some(p) => {
                Some(fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
            }
            None => None,
        };
        let versions = self.list()?;
        if let Some(last) = versions
            .last()
            .filter(|v| v.config == config && v.policy == policy)
        {
            return Ok(last.meta.number);
        }
        let number = versions.last().map_or(1, |v| v.meta.number + 1);
        let meta = Meta {
            number,
            applied_at: unix_now(),
            config_path: config_path.to_path_buf(),
            policy_path: policy_path.map(Path::to_path_buf),
        };
        self.write(&meta, &config, policy.as_deref())?;
        Ok(number)
    }

    fn write(&self, meta: &Meta, config: &str, policy: Option<&str>) -> Result<()> {
        let tmp = self.dir.join(format!(".tmp-{:04}", meta.number));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        fs::write(tmp.join("calm.toml"), config)?;
        if let Some(policy) = policy {
            fs::write(tmp.join("policy.toml"), policy)?;
        }
        fs::write(tmp.join("meta.json"), serde_json::to_vec_pretty(meta)?)?;
        fs::rename(&tmp, self.dir.join(format!("{:04}", meta.number)))?;
        Ok(())
    }

    /// Writes the version before the latest back to its files; the caller then reloads.
    pub fn restore_previous(&self) -> Result<u32> {
        let versions = self.list()?;
        let [.., previous, _latest] = versions.as_slice() else {
            bail!(
                "there is no previous version to return to ({} recorded)",
                versions.len()
            );
        };
        write_atomic(&previous.meta.config_path, &previous.config)?;
        if let (Some(path), Some(text)) = (&previous.meta.policy_path, &previous.policy) {
            write_atomic(path, text)?;
        }
        Ok(previous.meta.number)
    }
}

/// A one-line summary of what changed from `old` to `new` (lines added and removed).
pub fn change_summary(old: Option<&Version>, new: &Version) -> String {
    let Some(old) = old else {
        return "first version".to_string();
    };
    let mut parts = vec![format!(
        "calm.toml {}",
        line_delta(&old.config, &new.config)
    )];
    match (&old.policy, &new.policy) {
        (Some(a), Some(b)) => parts.push(format!("policy {}", line_delta(a, b))),
        (None, Some(_)) => parts.push("policy file set".to_string()),
        (Some(_), None) => parts.push("policy file unset (built-in default)".to_string()),
        (None, None) => {}
    }
    parts.join(", ")
}

fn line_delta(old: &str, new: &str) -> String {
    if old == new {
        return "unchanged".to_string();
    }
    let added = new
        .lines()
        .filter(|l| !old.lines().any(|o| o == *l))
        .count();
    let removed = old
        .lines()
        .filter(|l| !new.lines().any(|n| n == *l))
        .count();
    format!("+{added} -{removed} lines")
}

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("calm-rollback.tmp");
    fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
