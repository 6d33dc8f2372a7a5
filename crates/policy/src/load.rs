//! Reading a policy file: TOML syntax, then every rule, list and map, with each mistake
//! named by file and line. Nothing here takes effect until the whole policy is valid.

mod dnslists;
mod raw;

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::access::{AccessMap, MAX_MAP_BYTES};
use crate::action::{Action, parse_action};
use crate::check::{Check, Cond, Names, parse_condition};
use crate::context::Context;
use crate::error::{Lines, PolicyError, Problem};
use crate::limiter::LimiterSettings;
use crate::lists::{Item, NetList, parse_item, parse_net_file};
use crate::policy::{Policy, Rule};
use crate::stage::Stage;
use crate::template::Template;
use crate::trace::RuleRef;
use raw::{RawPolicy, RawRule};

/// Reads a file the policy refers to (a map or a network list).
pub type ReadFile<'r> = dyn FnMut(&Path) -> io::Result<Vec<u8>> + 'r;

/// Longest rule, list or map name.
const MAX_NAME: usize = 64;
/// Largest absolute score of one tag.
const MAX_SCORE: f64 = 1000.0;

impl Policy {
    /// Reads the policy file at `path` and the maps and lists it names (relative paths are
    /// relative to the policy file's directory), against the configuration `ctx`.
    pub fn load(path: &Path, ctx: &Context) -> Result<Policy, PolicyError> {
        let bytes = read_limited(path).map_err(|source| PolicyError::Read {
            path: path.to_owned(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| PolicyError::Invalid {
            problems: vec![Problem::new(path, None, "not valid UTF-8")],
        })?;
        Policy::from_text(path, &text, ctx, &mut read_limited)
    }

    /// Parses `text` as if read from `path` (which is only named, never read); `read` reads the
    /// map and list files it names. Tests and `calm check` on unsaved text use this.
    pub fn from_text(
        path: &Path,
        text: &str,
        ctx: &Context,
        read: &mut ReadFile<'_>,
    ) -> Result<Policy, PolicyError> {
        let lines = Lines::new(text);
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::Invalid {
            problems: vec![Problem::new(
                path,
                e.span().map(|s| lines.line(s.start)),
                e.message().to_owned(),
            )],
        })?;
        let mut loader = Loader {
            path,
            base: path.parent().unwrap_or(Path::new("")).to_owned(),
            display: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            lines,
            ctx,
            problems: Vec::new(),
        };
        let policy = loader.build(raw, read);
        if loader.problems.is_empty() {
            Ok(policy)
        } else {
            loader
                .problems
                .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
            Err(PolicyError::Invalid {
                problems: loader.problems,
            })
        }
    }
}

/// `std::fs::read`, refusing files larger than a map can sensibly be.
fn read_limited(path: &Path) -> io::Result<Vec<u8>> {
    let len = std::fs::metadata(path)?.len();
    if len > MAX_MAP_BYTES as u64 {
        return Err(io::Error::other(format!(
            "larger than {} MiB",
            MAX_MAP_BYTES >> 20
        )));
    }
    std::fs::read(path)
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "bad name `{name}`: use up to {MAX_NAME} letters, digits, `-`, `_` or `.`"
        ))
    }
}

struct Loader<'l> {
    path: &'l Path,
    base: PathBuf,
    display: String,
    lines: Lines,
    ctx: &'l Context,
    problems: Vec<Problem>,
}

