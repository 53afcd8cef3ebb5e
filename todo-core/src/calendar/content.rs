//! RFC 5545 content lines: escaping of TEXT values, folding at 75 octets, CRLF line ends.

/// Longest content line, in octets, before it is folded (RFC 5545 §3.1), the CRLF not counted.
const MAX_LINE_OCTETS: usize = 75;

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines. A CR (alone or
/// before LF) becomes one `\n`; other control characters, which TEXT does not allow, are dropped.
pub(crate) fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Accumulates an iCalendar document one content line at a time.
#[derive(Debug, Default)]
pub(crate) struct Document {
    text: String,
}

impl Document {
    /// Appends `name:value` (the value already escaped or structured), folded and ended with CRLF.
    pub(crate) fn line(&mut self, name: &str, value: &str) {
        let mut octets = 0;
        for (i, c) in name.chars().chain([':']).chain(value.chars()).enumerate() {
            let width = c.len_utf8();
            if i > 0 && octets + width > MAX_LINE_OCTETS {
                // The continuation's leading space counts towards its 75 octets.
                self.text.push_str("\r\n ");
                octets = 1;
            }
            self.text.push(c);
            octets += width;
        }
        self.text.push_str("\r\n");
    }

    /// The document text.
    pub(crate) fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_commas_semicolons_backslashes_and_newlines() {
        assert_eq!(
            escape_text("a,b;c\\d\ne\r\nf\rg\u{7}"),
            "a\\,b\\;c\\\\d\\ne\\nf\\ng"
        );
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut doc = Document::default();
        let value = "é".repeat(100);
        doc.line("SUMMARY", &value);
        let text = doc.finish();
        assert!(text.ends_with("\r\n"));
        let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        for line in &lines[1..] {
            assert!(line.starts_with(' '));
        }
        let unfolded: String = lines
            .iter()
            .enumerate()
            .map(|(i, l)| if i == 0 { *l } else { &l[1..] })
            .collect();
        assert_eq!(unfolded, format!("SUMMARY:{value}"));
    }

    #[test]
    fn a_short_line_is_not_folded() {
        let mut doc = Document::default();
        doc.line("UID", "task-1@todo");
        assert_eq!(doc.finish(), "UID:task-1@todo\r\n");
    }
}
