//! One way to print a URL that may carry credentials: its password (user-info after the
//! first `:`) and the values of password-like query parameters become `***`. Every
//! place that prints a URL (logs, config errors, messages) goes through [`url`].

/// Query parameter names whose values are secrets (compared without case, and as parts
/// of longer names: `sslpassword`, `access_token`, `X-Amz-Signature`).
const SECRET_PARAMETERS: [&str; 8] = ["pass", "pwd", "secret", "token", "key", "sig", "auth", "credential"];

/// `text` with every URL credential in it replaced by `***`.
///
/// The user-info ends at the last `@` before the query, so a password holding `@` or
/// `/` is hidden whole; when in doubt more is hidden, never less.
pub fn url(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else { return redact_query(text) };
    let (scheme, rest) = text.split_at(scheme_end + 3);
    let query_start = rest.find(['?', '#']).unwrap_or(rest.len());
    let (before_query, query) = rest.split_at(query_start);
    let redacted = match before_query.rfind('@') {
        Some(at) => {
            let (user_info, host) = before_query.split_at(at);
            match user_info.split_once(':') {
                Some((user, _)) => format!("{user}:***{host}"),
                None => before_query.to_owned(),
            }
        }
        None => before_query.to_owned(),
    };
    format!("{scheme}{redacted}{}", redact_query(query))
}

/// Hides the values of secret-looking `name=value` pairs after a `?` (or in a bare
/// query string).
fn redact_query(text: &str) -> String {
    let Some(start) = text.find('?') else { return text.to_owned() };
    let (head, query) = text.split_at(start + 1);
    let (query, fragment) = query.split_at(query.find('#').unwrap_or(query.len()));
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() && is_secret(name) => format!("{name}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{head}{}{fragment}", pairs.join("&"))
}

fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMETERS.iter().any(|secret| name.contains(secret))
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_never_print() {
        let cases: &[(&str, &str)] = &[
            ("postgres://vigil:s3cret@db:5432/vigil", "postgres://vigil:***@db:5432/vigil"),
            ("postgres://vigil@db/vigil", "postgres://vigil@db/vigil"),
            ("postgres://u:p@ss@host/db", "postgres://u:***@host/db"),
            ("postgres://u:pa/ss@host/db", "postgres://u:***@host/db"),
            ("postgres://u:@host/db", "postgres://u:***@host/db"),
            ("postgres://u@host/db?password=hunter2", "postgres://u@host/db?password=***"),
            ("postgres://host/db?sslmode=require&sslpassword=x&user=u", "postgres://host/db?sslmode=require&sslpassword=***&user=u"),
            ("https://api.example.com/health?token=abc&page=2#top", "https://api.example.com/health?token=***&page=2#top"),
            (
                "https://s3.amazonaws.com/b/k?X-Amz-Signature=ff&X-Amz-Credential=AK",
                "https://s3.amazonaws.com/b/k?X-Amz-Signature=***&X-Amz-Credential=***",
            ),
            // An `@` in the path: more is hidden than needed, never less.
            ("https://user:pass@example.com/a@b?api_key=1", "https://user:***@b?api_key=***"),
            ("http://example.com:8080/mail@x", "http://example.com:***@x"),
            ("sqlite://vigil.db", "sqlite://vigil.db"),
            ("mysql://root:toor@localhost/x", "mysql://root:***@localhost/x"),
            ("not a url", "not a url"),
            ("http://h/?empty=&key=", "http://h/?empty=&key="),
        ];
        for (text, expected) in cases {
            assert_eq!(super::url(text), *expected, "{text}");
        }
    }
}
