//! The Bayesian classifiers the server scores with and trains: one for the installation
//! (`content.bayes_file`) and, with `content.per_user_bayes`, one per user under
//! `<data_dir>/bayes/` trained only by that user's reports. Each is read from its file again
//! when the file changes (`calm spam train` runs beside the server), so neither side's
//! training overwrites the other's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use anyhow::{Context, Result};
use calm_content::{Bayes, Content, Label};

/// Where the probability came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The installation's classifier.
    Global,
    /// The recipient's own classifier.
    User,
}

pub struct Classifiers {
    global: Mutex<BayesState>,
    global_file: PathBuf,
    /// `<data_dir>/bayes` when per-user classifiers are on.
    user_dir: Option<PathBuf>,
    users: Mutex<HashMap<String, BayesState>>,
}

impl Classifiers {
    /// Reads the installation's token file (a missing file is an untrained classifier).
    pub fn load(global_file: PathBuf, user_dir: Option<PathBuf>) -> Result<Classifiers> {
        let mut global = BayesState::default();
        global.refresh(&global_file)?;
        Ok(Classifiers {
            global: Mutex::new(global),
            global_file,
            user_dir,
            users: Mutex::new(HashMap::new()),
        })
    }

    /// The spam probability: the recipient's own classifier when it has enough training,
    /// else the installation's; `None` when neither has. A token file that does not load
    /// (being replaced, damaged) leaves the last good copy in use.
    pub fn probability(&self, content: &Content, user: Option<&str>) -> Option<(f64, Source)> {
        if let (Some(user), Some(dir)) = (user, &self.user_dir) {
            let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
            let state = users.entry(user.to_ascii_lowercase()).or_default();
            let _ = state.refresh(&user_file(dir, user));
            if let Some(p) = state.bayes.as_ref().and_then(|b| b.probability(content)) {
                return Some((p, Source::User));
            }
        }
        let mut global = self.global.lock().unwrap_or_else(|e| e.into_inner());
        let _ = global.refresh(&self.global_file);
        let p = global.bayes.as_ref().and_then(|b| b.probability(content))?;
        Some((p, Source::Global))
    }

    /// Trains the installation's classifier and, when per-user classifiers are on and the
    /// report is a user's, that user's; saves each token file atomically.
    pub fn learn(&self, label: Label, message: &[u8], user: Option<&str>) -> Result<()> {
        let content = Content::parse(message);
        {
            let mut global = self.global.lock().unwrap_or_else(|e| e.into_inner());
            global.train(label, &content, &self.global_file)?;
        }
        if let (Some(user), Some(dir)) = (user, &self.user_dir) {
            let file = user_file(dir, user);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
            let state = users.entry(user.to_ascii_lowercase()).or_default();
            state.train(label, &content, &file)?;
        }
        Ok(())
    }
}

/// `<dir>/<domain>/<local>.tokens`, with the mailbox path's escaping of odd characters.
pub fn user_file(dir: &Path, user: &str) -> PathBuf {
    let base = calm_maildir::mailbox_dir(dir, &user.to_ascii_lowercase());
    PathBuf::from(format!("{}.tokens", base.display()))
}

/// A classifier as last read from its file, and that file's modification time.
#[derive(Default)]
struct BayesState {
    bayes: Option<Bayes>,
    modified: Option<SystemTime>,
}

impl BayesState {
    /// Reads the token file again when its modification time differs from the last read.
    fn refresh(&mut self, path: &Path) -> Result<()> {
        let now = modified(path);
        if now == self.modified {
            return Ok(());
        }
        self.bayes = match now {
            Some(_) => Some(Bayes::load(path)?),
            None => None,
        };
        self.modified = now;
        Ok(())
    }

    fn train(&mut self, label: Label, content: &Content, path: &Path) -> Result<()> {
        self.refresh(path)?;
        let b = self.bayes.get_or_insert_with(Bayes::new);
        b.train(label, content);
        b.save(path)
            .with_context(|| format!("saving {}", path.display()))?;
        self.modified = modified(path);
        Ok(())
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::{Classifiers, Source, user_file};
    use calm_content::{Content, Label};

    fn spam(i: usize) -> Vec<u8> {
        format!("Subject: cheap pills {i}\r\n\r\nbuy cheap pills now, viagra casino winner {i}\r\n")
            .into_bytes()
    }

    fn ham(i: usize) -> Vec<u8> {
        format!(
            "Subject: minutes {i}\r\n\r\nthe project meeting notes and the budget review {i}\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn a_users_own_training_is_used_for_that_user_only() {
        let dir = tempfile::tempdir().unwrap();
        let c = Classifiers::load(
            dir.path().join("bayes.tokens"),
            Some(dir.path().join("bayes")),
        )
        .unwrap();
        for i in 0..6 {
            c.learn(Label::Spam, &spam(i), Some("Bob@Example.test"))
                .unwrap();
            c.learn(Label::Ham, &ham(i), Some("bob@example.test"))
                .unwrap();
        }
        assert!(user_file(&dir.path().join("bayes"), "bob@example.test").exists());
        let probe = Content::parse(&spam(99));
        let (p, source) = c.probability(&probe, Some("bob@example.test")).unwrap();
        assert_eq!(source, Source::User);
        assert!(p > 0.9, "{p}");
        // Anyone else gets the installation's classifier, trained by the same reports.
        let (_, source) = c.probability(&probe, Some("carol@example.test")).unwrap();
        assert_eq!(source, Source::Global);
        assert_eq!(c.probability(&probe, None).unwrap().1, Source::Global);
    }

    #[test]
    fn without_per_user_data_only_the_installation_learns() {
        let dir = tempfile::tempdir().unwrap();
        let c = Classifiers::load(dir.path().join("bayes.tokens"), None).unwrap();
        for i in 0..6 {
            c.learn(Label::Spam, &spam(i), Some("bob@example.test"))
                .unwrap();
            c.learn(Label::Ham, &ham(i), Some("bob@example.test"))
                .unwrap();
        }
        assert!(!dir.path().join("bayes").exists());
        let probe = Content::parse(&spam(99));
        assert_eq!(
            c.probability(&probe, Some("bob@example.test")).unwrap().1,
            Source::Global
        );
    }
}
