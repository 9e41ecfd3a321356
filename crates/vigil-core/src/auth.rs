//! Who may do what through the API: three roles, each allowed what the one below it
//! may and more. Viewers read; responders also silence, acknowledge, approve and run
//! actions; admins also manage tokens.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Responder,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Responder, Role::Admin];

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A bearer token as handed out: `vgl_` + a public id + `_` + the secret. Only a hash
/// of the secret is stored; the id finds the row without scanning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenParts<'a> {
    pub id: &'a str,
    pub secret: &'a str,
}

impl<'a> TokenParts<'a> {
    pub const PREFIX: &'static str = "vgl_";

    /// Splits a presented token; `None` when it is not of Vigil's shape.
    pub fn parse(token: &'a str) -> Option<TokenParts<'a>> {
        let rest = token.strip_prefix(TokenParts::PREFIX)?;
        let (id, secret) = rest.split_once('_')?;
        let hex = |text: &str, length: usize| text.len() == length && text.bytes().all(|byte| byte.is_ascii_hexdigit());
        (hex(id, 16) && hex(secret, 64)).then_some(TokenParts { id, secret })
    }
}

#[cfg(test)]
mod tests {
    use super::{Role, TokenParts};

    #[test]
    fn roles_include_the_ones_below() {
        assert!(Role::Admin.allows(Role::Responder) && Role::Responder.allows(Role::Viewer) && Role::Viewer.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Responder) && !Role::Responder.allows(Role::Admin));
        assert_eq!(Role::parse("responder"), Some(Role::Responder));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn tokens_have_one_shape() {
        let token = format!("vgl_{}_{}", "a".repeat(16), "b".repeat(64));
        assert_eq!(TokenParts::parse(&token).map(|parts| parts.id.len()), Some(16));
        for bad in ["", "vgl_", "vgl_abc_def", "xyz_aaaaaaaaaaaaaaaa_bbbb", &format!("vgl_{}_{}", "g".repeat(16), "b".repeat(64))] {
            assert_eq!(TokenParts::parse(bad), None, "{bad}");
        }
    }
}
