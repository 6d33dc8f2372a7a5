//! Delivery-time routing: envelope recipients to Maildirs or the outbound queue.

use std::path::PathBuf;
use std::sync::Arc;

use calm_accounts::{Resolution, Target};
use calm_queue::{Envelope, Route, Router};

use crate::accounts::LiveDirectory;
use crate::outbound::{Cutover, RouteTable};

/// Routes through the live user directory; mailboxes live under `mail_base/DOMAIN/LOCAL`.
/// A local domain being forwarded to another host (cut-over) goes to the outbound queue.
pub struct DirectoryRouter {
    pub directory: Arc<LiveDirectory>,
    pub mail_base: PathBuf,
    pub routes: Arc<RouteTable>,
}

impl Router for DirectoryRouter {
    fn route(&self, rcpt: &str) -> Vec<Route> {
        let directory = self.directory.current();
        let domain = rcpt.rsplit_once('@').map_or("", |(_, d)| d);
        if directory.is_local_domain(domain)
            && matches!(self.routes.cutover(domain, true), Cutover::Forward)
        {
            return vec![Route::Remote(rcpt.to_string())];
        }
        match directory.resolve(rcpt) {
            Resolution::NotLocal => vec![Route::Remote(rcpt.to_string())],
            Resolution::Unknown => {
                vec![Route::Unroutable {
                    reason: "no such user (it was valid when the message was accepted)".into(),
                }]
            }
            Resolution::Deliver(targets) => targets.into_iter().map(|t| self.target(t)).collect(),
            Resolution::Failed(e) => vec![Route::Unroutable {
                reason: e.to_string(),
            }],
        }
    }

    /// Local copies of a message a policy rule filed (`folder = "Junk"`) go to that folder of
    /// each mailbox, created if missing. If the folder cannot be made, INBOX: never lost.
    fn route_envelope(&self, rcpt: &str, envelope: &Envelope) -> Vec<Route> {
        let routes = self.route(rcpt);
        let Some(folder) = &envelope.folder else {
            return routes;
        };
        routes
            .into_iter()
            .map(|route| match route {
                Route::Mailbox { user, dir } => {
                    let filed = calm_mailstore::Store::open(&dir)
                        .and_then(|store| store.delivery_dir(folder));
                    Route::Mailbox {
                        dir: filed.unwrap_or(dir),
                        user,
                    }
                }
                other => other,
            })
            .collect()
    }
}

impl DirectoryRouter {
    fn target(&self, target: Target) -> Route {
        match target {
            Target::Mailbox(user) => Route::Mailbox {
                dir: calm_maildir::mailbox_dir(&self.mail_base, &user),
                user,
            },
            Target::Forward(address) => Route::Remote(address),
        }
    }
}
