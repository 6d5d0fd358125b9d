//! What an error or a message may show of what came from a peer or goes to one: the peer's
//! texts escaped and cut, and URLs without credentials or query values.

/// The most of one text from the peer (an error's `error`, `error_description`, `error_hint`,
/// `error_debug`, or serde's reason for a body that does not decode) that an error keeps, in
/// characters.
pub const MAX_PEER_TEXT: usize = 512;

/// Text the peer sent, as an error keeps it: control and bidirectional formatting characters
/// escaped ([`rewrites_text`]), since a CR or an escape sequence would rewrite the terminal line
/// it is printed on, a newline would forge a log line and a right-to-left override reorder it,
/// and at most [`MAX_PEER_TEXT`] characters (then `…`), not a line as long as the body cap.
/// RFC 6749 §5.2 allows neither in these fields, so a conforming server's text is kept as it is.
///
/// ```
/// assert_eq!(hydra_sdk::peer_text("bad\r\nforged".into()), "bad\\r\\nforged");
/// assert_eq!(hydra_sdk::peer_text("x".repeat(600)).chars().count(), 513);
/// ```
pub fn peer_text(text: String) -> String {
    if text.len() <= MAX_PEER_TEXT && !text.chars().any(rewrites_text) {
        return text;
    }
    let mut kept = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_PEER_TEXT {
            kept.push('…');
            break;
        }
        if rewrites_text(c) {
            kept.extend(c.escape_default());
        } else {
            kept.push(c);
        }
    }
    kept
}

/// Whether printing `c` can change how the text around it reads: a control character (a CR, an
/// escape sequence, a newline), or a bidirectional formatting character, which reorders what
/// follows it on the line (the "Trojan Source" characters, CVE-2021-42574). [`peer_text`]
/// escapes these.
pub fn rewrites_text(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// A URL with any `user:password@` replaced by `…@` and its query and fragment values redacted
/// ([`redact_query`]): for messages about URLs that may not even parse, so it works on the text.
///
/// Everything up to the last `@` is taken for a user and password. A password may hold `/`, `?`
/// or `#` (a base64 one often holds `/`), which end the authority for a parser, so an `@` after
/// one of them cannot be told from the end of a password; one that really was in a path or a
/// query is redacted with the rest, the safe way to be wrong.
pub fn redact_url(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    match url[start..].rfind('@') {
        Some(at) => redact_query(&format!("{}…{}", &url[..start], &url[start + at..])),
        None => redact_query(url),
    }
}

/// A URL with its query and fragment values replaced by `…`, for messages: redirect URLs can carry
/// codes and tokens (RFC 6749 §4.1.2, §4.2.2).
pub fn redact_query(url: &str) -> String {
    let (base, rest) = match url.find(['?', '#']) {
        Some(i) => url.split_at(i),
        None => return url.to_string(),
    };
    let mut out = base.to_string();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '=' {
            out.push('…');
            while chars.peek().is_some_and(|c| *c != '&' && *c != '#') {
                chars.next();
            }
        }
    }
    out
}

/// `url` with its query's values removed (the names stay) and its fragment replaced, for errors
/// that print it: the SDK sends ID tokens and verifiers in queries (`id_token_hint`,
/// `login_verifier`, ...).
pub(crate) fn without_query_values(url: &mut url::Url) {
    if url.query().is_some() {
        let names: Vec<String> = url
            .query_pairs()
            .map(|(name, _)| name.into_owned())
            .collect();
        let mut query = url.query_pairs_mut();
        query.clear();
        for name in &names {
            query.append_key_only(name);
        }
    }
    if url.fragment().is_some() {
        url.set_fragment(Some("redacted"));
    }
}
