//! Vigil's YAML config: kebab-case keys, `${VAR}` interpolation, unknown keys rejected,
//! and every error located as `FILE:LINE:COLUMN: message`.
//!
//! Loading happens in three steps: the YAML is parsed into marked nodes (each knows its
//! line and column), environment variables are substituted inside scalar values, then
//! the nodes are deserialized into `Raw*` structs and validated into the typed [`Config`].
//! Validation collects every error rather than stopping at the first.

mod env;
mod error;
pub mod import;
mod incidents;
mod load;
mod model;
mod raw;
mod status_page;
#[cfg(test)]
mod tests;

pub use error::{ConfigError, ConfigErrors, Location};
pub use incidents::{IncidentsConfig, OnCallConfig, PersonConfig, ScheduleConfig};
pub use load::{load_file, load_str, parse_http_url, read_file, Loader};
pub use marked_yaml::{Node, Span, Spanned};
pub use model::*;
pub use status_page::{ComponentConfig, StatusPageConfig, SubscriptionsConfig, PER_CLIENT, PER_PAGE};
