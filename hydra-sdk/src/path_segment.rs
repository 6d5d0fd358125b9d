//! The type of every path parameter of the generated calls.

use std::fmt;

/// A path parameter of a generated call: a client id, a JSON Web Key set's name, a key id, a
/// trust relationship's id. Every call takes one wherever it takes such a value, from a `&str`
/// or a `String`; one that cannot be a path segment is refused there, and the call's `send`
/// then fails with `ApiError::InvalidRequest` (progenitor's "conversion to `crate ::
/// PathSegment` for id failed") before any request is made.
///
/// The generated calls percent-encode each value into the URL with progenitor's `encode_path`,
/// which leaves `\` as it is, and the URL parser reads `\` as `/` in an `http(s)` URL; it also
/// resolves a whole `.` or `..` segment. So before this type, `delete_oauth2_client` of the id
/// `x\..\..\keys\set` sent `DELETE /admin/keys/set` and deleted a whole JSON Web Key set,
/// `set_oauth2_client` of `mine\..\theirs` replaced another client, and `delete_json_web_key`
/// of the set `.` deleted the set its key id named: Hydra's admin API does what it is sent.
/// Refused: an empty value, `.`, `..`, and any value that holds `\`. Every other character is
/// encoded into its segment (`/`, `?`, `#` and `%` included).
///
/// ```
/// use hydra_sdk::PathSegment;
/// assert!(PathSegment::new("bss-7f3a").is_ok());
/// assert!(PathSegment::new("a/b?c").is_ok()); // encoded, stays one segment
/// for refused in ["", ".", "..", "mine\\..\\theirs"] {
///     assert!(PathSegment::new(refused).is_err());
/// }
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PathSegment(String);

/// Why a value cannot be a [`PathSegment`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPathSegment(&'static str);

impl fmt::Display for InvalidPathSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a path segment: {}", self.0)
    }
}

impl std::error::Error for InvalidPathSegment {}

impl PathSegment {
    /// `value`, unless it is empty, `.` or `..`, or holds `\`.
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidPathSegment> {
        let value = value.into();
        let why = match value.as_str() {
            "" => "it is empty",
            "." | ".." => "the URL parser resolves it against the path before it",
            v if v.contains('\\') => "it holds `\\`, which the URL parser reads as `/`",
            _ => return Ok(PathSegment(value)),
        };
        Err(InvalidPathSegment(why))
    }

    /// The value, as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The value as given: the generated calls encode it into the URL.
impl fmt::Display for PathSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PathSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl AsRef<str> for PathSegment {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PathSegment {
    type Error = InvalidPathSegment;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PathSegment::new(value)
    }
}

impl TryFrom<&String> for PathSegment {
    type Error = InvalidPathSegment;
    fn try_from(value: &String) -> Result<Self, Self::Error> {
        PathSegment::new(value.as_str())
    }
}

impl TryFrom<&str> for PathSegment {
    type Error = InvalidPathSegment;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        PathSegment::new(value)
    }
}

impl From<PathSegment> for String {
    fn from(segment: PathSegment) -> Self {
        segment.0
    }
}
