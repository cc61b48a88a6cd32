//! Timestamps on the wire: RFC 3339 (`format: date-time` in the spec).

use time::OffsetDateTime;

use crate::clock::Millis;

pub fn datetime(ms: Millis) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn opt_datetime(ms: Option<Millis>) -> Option<OffsetDateTime> {
    ms.map(datetime)
}

pub fn millis(t: OffsetDateTime) -> Millis {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
