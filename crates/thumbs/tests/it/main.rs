//! thumbs end to end.
