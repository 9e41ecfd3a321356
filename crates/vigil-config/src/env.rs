//! `${VAR}` interpolation inside scalar values; `$$` stands for a literal `$`.

/// Substitutes `${NAME}` with `lookup(NAME)`. Returns the name of the first variable
/// that is not set, or a message for malformed references.
pub(crate) fn interpolate(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    if !text.contains('$') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('$') {
        out.push_str(&rest[..position]);
        let after = &rest[position + 1..];
        if let Some(after_dollar) = after.strip_prefix('$') {
            out.push('$');
            rest = after_dollar;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or_else(|| "unterminated `${`, expected `${NAME}`".to_owned())?;
            let name = &body[..end];
            let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !valid {
                return Err(format!("invalid environment variable name `{name}`"));
            }
            let value = lookup(name).ok_or_else(|| format!("environment variable `{name}` is not set"))?;
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::interpolate;

    #[test]
    fn interpolation_table() {
        let lookup = |name: &str| match name {
            "SMTP_PASSWORD" => Some("s3cr$t".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("plain", Ok("plain")),
            ("${SMTP_PASSWORD}", Ok("s3cr$t")),
            ("pre-${SMTP_PASSWORD}-post", Ok("pre-s3cr$t-post")),
            ("${EMPTY}", Ok("")),
            ("$$5", Ok("$5")),
            ("cost $5", Ok("cost $5")),
            ("${MISSING}", Err("environment variable `MISSING` is not set")),
            ("${BAD-NAME}", Err("invalid environment variable name `BAD-NAME`")),
            ("${OPEN", Err("unterminated `${`, expected `${NAME}`")),
        ];
        for (text, expected) in cases {
            let actual = interpolate(text, &lookup);
            assert_eq!(actual.as_deref().map_err(String::as_str), *expected, "{text}");
        }
    }
}
