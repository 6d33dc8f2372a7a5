//! Logical relations between two conditions, for the shadowing and never-fires warnings.
//! Both are conservative: "don't know" answers `false`, so no false warning is raised.

use crate::check::{Check, Cond};
use crate::limiter::Per;

/// Whenever `a` holds, `b` holds too.
pub(super) fn covers(a: &Cond, b: &Cond) -> bool {
    if a.negate != b.negate {
        return false;
    }
    if a.check == b.check {
        return true;
    }
    if a.negate {
        return false;
    }
    match (&a.check, &b.check) {
        (Check::Rate(x), Check::Rate(y)) => {
            x.counter == y.counter
                && x.per == y.per
                && x.window == y.window
                && x.cmp.or_equal == y.cmp.or_equal
                && x.cmp.limit >= y.cmp.limit
        }
        (Check::MessageSize(x), Check::MessageSize(y)) | (Check::Score(x), Check::Score(y)) => {
            x.or_equal == y.or_equal && x.limit >= y.limit
        }
        // Unknown once tables x are loaded implies unknown once any subset is.
        (Check::RcptUnknown(x), Check::RcptUnknown(y)) => x.contains(*y),
        _ => false,
    }
}

/// `a` and `b` can never hold together.
pub(super) fn contradicts(a: &Cond, b: &Cond) -> bool {
    if a.check == b.check {
        return a.negate != b.negate;
    }
    one_way(a, b) || one_way(b, a)
}

fn one_way(a: &Cond, b: &Cond) -> bool {
    use Check::*;
    match ((&a.check, a.negate), (&b.check, b.negate)) {
        ((Listener(x), false), (Listener(y), false)) => x != y,
        ((x, false), (y, false)) if rcpt_class(x).is_some() && rcpt_class(y).is_some() => {
            match (x, y) {
                // Unknown-and-complete versus unknown-and-incomplete for a subset of tables.
                (RcptUnknown(t1), RcptTablesIncomplete(t2)) => t1.contains(*t2),
                _ => rcpt_class(x) != rcpt_class(y),
            }
        }
        (
            (SenderNull, false),
            (SenderDomainLocal | SenderDomainUnresolvable | SenderNotOwned, false),
        ) => true,
        ((Authenticated, true), (SenderNotOwned, false)) => true,
        ((Authenticated, true), (Rate(r), false)) => r.per == Per::User,
        ((PtrMissing, false), (FcrdnsFail, true)) => true,
        _ => false,
    }
}

/// The recipient status a positive check requires.
fn rcpt_class(c: &Check) -> Option<u8> {
    match c {
        Check::RcptKnown => Some(0),
        Check::RcptUnknown(_) | Check::RcptTablesIncomplete(_) => Some(1),
        Check::RcptRemote => Some(2),
        Check::RcptLookupFailed => Some(3),
        _ => None,
    }
}
