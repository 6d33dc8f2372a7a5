//! The parsed form of client commands (RFC 3501 §6, RFC 9051 §6).

/// One client command: its tag and what it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The client's tag, echoed in the tagged response.
    pub tag: String,
    /// The command proper.
    pub body: CommandBody,
}

/// Every command calm understands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandBody {
    /// `CAPABILITY` (RFC 3501 §6.1.1).
    Capability,
    /// `NOOP` (§6.1.2).
    Noop,
    /// `LOGOUT` (§6.1.3).
    Logout,
    /// `STARTTLS` (§6.2.1).
    StartTls,
    /// `LOGIN user password` (§6.2.3).
    Login {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// `AUTHENTICATE mechanism [initial-response]` (§6.2.2, RFC 4959 SASL-IR).
    Authenticate {
        /// The SASL mechanism name.
        mechanism: String,
        /// The initial response (base64, or `=` for empty), if sent on the command line.
        initial: Option<String>,
    },
    /// `SELECT` (`read_only: false`) or `EXAMINE` (`true`) (§6.3.1, §6.3.2).
    Select {
        /// The mailbox name (UTF-8).
        mailbox: String,
        /// EXAMINE.
        read_only: bool,
        /// The `(CONDSTORE)` select parameter (RFC 7162 §3.1.8): enables CONDSTORE.
        condstore: bool,
    },
    /// `CREATE` (§6.3.3).
    Create {
        /// The mailbox name.
        mailbox: String,
    },
    /// `DELETE` (§6.3.4).
    Delete {
        /// The mailbox name.
        mailbox: String,
    },
    /// `RENAME` (§6.3.5).
    Rename {
        /// The existing name.
        from: String,
        /// The new name.
        to: String,
    },
    /// `SUBSCRIBE` (`true`) or `UNSUBSCRIBE` (`false`) (§6.3.6, §6.3.7).
    Subscribe {
        /// The mailbox name.
        mailbox: String,
        /// Subscribe rather than unsubscribe.
        subscribe: bool,
    },
    /// `LIST` or `LSUB` (§6.3.8, §6.3.9, RFC 5258 basics, RFC 6154).
    List(ListCommand),
    /// `NAMESPACE` (RFC 2342).
    Namespace,
    /// `STATUS mailbox (items)` (§6.3.10).
    Status {
        /// The mailbox name.
        mailbox: String,
        /// The items asked for.
        items: Vec<StatusItem>,
    },
    /// `APPEND mailbox [flags] [date] literal` (§6.3.11).
    Append {
        /// The mailbox name.
        mailbox: String,
        /// Initial flags.
        flags: Vec<Flag>,
        /// The internal date as seconds since the Unix epoch (UTC).
        date: Option<i64>,
        /// The message.
        message: Vec<u8>,
    },
    /// `CHECK` (RFC 3501 §6.4.1).
    Check,
    /// `CLOSE` (§6.4.2).
    Close,
    /// `UNSELECT` (RFC 3691).
    Unselect,
    /// `EXPUNGE` or `UID EXPUNGE set` (§6.4.3, RFC 4315 §2.1).
    Expunge {
        /// For UID EXPUNGE, only these UIDs.
        uids: Option<SequenceSet>,
    },
    /// `[UID] SEARCH [RETURN (...)] [CHARSET x] keys` (§6.4.4, RFC 4731 ESEARCH).
    Search {
        /// UID SEARCH.
        uid: bool,
        /// All keys must match (the top level is an implicit AND).
        key: SearchKey,
        /// `RETURN (...)`: answer with ESEARCH; `None` for a plain SEARCH.
        ret: Option<SearchReturn>,
    },
    /// `[UID] FETCH set items` (§6.4.5).
    Fetch {
        /// UID FETCH.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// What to return.
        items: Vec<FetchItem>,
        /// The `(CHANGEDSINCE n)` modifier (RFC 7162 §3.1.4): only messages whose MODSEQ
        /// is above `n`, with MODSEQ in each response.
        changed_since: Option<u64>,
    },
    /// `[UID] STORE set [+-]FLAGS[.SILENT] flags` (§6.4.6).
    Store {
        /// UID STORE.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// Add, remove or replace.
        op: StoreOp,
        /// `.SILENT`: no untagged FETCH for the change.
        silent: bool,
        /// The flags.
        flags: Vec<Flag>,
        /// The `(UNCHANGEDSINCE n)` modifier (RFC 7162 §3.1.3): only messages whose MODSEQ
        /// is at most `n` (0 is allowed and fails for every message).
        unchanged_since: Option<u64>,
    },
    /// `[UID] COPY` (`moving: false`) or `[UID] MOVE` (`true`) (§6.4.7, RFC 6851).
    Copy {
        /// UID COPY/MOVE.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The destination mailbox.
        mailbox: String,
        /// MOVE.
        moving: bool,
    },
    /// `IDLE` (RFC 2177).
    Idle,
    /// `ENABLE caps` (RFC 5161).
    Enable {
        /// The capability names.
        capabilities: Vec<String>,
    },
    /// `ID (...)` or `ID NIL` (RFC 2971); the client's parameters are ignored.
    Id,
    /// `GETQUOTA quota-root` (RFC 9208, RFC 2087).
    GetQuota {
        /// The quota root's name (not a mailbox name).
        root: String,
    },
    /// `GETQUOTAROOT mailbox` (RFC 9208, RFC 2087).
    GetQuotaRoot {
        /// The mailbox name.
        mailbox: String,
    },
    /// `SETQUOTA quota-root (resource limit ...)` (RFC 9208, RFC 2087).
    SetQuota {
        /// The quota root's name.
        root: String,
        /// (resource name in upper case, limit) pairs, in the order sent.
        limits: Vec<(String, u64)>,
    },
}

