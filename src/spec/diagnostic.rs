//! Plan-file diagnostics: what is wrong, where (file:line:col), and what
//! would be right, rendered with the offending line and a caret underline.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a plan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub help: Option<String>,
    /// The source line and the underline range within it (in chars).
    pub snippet: Option<(String, usize, usize)>,
}

impl Diagnostic {
    /// A diagnostic about the byte range `span` of `source`.
    pub fn at(
        file: &Path,
        source: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        let (line, col, snippet) = match span {
            Some(span) => locate(source, span),
            None => (1, 1, None),
        };
        Diagnostic {
            file: file.to_path_buf(),
            line,
            col,
            message: message.into(),
            help,
            snippet,
        }
    }
}

/// Where a value sits in its plan file, kept with the spec so a problem
/// found later (a subnet AWS does not know) points at the line that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub line: usize,
    pub col: usize,
    pub snippet: Option<(String, usize, usize)>,
}

impl Place {
    /// The place of the byte range `span` of `source`.
    pub fn of(source: &str, span: Range<usize>) -> Place {
        let (line, col, snippet) = locate(source, span);
        Place { line, col, snippet }
    }
}

impl Diagnostic {
    /// A diagnostic about the value at `place` of `file`.
    pub fn at_place(
        file: &Path,
        place: &Place,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: file.to_path_buf(),
            line: place.line,
            col: place.col,
            message: message.into(),
            help,
            snippet: place.snippet.clone(),
        }
    }
}

/// Byte span → 1-based line and column (in chars) plus the line's text and
/// the underline (start, length) in chars.
fn locate(source: &str, span: Range<usize>) -> (usize, usize, Option<(String, usize, usize)>) {
    let start = floor_char_boundary(source, span.start.min(source.len()));
    let end = floor_char_boundary(source, span.end.min(source.len())).max(start);
    let line_start = source[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = source[start..]
        .find('\n')
        .map(|i| start + i)
        .unwrap_or(source.len());
    let line = source[..start].matches('\n').count() + 1;
    let col = source[line_start..start].chars().count() + 1;
    let text = source[line_start..line_end]
        .trim_end_matches('\r')
        .to_string();
    let underline_end = end.min(line_end);
    let len = source[start..underline_end].chars().count().max(1);
    (line, col, Some((text, col - 1, len)))
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        writeln!(
            f,
            "  --> {}:{}:{}",
            self.file.display(),
            self.line,
            self.col
        )?;
        if let Some((text, start, len)) = &self.snippet {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            writeln!(f, "{pad} |")?;
            writeln!(f, "{num} | {text}")?;
            writeln!(f, "{pad} | {}{}", " ".repeat(*start), "^".repeat(*len))?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "  = help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in one plan file.
#[derive(Debug, Clone, thiserror::Error)]
pub struct PlanFileError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for PlanFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            writeln!(f, "{d}")?;
        }
        let n = self.diagnostics.len();
        let file = self
            .diagnostics
            .first()
            .map(|d| d.file.display().to_string())
            .unwrap_or_default();
        write!(
            f,
            "{file}: {n} error{} found",
            if n == 1 { "" } else { "s" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_line_and_column_and_underlines_the_value() {
        let src = "[app]\nname = \"Shop\"\n";
        let start = src.find("\"Shop\"").unwrap();
        let d = Diagnostic::at(
            Path::new("p.toml"),
            src,
            Some(start..start + 6),
            "bad name",
            Some("use lowercase".into()),
        );
        assert_eq!((d.line, d.col), (2, 8));
        let text = d.to_string();
        assert!(text.contains("--> p.toml:2:8"), "{text}");
        assert!(
            text.contains("2 | name = \"Shop\"\n  |        ^^^^^^"),
            "{text}"
        );
    }
}
