//! The words of a quick-add line: what each recogniser matches against, and what is left for the title.

/// One whitespace-separated word: its text as typed and the key recognisers compare (lower case, without
/// trailing punctuation such as `,` or `.`).
#[derive(Debug)]
struct Word<'a> {
    text: &'a str,
    key: String,
    used: bool,
}

/// A line split into words, each either still free or claimed by a recogniser.
#[derive(Debug)]
pub(crate) struct Words<'a> {
    words: Vec<Word<'a>>,
}

impl<'a> Words<'a> {
    /// Splits `text` on whitespace.
    pub(crate) fn new(text: &'a str) -> Self {
        let words = text
            .split_whitespace()
            .map(|text| Word {
                text,
                key: key_of(text),
                used: false,
            })
            .collect();
        Self { words }
    }

    /// Finds the first run of free words that `matcher` recognises, claims it and returns its value.
    /// `matcher` sees the keys of the free words from a position on, and answers how many it takes.
    pub(crate) fn claim<T>(
        &mut self,
        matcher: impl Fn(&[&str]) -> Option<(usize, T)>,
    ) -> Option<T> {
        for start in 0..self.words.len() {
            let keys: Vec<&str> = self.words[start..]
                .iter()
                .take_while(|w| !w.used)
                .map(|w| w.key.as_str())
                .collect();
            if keys.is_empty() {
                continue;
            }
            if let Some((taken, value)) = matcher(&keys) {
                if taken > 0 && taken <= keys.len() {
                    self.words[start..start + taken]
                        .iter_mut()
                        .for_each(|w| w.used = true);
                    return Some(value);
                }
            }
        }
        None
    }

    /// Claims every single free word `matcher` recognises, in order, as typed (case kept).
    pub(crate) fn claim_each<T>(&mut self, matcher: impl Fn(&str) -> Option<T>) -> Vec<T> {
        let mut found = Vec::new();
        for word in self.words.iter_mut().filter(|w| !w.used) {
            if let Some(value) = matcher(word.text) {
                word.used = true;
                found.push(value);
            }
        }
        found
    }

    /// The free words joined by single spaces: the title.
    pub(crate) fn rest(&self) -> String {
        let free: Vec<&str> = self
            .words
            .iter()
            .filter(|w| !w.used)
            .map(|w| w.text)
            .collect();
        free.join(" ")
    }
}

fn key_of(text: &str) -> String {
    text.trim_end_matches([',', '.', ';', '?']).to_lowercase()
}

/// A whole number written in ASCII digits, saturating at `u64::MAX` (so a huge number is recognised and
/// then refused as out of range, rather than read as words).
pub(crate) fn number(key: &str) -> Option<u64> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(key.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// A day of the month written as an ordinal (`1st`, `22nd`, `31st`) or a bare number, 1..=31.
pub(crate) fn day_of_month(key: &str) -> Option<u32> {
    let digits = key.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &key[digits.len()..];
    if !matches!(suffix, "" | "st" | "nd" | "rd" | "th") {
        return None;
    }
    number(digits)
        .filter(|d| (1..=31).contains(d))
        .and_then(|d| u32::try_from(d).ok())
}

/// A day of the month written as an ordinal only (`1st`, `22nd`), 1..=31.
pub(crate) fn ordinal_day(key: &str) -> Option<u32> {
    key.ends_with(|c: char| c.is_ascii_alphabetic())
        .then(|| day_of_month(key))
        .flatten()
}