/// The RETURN options of an extended SEARCH (RFC 4731 §3.1, RFC 5182 SAVE). `RETURN ()`
/// means ALL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SearchReturn {
    /// `MIN`
    pub min: bool,
    /// `MAX`
    pub max: bool,
    /// `ALL`
    pub all: bool,
    /// `COUNT`
    pub count: bool,
    /// `SAVE`: remember the result for `$` (RFC 5182).
    pub save: bool,
}

/// LIST/LSUB arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListCommand {
    /// LSUB rather than LIST.
    pub lsub: bool,
    /// The reference name.
    pub reference: String,
    /// The patterns (one, or several with RFC 5258 syntax).
    pub patterns: Vec<String>,
    /// RFC 5258 selection option SUBSCRIBED.
    pub subscribed_only: bool,
    /// RFC 6154 selection option SPECIAL-USE.
    pub special_use_only: bool,
    /// RFC 5258 RETURN (SUBSCRIBED).
    pub return_subscribed: bool,
    /// RFC 5819 RETURN (STATUS (items)).
    pub return_status: Vec<StatusItem>,
}

/// A STATUS data item (RFC 3501 §6.3.10, RFC 9051 §6.3.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusItem {
    /// `MESSAGES`
    Messages,
    /// `RECENT` (IMAP4rev1 only)
    Recent,
    /// `UIDNEXT`
    UidNext,
    /// `UIDVALIDITY`
    UidValidity,
    /// `UNSEEN`
    Unseen,
    /// `SIZE` (RFC 8438)
    Size,
    /// `DELETED` (RFC 9051 §6.3.11)
    Deleted,
    /// `HIGHESTMODSEQ` (RFC 7162 §3.1.10)
    HighestModseq,
}

impl StatusItem {
    /// The item's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::Recent => "RECENT",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Size => "SIZE",
            StatusItem::Deleted => "DELETED",
            StatusItem::HighestModseq => "HIGHESTMODSEQ",
        }
    }
}

/// A message flag (RFC 3501 §2.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flag {
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Seen`
    Seen,
    /// `\Draft`
    Draft,
    /// `\Recent` (session flag; cannot be stored)
    Recent,
    /// Any other flag or keyword, as sent.
    Other(String),
}

impl Flag {
    /// Parses one flag atom (case-insensitive for system flags).
    pub fn from_atom(atom: &str) -> Flag {
        const SYSTEM: [(&str, Flag); 6] = [
            ("\\Answered", Flag::Answered),
            ("\\Flagged", Flag::Flagged),
            ("\\Deleted", Flag::Deleted),
            ("\\Seen", Flag::Seen),
            ("\\Draft", Flag::Draft),
            ("\\Recent", Flag::Recent),
        ];
        SYSTEM
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(atom))
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| Flag::Other(atom.to_owned()))
    }
}

/// How STORE combines flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
    /// `FLAGS`
    Replace,
}

/// One end of a sequence range: a number or `*` (the largest in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqNum {
    /// A sequence number or UID.
    Value(u32),
    /// `*`
    Largest,
    /// `$` (RFC 5182): the messages saved by the last `SEARCH RETURN (SAVE)`. Only ever
    /// alone in a set; see [`SequenceSet::is_saved`].
    Saved,
}

impl SeqNum {
    fn resolve(self, largest: u32) -> u32 {
        match self {
            SeqNum::Value(v) => v,
            SeqNum::Largest => largest,
            SeqNum::Saved => 0,
        }
    }
}

/// A sequence set such as `1:4,7,10:*` (RFC 3501 §9 `sequence-set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceSet(pub Vec<(SeqNum, SeqNum)>);

