//! The literal title: a line that starts with `"..."` keeps that text as typed, so a title may hold
//! words the grammar would otherwise read (`"meet friday" tomorrow`).

/// Splits a leading double-quoted text (with `\"` and `\\` escapes) from the rest of the line. A line
/// without one, or whose quote is never closed, has no literal part.
pub(crate) fn split_literal(text: &str) -> (Option<String>, &str) {
    let Some(body) = text.trim_start().strip_prefix('"') else {
        return (None, text);
    };
    let mut literal = String::new();
    let mut escaped = false;
    for (at, c) in body.char_indices() {
        match (escaped, c) {
            (true, _) => {
                literal.push(c);
                escaped = false;
            }
            (false, '\\') => escaped = true,
            (false, '"') => return (Some(literal), &body[at + 1..]),
            (false, _) => literal.push(c),
        }
    }
    (None, text)
}

/// The title: the literal part as typed, then the words no part recognised.
pub(crate) fn join(literal: Option<String>, rest: &str) -> String {
    match literal {
        Some(literal) if rest.is_empty() => literal,
        Some(literal) => format!("{literal} {rest}"),
        None => rest.to_owned(),
    }
}

/// `title` as a literal: quoted, with `"` and `\` escaped.
pub(crate) fn quote(title: &str) -> String {
    let mut quoted = String::with_capacity(title.len() + 2);
    quoted.push('"');
    for c in title.chars() {
        if matches!(c, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}