impl Loader<'_> {
    fn problem(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let line = self.lines.line(span.start);
        self.problems
            .push(Problem::new(self.path, Some(line), message));
    }

    fn build(&mut self, raw: RawPolicy, read: &mut ReadFile<'_>) -> Policy {
        let lists = self.lists(&raw, read);
        let mut maps = self.maps(&raw, read);
        let list_names: Vec<String> = lists.iter().map(|l| l.name.clone()).collect();
        let map_names: Vec<String> = maps.iter().map(|m| m.name.clone()).collect();
        let dns_lists = self.dns_lists(&raw);
        let names = Names {
            lists: &list_names,
            maps: &map_names,
            dns_lists: &dns_lists,
            tables: self.ctx.tables,
        };
        let mut seen = HashSet::new();
        let stages = Stage::ALL.map(|stage| {
            raw.stage(stage)
                .iter()
                .filter_map(|r| self.rule(stage, r, &names, &mut seen))
                .collect::<Vec<Rule>>()
        });
        self.parse_access_actions(&stages, &mut maps);
        let limits = self.limits(&raw, &stages);
        Policy {
            path: self.path.to_owned(),
            stages,
            lists,
            maps,
            dns_lists,
            ctx: self.ctx.clone(),
            limits,
        }
    }

    fn lists(&mut self, raw: &RawPolicy, read: &mut ReadFile<'_>) -> Vec<NetList> {
        let mut out = Vec::new();
        for (name, items) in &raw.lists {
            let line = self.lines.line(items.span().start);
            if let Err(m) = check_name(name) {
                self.problem(items.span(), m);
                continue;
            }
            let mut list = NetList {
                name: name.clone(),
                line,
                nets: Vec::new(),
                uses_config: false,
            };
            for item in items.get_ref() {
                match parse_item(item.get_ref()) {
                    Ok(Item::Net(n)) => list.nets.push(n),
                    Ok(Item::Config) => {
                        list.uses_config = true;
                        list.nets.extend(self.ctx.lan_networks.iter().copied());
                    }
                    Ok(Item::File(p)) => self.net_file(&p, item.span(), &mut list, read),
                    Err(m) => self.problem(item.span(), format!("list `{name}`: {m}")),
                }
            }
            out.push(list);
        }
        out
    }

    fn net_file(
        &mut self,
        file: &Path,
        span: std::ops::Range<usize>,
        list: &mut NetList,
        read: &mut ReadFile<'_>,
    ) {
        let path = self.base.join(file);
        match read(&path) {
            Ok(bytes) => match parse_net_file(&path, &bytes) {
                Ok(nets) => list.nets.extend(nets),
                Err(problems) => self.problems.extend(problems),
            },
            Err(e) => self.problem(
                span,
                format!("list `{}`: cannot read {}: {e}", list.name, path.display()),
            ),
        }
    }

    fn maps(&mut self, raw: &RawPolicy, read: &mut ReadFile<'_>) -> Vec<AccessMap> {
        let mut out = Vec::new();
        for (name, file) in &raw.maps {
            if let Err(m) = check_name(name) {
                self.problem(file.span(), m);
                continue;
            }
            let path = self.base.join(file.get_ref());
            let line = self.lines.line(file.span().start);
            let parsed = match read(&path) {
                Ok(bytes) => AccessMap::parse(name, &path, line, &bytes),
                Err(e) => {
                    let msg = format!("map `{name}`: cannot read {}: {e}", path.display());
                    Err(vec![Problem::new(self.path, Some(line), msg)])
                }
            };
            match parsed {
                Ok(map) => out.push(map),
                Err(problems) => {
                    self.problems.extend(problems);
                    // Keep the name known (with no entries) so that the rules using it do not
                    // add "no map named" errors on top; the policy is refused anyway.
                    out.extend(AccessMap::parse(name, &path, line, b"").ok());
                }
            }
        }
        out
    }

    fn rule(
        &mut self,
        stage: Stage,
        raw: &toml::Spanned<RawRule>,
        names: &Names<'_>,
        seen: &mut HashSet<String>,
    ) -> Option<Rule> {
        let line = self.lines.line(raw.span().start);
        let r = raw.get_ref();
        let name = r.name.get_ref();
        let before = self.problems.len();
        if let Err(m) = check_name(name) {
            self.problem(r.name.span(), m);
        } else if !seen.insert(name.clone()) {
            self.problem(r.name.span(), format!("rule name `{name}` is used twice"));
        }
        let conds = self.conditions(r, names);
        let action = self.action(r, &conds);
        if self.problems.len() > before {
            return None;
        }
        let available = conds
            .iter()
            .map(|c| c.check.needs().available_at(stage))
            .collect();
        Some(Rule {
            meta: RuleRef::new(name, &self.display, line),
            stage,
            conds,
            available,
            action: action?,
        })
    }

    fn conditions(&mut self, r: &RawRule, names: &Names<'_>) -> Vec<Cond> {
        let mut out = Vec::new();
        for (text, span) in r.condition_texts() {
            match parse_condition(&text, names) {
                Ok((check, negate)) => out.push(Cond {
                    check,
                    negate,
                    text: Arc::from(text.trim()),
                }),
                Err(m) => self.problem(span, format!("rule `{}`: {m}", r.name.get_ref())),
            }
        }
        out
    }

    fn action(&mut self, r: &RawRule, conds: &[Cond]) -> Option<Action> {
        let name = r.name.get_ref();
        let text = r.action.get_ref();
        if text.chars().any(char::is_control) {
            self.problem(
                r.action.span(),
                format!("rule `{name}`: control characters in action"),
            );
            return None;
        }
        let mut action = match parse_action(text) {
            Ok(a) => a,
            Err(m) => {
                self.problem(r.action.span(), format!("rule `{name}`: {m}"));
                return None;
            }
        };
        self.tag_fields(r, &mut action);
        if matches!(action, Action::Map) {
            let positive_access = conds
                .iter()
                .filter(|c| matches!(c.check, Check::Access(..)))
                .map(|c| !c.negate)
                .collect::<Vec<_>>();
            if positive_access != [true] {
                self.problem(
                    r.action.span(),
                    format!("rule `{name}`: `map` takes its action from exactly one access_* condition, not negated"),
                );
            }
        }
        Some(action)
    }

    /// Fills in `score`, `header` and `folder` of a `tag`, and refuses them on other actions.
    fn tag_fields(&mut self, r: &RawRule, action: &mut Action) {
        let name = r.name.get_ref();
        let Action::Tag {
            score,
            header,
            folder,
        } = action
        else {
            if let Some(s) = r
                .score
                .as_ref()
                .map(|s| s.span())
                .or(r.header.as_ref().map(|h| h.span()))
                .or(r.folder.as_ref().map(|f| f.span()))
            {
                self.problem(
                    s,
                    format!("rule `{name}`: `score`, `header` and `folder` belong to `tag` rules"),
                );
            }
            return;
        };
        if r.score.is_none() && r.header.is_none() && r.folder.is_none() {
            self.problem(
                r.action.span(),
                format!("rule `{name}`: `tag` needs a `score`, a `header` or a `folder`"),
            );
        }
        if let Some(f) = &r.folder {
            match folder_problem(f.get_ref()) {
                None => *folder = Some(f.get_ref().clone()),
                Some(m) => self.problem(f.span(), format!("rule `{name}`: {m}")),
            }
        }
        if let Some(s) = &r.score {
            if s.get_ref().is_finite() && s.get_ref().abs() <= MAX_SCORE {
                *score = *s.get_ref();
            } else {
                self.problem(
                    s.span(),
                    format!("rule `{name}`: score must be between -{MAX_SCORE} and {MAX_SCORE}"),
                );
            }
        }
        if let Some(h) = &r.header {
            match parse_header(h.get_ref()) {
                Ok(t) => *header = Some(t),
                Err(m) => self.problem(h.span(), format!("rule `{name}`: {m}")),
            }
        }
    }

    fn parse_access_actions(&mut self, stages: &[Vec<Rule>; 5], maps: &mut [AccessMap]) {
        let used: HashSet<usize> = stages
            .iter()
            .flatten()
            .flat_map(|r| &r.conds)
            .filter_map(|c| match c.check {
                Check::Access(_, id) => Some(id),
                _ => None,
            })
            .collect();
        for (id, map) in maps.iter_mut().enumerate() {
            if used.contains(&id) {
                self.problems.extend(map.parse_actions());
            }
        }
    }

    fn limits(&mut self, raw: &RawPolicy, stages: &[Vec<Rule>; 5]) -> LimiterSettings {
        let mut s = LimiterSettings::default();
        for c in stages.iter().flatten().flat_map(|r| &r.conds) {
            if let Check::Rate(rate) = &c.check {
                let events = rate.cmp.limit.ceil() as usize + 1;
                s.max_events = s.max_events.max(events);
                s.max_window = s.max_window.max(rate.window.unwrap_or(Duration::ZERO));
            }
        }
        if let Some(l) = &raw.limits {
            if let Some(p) = &l.ipv4_network_prefix {
                match u8::try_from(*p.get_ref()) {
                    Ok(v) if v <= 32 => s.ipv4_prefix = v,
                    _ => self.problem(p.span(), "ipv4_network_prefix must be 0-32"),
                }
            }
            if let Some(p) = &l.ipv6_network_prefix {
                match u8::try_from(*p.get_ref()) {
                    Ok(v) if v <= 128 => s.ipv6_prefix = v,
                    _ => self.problem(p.span(), "ipv6_network_prefix must be 0-128"),
                }
            }
        }
        s
    }
}

/// `Name: value`, with a valid field name (RFC 5322 §3.6.8) and no control characters.
/// Why `name` cannot be a mailbox to file into (a plain folder name, as IMAP shows it).
fn folder_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 100 {
        return Some("`folder` needs a mailbox name of 1 to 100 characters".into());
    }
    if name.eq_ignore_ascii_case("INBOX") {
        return Some("`folder = \"INBOX\"` is where mail goes anyway".into());
    }
    let bad = |c: char| c.is_control() || matches!(c, '/' | '\\' | '*' | '%');
    if name.chars().any(bad) || name.starts_with('.') || name.contains("..") {
        return Some(format!("`folder = {name:?}`: not a mailbox name"));
    }
    None
}

fn parse_header(text: &str) -> Result<Template, String> {
    let Some((name, value)) = text.split_once(':') else {
        return Err(format!("header `{text}` needs the form `Name: value`"));
    };
    let valid = !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b));
    if !valid {
        return Err(format!("`{name}` is not a header field name"));
    }
    if value.chars().any(char::is_control) {
        return Err("control characters in header value".into());
    }
    Template::parse(&format!("{name}: {}", value.trim()))
}

#[cfg(test)]
mod tests;
