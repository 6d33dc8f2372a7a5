//! The QUOTA extension's commands (RFC 9208 §9 grammar, compatible with RFC 2087):
//!
//! ```text
//! getquota      = "GETQUOTA" SP quota-root-name
//! getquotaroot  = "GETQUOTAROOT" SP mailbox
//! setquota      = "SETQUOTA" SP quota-root-name SP setquota-list
//! setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"
//! setquota-resource = resource-name SP resource-limit
//! quota-root-name = astring;  resource-name = atom;  resource-limit = number64
//! ```

use super::{Cursor, Res};
use crate::command::CommandBody;

/// More resources than RFC 9208 defines (STORAGE, MESSAGE, MAILBOX, ANNOTATION-STORAGE)
/// several times over; a longer list is hostile, not a mistake.
const MAX_RESOURCES: usize = 16;

/// Parses the arguments of GETQUOTA, GETQUOTAROOT or SETQUOTA (`name`, upper case).
pub(super) fn command(c: &mut Cursor<'_>, name: &str) -> Res<CommandBody> {
    match name {
        "GETQUOTAROOT" => Ok(CommandBody::GetQuotaRoot {
            mailbox: c.mailbox()?,
        }),
        "GETQUOTA" => Ok(CommandBody::GetQuota {
            root: c.astring_utf8()?,
        }),
        _ => {
            let root = c.astring_utf8()?;
            c.sp()?;
            Ok(CommandBody::SetQuota {
                root,
                limits: setquota_list(c)?,
            })
        }
    }
}

fn setquota_list(c: &mut Cursor<'_>) -> Res<Vec<(String, u64)>> {
    c.expect(b'(')?;
    let mut limits = Vec::new();
    if c.eat(b')') {
        return Ok(limits);
    }
    loop {
        if limits.len() == MAX_RESOURCES {
            return Err("too many quota resources".to_owned());
        }
        let resource = c.atom()?.to_ascii_uppercase();
        c.sp()?;
        limits.push((resource, c.number64()?));
        if c.eat(b')') {
            return Ok(limits);
        }
        c.sp()?;
    }
}
