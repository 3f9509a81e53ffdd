//! Glob patterns of configs (outputs, `code:`), in one place: what counts as
//! a pattern, and how patterns match, so that publishing, judging, code
//! digests and the reader of any other program agree.

/// Globs never match hidden files (the record) and `*` stops at `/`.
pub(crate) const GLOB_OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

/// Whether `text` is a glob pattern rather than a plain name.
pub(crate) fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}
