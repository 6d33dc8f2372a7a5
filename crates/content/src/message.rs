//! [`Content`]: the parts of a message that rules and the classifier look at, decoded once.
//!
//! Parsing is `mail-parser`'s (lenient RFC 5322 / MIME, charset decoding). What is kept here is
//! owned text, so a [`Content`] can outlive the raw bytes and be scored several times.

use mail_parser::{HeaderValue, MessageParser, MimeHeaders};

/// Most decoded body text kept per message; the rest is not scored. A 10 MiB text part would
/// otherwise make every body rule scan it.
pub const MAX_BODY_TEXT: usize = 256 * 1024;
/// Most URLs kept per message.
pub const MAX_URLS: usize = 500;

/// The scored view of one message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Content {
    /// Header fields in order: name as written, value unfolded (encoded words decoded where
    /// the parser decoded them).
    pub headers: Vec<(String, String)>,
    /// The decoded text of every text part (HTML turned into text), joined with newlines.
    pub body: String,
    /// URLs found in the text and HTML parts (`http://`, `https://`, `www.`), in order.
    pub urls: Vec<String>,
    /// File names of attachments (`Content-Disposition: filename`, or `Content-Type: name`).
    pub attachments: Vec<String>,
    /// The message's bytes contain the GTUBE test string (see [`crate::is_gtube`]).
    pub gtube: bool,
}

impl Content {
    /// Parses `raw` (a whole message, header and body). Never fails: a message the parser
    /// cannot read at all yields only the GTUBE flag and no parts.
    pub fn parse(raw: &[u8]) -> Content {
        let gtube = crate::gtube::contains_gtube(raw);
        let Some(msg) = MessageParser::default().parse(raw) else {
            return Content {
                gtube,
                ..Content::default()
            };
        };
        let mut content = Content {
            gtube,
            ..Content::default()
        };
        for h in msg.headers() {
            let raw_value = raw
                .get(h.offset_start() as usize..h.offset_end() as usize)
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            let value = unfold(&header_text(h.value()).unwrap_or_else(|| raw_value.into_owned()));
            content.headers.push((h.name().to_owned(), value));
        }
        let mut html = String::new();
        for i in 0..msg.text_body_count() {
            if let Some(text) = msg.body_text(i) {
                push_limited(&mut content.body, &text);
            }
        }
        for i in 0..msg.html_body_count() {
            if let Some(h) = msg.body_html(i) {
                push_limited(&mut html, &h);
            }
        }
        content.urls = find_urls(&content.body);
        for url in find_urls(&html) {
            if content.urls.len() < MAX_URLS && !content.urls.contains(&url) {
                content.urls.push(url);
            }
        }
        content.attachments = msg
            .attachments()
            .filter_map(|p| p.attachment_name().map(str::to_owned))
            .collect();
        content
    }

    /// The values of every header field called `name` (case-insensitive).
    pub fn header<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The words the Bayesian classifier looks at: the subject and the body text.
    pub fn classifier_text(&self) -> String {
        let mut text = String::new();
        for s in self.header("Subject") {
            text.push_str(s);
            text.push('\n');
        }
        text.push_str(&self.body);
        text
    }
}

/// Unstructured text the parser decoded (RFC 2047 encoded words), or addresses as written
/// by their owner; `None` for anything else, which is then matched in its raw form.
fn header_text(value: &HeaderValue<'_>) -> Option<String> {
    match value {
        HeaderValue::Text(t) => Some(t.to_string()),
        HeaderValue::TextList(l) => Some(l.join(", ")),
        HeaderValue::Address(a) => {
            let list: Vec<String> = a
                .iter()
                .map(|addr| {
                    let name = addr.name().unwrap_or_default();
                    let email = addr.address().unwrap_or_default();
                    if name.is_empty() {
                        format!("<{email}>")
                    } else {
                        format!("\"{name}\" <{email}>")
                    }
                })
                .collect();
            Some(list.join(", "))
        }
        _ => None,
    }
}

/// RFC 5322 §2.2.3: unfolding removes the CRLF before folding white space.
fn unfold(raw: &str) -> String {
    raw.replace("\r\n", "").replace('\n', "").trim().to_owned()
}

fn push_limited(into: &mut String, text: &str) {
    if into.len() >= MAX_BODY_TEXT {
        return;
    }
    if !into.is_empty() {
        into.push('\n');
    }
    let room = MAX_BODY_TEXT.saturating_sub(into.len());
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    into.push_str(text.get(..end).unwrap_or_default());
}

/// URLs in free text: `http://…`, `https://…` and bare `www.…`, up to the first character
/// that cannot be in a URL (RFC 3986 §2) or a quote/bracket that usually ends one in mail.
pub fn find_urls(text: &str) -> Vec<String> {
    const STARTS: [&str; 3] = ["http://", "https://", "www."];
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    // The next occurrence of each start from `pos` on, searched again only once passed, so
    // a long text without `www.` is not rescanned for every URL.
    let mut next: [Option<usize>; 3] = [Some(0); 3];
    let mut pos = 0;
    while out.len() < MAX_URLS {
        for (slot, start) in next.iter_mut().zip(STARTS) {
            if slot.is_some_and(|at| at < pos) || *slot == Some(0) {
                *slot = lower
                    .get(pos..)
                    .and_then(|rest| rest.find(start))
                    .map(|i| i + pos);
            }
        }
        let Some(start) = next.iter().flatten().min().copied() else {
            break;
        };
        let rest = text.get(start..).unwrap_or_default();
        let len = rest
            .find(|c: char| c.is_whitespace() || "\"'<>()[]{}|\\^`".contains(c) || !c.is_ascii())
            .unwrap_or(rest.len());
        let url = rest
            .get(..len)
            .unwrap_or_default()
            .trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let after_scheme = url.split_once("//").map_or(url, |(_, r)| r);
        if after_scheme.len() > 4 && !out.iter().any(|u| u == url) {
            out.push(url.to_owned());
        }
        pos = start + len.max(1);
    }
    out
}

#[cfg(test)]
mod tests;
