//! The declaration order of a struct's keys, straight from serde.
//!
//! The JSON schema keeps properties in a sorted map (schemars' `preserve_order` would change
//! `serde_json` for the whole workspace), but a manual reads best in the order the fields are
//! declared. serde's derive hands exactly that list to `Deserializer::deserialize_struct`,
//! so a deserializer that records it and then gives up recovers the order without a
//! hand-written list that could drift.

use serde::de::{DeserializeOwned, Deserializer, Error as _, Visitor, value::Error};

/// The serialized key names of `T`, in declaration order; empty if `T` is not a struct.
pub(super) fn names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut out = None;
    // The result is always the error below: only the side effect is wanted.
    let _ = T::deserialize(Introspect { out: &mut out });
    out.unwrap_or(&[])
}

struct Introspect<'a> {
    out: &'a mut Option<&'static [&'static str]>,
}

impl<'de> Deserializer<'de> for Introspect<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Error> {
        Err(Error::custom("field introspection only"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        *self.out = Some(fields);
        Err(Error::custom("field introspection only"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}