impl SequenceSet {
    /// The set `$`: the server substitutes the saved search result.
    pub fn saved() -> SequenceSet {
        SequenceSet(vec![(SeqNum::Saved, SeqNum::Saved)])
    }

    /// True for `$`.
    pub fn is_saved(&self) -> bool {
        self.0.iter().any(|(a, _)| *a == SeqNum::Saved)
    }

    /// True if `n` is in the set, with `*` standing for `largest`. RFC 3501 §9: `a:b` and
    /// `b:a` are the same range.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        self.0.iter().any(|&(a, b)| {
            let (a, b) = (a.resolve(largest), b.resolve(largest));
            a.min(b) <= n && n <= a.max(b)
        })
    }
}

/// A FETCH data item (RFC 3501 §6.4.5). The macros ALL, FAST and FULL are expanded by the
/// parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    /// `FLAGS`
    Flags,
    /// `UID`
    Uid,
    /// `INTERNALDATE`
    InternalDate,
    /// `RFC822.SIZE`
    Rfc822Size,
    /// `ENVELOPE`
    Envelope,
    /// `BODYSTRUCTURE` (`true`) or `BODY` (`false`, no extension data)
    BodyStructure(bool),
    /// `RFC822` (same as `BODY[]`, sets \Seen)
    Rfc822,
    /// `RFC822.HEADER` (same as `BODY.PEEK[HEADER]`)
    Rfc822Header,
    /// `RFC822.TEXT` (same as `BODY[TEXT]`)
    Rfc822Text,
    /// `BINARY[part]<partial>` or `BINARY.PEEK[...]` (RFC 3516): the part with its
    /// content-transfer-encoding undone.
    Binary {
        /// `.PEEK`: do not set \Seen.
        peek: bool,
        /// The part path; empty for the whole message.
        part: Vec<u32>,
        /// `<offset.length>`
        partial: Option<(u32, u32)>,
    },
    /// `BINARY.SIZE[part]` (RFC 3516): the decoded size.
    BinarySize(Vec<u32>),
    /// `MODSEQ` (RFC 7162 §3.1.4.1): the message's mod-sequence.
    Modseq,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    Body {
        /// `.PEEK`: do not set \Seen.
        peek: bool,
        /// The section.
        section: Section,
        /// `<offset.length>`
        partial: Option<(u32, u32)>,
    },
}

/// A body section specifier (RFC 3501 §6.4.5 `section`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// The part path, e.g. `[1, 2]` for `1.2`; empty for the whole message.
    pub part: Vec<u32>,
    /// What of the part.
    pub text: Option<SectionText>,
}

/// The text part of a section specifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (names)`
    HeaderFields(Vec<String>),
    /// `HEADER.FIELDS.NOT (names)`
    HeaderFieldsNot(Vec<String>),
    /// `TEXT`
    Text,
    /// `MIME` (only with a part number)
    Mime,
}

/// A calendar date in SEARCH (`dd-Mon-yyyy`), as days since 1970-01-01.
pub type Day = i64;

/// A SEARCH key (RFC 3501 §6.4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    /// All of these (a parenthesised list, or the top level).
    And(Vec<SearchKey>),
    /// `OR a b`
    Or(Box<SearchKey>, Box<SearchKey>),
    /// `NOT a`
    Not(Box<SearchKey>),
    /// `ALL`
    All,
    /// A flag is set (`ANSWERED`, `SEEN`, `KEYWORD x`, …); its negation is `Not`.
    Flag(Flag),
    /// `NEW`: \Recent and not \Seen.
    New,
    /// `OLD`: not \Recent.
    Old,
    /// A header contains a string (`FROM`, `TO`, `CC`, `BCC`, `SUBJECT`, `HEADER name`).
    Header(String, String),
    /// `BODY s`
    Body(String),
    /// `TEXT s`
    Text(String),
    /// `BEFORE`/`ON`/`SINCE` (internal date) or `SENTBEFORE`/`SENTON`/`SENTSINCE`.
    Date {
        /// Which comparison.
        cmp: DateCmp,
        /// The day.
        day: Day,
        /// Against the Date header rather than the internal date.
        sent: bool,
    },
    /// `LARGER n`
    Larger(u64),
    /// `SMALLER n`
    Smaller(u64),
    /// `UID set`
    Uid(SequenceSet),
    /// A sequence-number set.
    Seq(SequenceSet),
    /// `MODSEQ [entry type] n` (RFC 7162 §3.1.5): MODSEQ at least `n`. calm keeps one
    /// MODSEQ per message, so the optional flag entry name and type are ignored.
    Modseq(u64),
}

/// How a date search key compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateCmp {
    /// Strictly before the day.
    Before,
    /// On the day.
    On,
    /// On or after the day.
    Since,
}
