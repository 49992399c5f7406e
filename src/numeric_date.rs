//! [`NumericDate`]: a time as the JWT and OpenID Federation specifications carry it.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Sub;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch (RFC 7519 §2 "NumericDate"), as `iat`, `exp` and the
/// records' times carry it. Serialized as a bare integer, so JSON written before it existed
/// reads unchanged. Compares with an `i64` of seconds, and the difference of two is seconds.
///
/// ```
/// use oidfed::NumericDate;
/// let issued = NumericDate::from_secs(1_800_000_000);
/// let expires = NumericDate::from_secs(1_800_003_600);
/// assert_eq!(expires - issued, 3600);
/// assert!(expires > 1_800_000_000);
/// assert_eq!(serde_json::to_string(&expires).unwrap(), "1800003600");
/// assert_eq!(expires.to_string(), "1800003600");
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct NumericDate(i64);

impl NumericDate {
    /// The time `secs` seconds after the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the epoch.
    pub const fn as_secs(self) -> i64 {
        self.0
    }
}

impl From<i64> for NumericDate {
    fn from(secs: i64) -> Self {
        Self(secs)
    }
}

impl From<NumericDate> for i64 {
    fn from(d: NumericDate) -> Self {
        d.0
    }
}

impl fmt::Display for NumericDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl PartialEq<i64> for NumericDate {
    fn eq(&self, other: &i64) -> bool {
        self.0 == *other
    }
}

impl PartialEq<NumericDate> for i64 {
    fn eq(&self, other: &NumericDate) -> bool {
        *self == other.0
    }
}

impl PartialOrd<i64> for NumericDate {
    fn partial_cmp(&self, other: &i64) -> Option<Ordering> {
        self.0.partial_cmp(other)
    }
}

impl PartialOrd<NumericDate> for i64 {
    fn partial_cmp(&self, other: &NumericDate) -> Option<Ordering> {
        self.partial_cmp(&other.0)
    }
}

/// The seconds between two times (saturating).
impl Sub for NumericDate {
    type Output = i64;
    fn sub(self, rhs: NumericDate) -> i64 {
        self.0.saturating_sub(rhs.0)
    }
}

/// The seconds from `rhs` to this time (saturating).
impl Sub<i64> for NumericDate {
    type Output = i64;
    fn sub(self, rhs: i64) -> i64 {
        self.0.saturating_sub(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_a_bare_integer() {
        let d: NumericDate = serde_json::from_str("1800000000").unwrap();
        assert_eq!(d, 1_800_000_000);
        assert!(1_799_999_999 < d);
        assert!(serde_json::from_str::<NumericDate>("\"1800000000\"").is_err());
        assert_eq!(
            serde_json::to_value(d).unwrap(),
            serde_json::json!(1_800_000_000)
        );
        assert_eq!(NumericDate::from_secs(5) - NumericDate::from_secs(2), 3);
        assert_eq!(
            NumericDate::from_secs(i64::MIN) - NumericDate::from_secs(1),
            i64::MIN
        );
    }
}
