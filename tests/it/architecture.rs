//! The architecture, kept by a test: the pure core (spec, model, decide) and
//! the views (render) import nothing async, nothing of the cloud and run no
//! processes; decisions do not import views; nothing but the shell imports
//! the shell. Folder by folder, as CONTRIBUTING.md draws the map.

use std::path::{Path, PathBuf};

/// What the code in a folder may not mention, and why.
struct Rule {
    folder: &'static str,
    forbidden: Needles,
}

/// Async, cloud, HTTP, processes, threads, clocks: what makes code impure.
const IMPURE: &[(&str, &str)] = &[
    ("tokio", "an async runtime"),
    ("async fn", "async code"),
    (".await", "async code"),
    ("futures::", "async code"),
    ("aws_sdk_", "the AWS SDK"),
    ("aws_config", "the AWS SDK"),
    ("aws_smithy", "the AWS SDK"),
    ("async move", "async code"),
    ("async {", "async code"),
    ("reqwest", "HTTP"),
    ("std::process", "processes"),
    ("std::env", "the environment"),
    ("std::io", "I/O"),
    ("print!", "output"),
    ("eprint!", "output"),
    ("dbg!", "output"),
    ("std::thread", "threads"),
    ("std::net", "the network"),
    ("SystemTime::now", "the clock (the snapshot carries `now`)"),
    ("Instant::now", "the clock (the snapshot carries `now`)"),
    ("indicatif", "the terminal"),
    ("crate::shell", "the shell"),
    ("crate::provider", "the cloud provider"),
];

type Needles = &'static [(&'static str, &'static str)];

/// `base` and `extra` together, for the life of the test binary.
fn with(base: Needles, extra: Needles) -> Needles {
    Box::leak(
        base.iter()
            .chain(extra)
            .copied()
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

fn rules() -> Vec<Rule> {
    let no_output: Needles = &[
        ("std::fs", "files"),
        ("println!", "output (return data or strings)"),
        ("eprintln!", "output (return data or strings)"),
    ];
    let core = with(
        with(IMPURE, no_output),
        &[("crate::render", "views (decisions return data)")],
    );
    vec![
        // The plan file reader may read the one file it is given (spec::load).
        Rule {
            folder: "spec",
            forbidden: with(
                IMPURE,
                &[
                    ("crate::render", "views"),
                    (
                        "crate::decide",
                        "decisions (the plan file knows nothing of them)",
                    ),
                ],
            ),
        },
        Rule {
            folder: "model",
            forbidden: with(
                core,
                &[("crate::decide", "decisions (data knows nothing of them)")],
            ),
        },
        Rule {
            folder: "decide",
            forbidden: core,
        },
        Rule {
            folder: "render",
            forbidden: with(IMPURE, no_output),
        },
        // Each kind of check, from its keys to its verdict: pure; the shell
        // runs and the provider reads what a check needs.
        Rule {
            folder: "gate",
            forbidden: with(
                core,
                &[("crate::decide", "decisions (a check knows nothing of them)")],
            ),
        },
        // cutover's conventions in the cloud, once for both providers: pure,
        // so the sandbox and AWS read and write them the same way.
        Rule {
            folder: "provider/convention",
            forbidden: with(
                core,
                &[(
                    "crate::decide",
                    "decisions (the cloud's conventions know nothing of them)",
                )],
            ),
        },
        Rule {
            folder: "provider",
            forbidden: &[
                (
                    "crate::shell",
                    "the shell (providers serve it, not the reverse)",
                ),
                ("crate::render", "views"),
            ],
        },
    ]
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Code of a file without its comments and without the items marked
/// `#[cfg(test)]` (unit tests may use what they like), with line numbers.
/// A `use` with braces also comes back as each path it names in full, so
/// `use std::{fs, process::Command};` is seen as `std::process::Command`.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start() == "#[cfg(test)]" {
            i = after_item(&lines, i + 1);
            continue;
        }
        let code = without_comment(lines[i]).to_string();
        let trimmed = code.trim_start();
        if trimmed.starts_with("use ") || trimmed.starts_with("pub use ") {
            let mut statement = String::new();
            let mut j = i;
            while j < lines.len() {
                statement.push_str(without_comment(lines[j]).trim());
                if statement.ends_with(';') {
                    break;
                }
                j += 1;
            }
            let body = statement
                .trim_start_matches("pub ")
                .trim_start_matches("use ");
            if body.contains('{') {
                for path in expand_use("", body.trim_end_matches(';')) {
                    out.push((i + 1, format!("use {path};")));
                }
            }
        }
        out.push((i + 1, code));
        i += 1;
    }
    out
}

/// The line after the item that starts at `start`: a block to its closing
/// brace at the same indentation, or one line.
fn after_item(lines: &[&str], start: usize) -> usize {
    let Some(first) = lines.get(start) else {
        return start;
    };
    if !first.trim_end().ends_with('{') {
        return start + 1;
    }
    let indent = &first[..first.len() - first.trim_start().len()];
    let close = format!("{indent}}}");
    (start + 1..lines.len())
        .find(|&j| lines[j].trim_end() == close)
        .map(|j| j + 1)
        .unwrap_or(lines.len())
}

/// Every path a `use` tree names: "a::{b, c::{d, e}}" → a::b, a::c::d, a::c::e.
fn expand_use(prefix: &str, tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![format!("{prefix}{tree}")];
    };
    let head = format!("{prefix}{}", &tree[..open]);
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut from) = (0, 0);
    for (k, ch) in inner.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[from..k]);
                from = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[from..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand_use(&head, p))
        .collect()
}

/// `line` up to a `//` comment; a `//` inside a string ("http://…") is code.
fn without_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            // The character literal '"' opens no string.
            b'\'' if !in_string && line[i..].starts_with("'\"'") => i += 2,
            b'"' => in_string = !in_string,
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

/// `needle` in `code`, not as the start of a longer name (`.await` is not
/// `.awaits_promotion`); a needle ending in `_` or `::` is a prefix on
/// purpose (`aws_sdk_` is every SDK crate).
fn mentions(code: &str, needle: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let word = needle.ends_with(|c: char| c.is_alphanumeric());
    code.match_indices(needle).any(|(at, _)| {
        let next = code[at + needle.len()..].chars().next();
        !(word && next.is_some_and(ident))
    })
}

/// Every breach of `rule` in the file `text`, as "path:line: uses X (why)".
fn breaches(path: &str, text: &str, rule: &Rule) -> Vec<String> {
    let mut out = Vec::new();
    for (n, code) in code_lines(text) {
        for (needle, why) in rule.forbidden {
            if mentions(&code, needle) {
                out.push(format!(
                    "{path}:{n}: `{needle}` brings {why} into {}/",
                    rule.folder
                ));
            }
        }
    }
    out
}

#[test]
fn pure_core_and_views_have_no_io_and_layers_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    for rule in rules() {
        let mut files = Vec::new();
        rust_files(&src.join(rule.folder), &mut files);
        assert!(!files.is_empty(), "src/{} has no Rust files", rule.folder);
        for f in files {
            let text = std::fs::read_to_string(&f).expect("source file");
            let shown = f.strip_prefix(&src).unwrap().display().to_string();
            all.extend(breaches(&shown, &text, &rule));
        }
    }
    assert!(
        all.is_empty(),
        "the architecture is broken (see CONTRIBUTING.md):\n{}",
        all.join("\n")
    );
}

#[test]
fn the_check_catches_a_breach_and_ignores_comments_and_unit_tests() {
    let rule = &rules()[2];
    let text = [
        "use crate::model::Color;",
        "// tokio is not used here",
        "use tokio::time::sleep;",
        "let u = \"http://x\"; // reqwest",
        "if t.awaits_promotion && c == '\"' { x.await }",
        "use aws_sdk_ec2 as ec2;",
        "use std::{fmt, process::Command};",
        "use crate::{",
        "    model::Color,",
        "    shell::lock,",
        "};",
        "#[cfg(test)]",
        "use std::thread;",
        "#[cfg(test)]",
        "mod tests {",
        "    use std::net::TcpStream;",
        "}",
        "fn after_the_tests() { std::fs::read(\"x\"); }",
    ]
    .join("\n");
    let found = breaches("decide/x.rs", &text, rule);
    let at: Vec<&str> = found
        .iter()
        .map(|f| f.split(" brings").next().unwrap())
        .collect();
    assert_eq!(
        at,
        [
            "decide/x.rs:3: `tokio`",
            "decide/x.rs:5: `.await`",
            "decide/x.rs:6: `aws_sdk_`",
            "decide/x.rs:7: `std::process`",
            "decide/x.rs:8: `crate::shell`",
            "decide/x.rs:18: `std::fs`",
        ],
        "{found:#?}"
    );
}

#[test]
fn every_source_file_lives_in_a_folder_of_the_map() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let top: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !["lib.rs", "main.rs"].contains(&n.as_str()))
        .collect();
    let mut top = top;
    top.sort();
    assert_eq!(
        top,
        ["decide", "gate", "model", "provider", "render", "shell", "spec"],
        "a new top-level module belongs in one of the folders (CONTRIBUTING.md)"
    );
}

/// The most lines a function may have without saying why.
const MAX_FUNCTION_LINES: usize = 80;

/// Functions longer than [`MAX_FUNCTION_LINES`] whose comments do not say
/// why with a line containing "Long:", as "path:line: name (n lines)".
fn long_functions(path: &str, text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let signature = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "pub(super) fn ",
            "async fn ",
        ]
        .iter()
        .chain(&[
            "pub async fn ",
            "pub(crate) async fn ",
            "pub(super) async fn ",
        ])
        .any(|p| code.starts_with(p));
        if !signature {
            continue;
        }
        // A declaration (a trait method without a body) ends in ';' first.
        let Some(open) = (i..lines.len()).find(|&j| {
            let t = lines[j].trim_end();
            t.ends_with('{') || t.ends_with(';')
        }) else {
            continue;
        };
        if lines[open].trim_end().ends_with(';') {
            continue;
        }
        let indent = &line[..line.len() - code.len()];
        let close = format!("{indent}}}");
        let Some(end) = (open..lines.len()).find(|&j| lines[j] == close) else {
            continue;
        };
        let n = end - i + 1;
        let explained = lines[..i]
            .iter()
            .rev()
            .take_while(|l| {
                let t = l.trim_start();
                t.starts_with("//") || t.starts_with("#[")
            })
            .any(|l| l.contains("Long:"));
        if n > MAX_FUNCTION_LINES && !explained {
            let name = code
                .split("fn ")
                .nth(1)
                .unwrap_or("")
                .split(['(', '<'])
                .next()
                .unwrap();
            out.push(format!("{path}:{}: {name} ({n} lines)", i + 1));
        }
    }
    out
}

#[test]
fn no_function_is_over_80_lines_without_saying_why() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut long = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source file");
        let shown = f.strip_prefix(&src).unwrap().display().to_string();
        long.extend(long_functions(&shown, &text));
    }
    assert!(
        long.is_empty(),
        "split these, or say why they are long in a comment line with \"Long:\":\n{}",
        long.join("\n")
    );
}

#[test]
fn the_length_check_counts_bodies_and_skips_declarations() {
    let body: String = (0..85).map(|i| format!("    let x{i} = {i};\n")).collect();
    let long =
        format!("trait T {{\n    fn declared(&self) -> u32;\n}}\n\nfn long() {{\n{body}}}\n");
    assert_eq!(long_functions("x.rs", &long), ["x.rs:5: long (87 lines)"]);
    let explained = format!("// Long: a table.\nfn long() {{\n{body}}}\n");
    assert!(long_functions("x.rs", &explained).is_empty());
}

/// The most lines an `impl` block may have: a longer one holds more than
/// one concern, and its file splits by them.
const MAX_IMPL_LINES: usize = 400;

/// `impl` blocks longer than [`MAX_IMPL_LINES`], from the `impl` line to
/// its closing brace, as "path:line: impl Name (n lines)". Unit tests
/// (`#[cfg(test)]` items) are skipped.
fn long_impls(path: &str, text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let code = lines[i].trim_start();
        if code == "#[cfg(test)]" {
            i = after_item(&lines, i + 1);
            continue;
        }
        let is_impl = ["impl ", "impl<", "unsafe impl "]
            .iter()
            .any(|p| code.starts_with(p));
        // The block opens where the header ends (a `where` clause may
        // span lines); `impl X for Y {}` has no body.
        let open = is_impl.then(|| {
            (i..lines.len()).find(|&j| {
                let t = lines[j].trim_end();
                t.ends_with('{') || t.ends_with('}') || t.ends_with(';')
            })
        });
        let Some(open) = open
            .flatten()
            .filter(|&j| lines[j].trim_end().ends_with('{'))
        else {
            i += 1;
            continue;
        };
        let indent = &lines[i][..lines[i].len() - code.len()];
        let close = format!("{indent}}}");
        let end = (open + 1..lines.len())
            .find(|&j| lines[j].trim_end() == close)
            .unwrap_or(lines.len() - 1);
        let n = end - i + 1;
        if n > MAX_IMPL_LINES {
            let name = code.trim_end_matches('{').trim_end();
            out.push(format!("{path}:{}: {name} ({n} lines)", i + 1));
        }
        i += 1;
    }
    out
}

/// Files whose long impl blocks are being split in another change (a path
/// under src/, each with the reason in a comment); a file leaves the list
/// when its split lands.
#[test]
fn no_impl_block_is_over_400_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut long = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source file");
        let shown = f.strip_prefix(&src).unwrap().display().to_string();
        long.extend(long_impls(&shown, &text));
    }
    assert!(
        long.is_empty(),
        "split these impl blocks by concern, a file each (at most {MAX_IMPL_LINES} lines):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_impl_check_counts_to_the_closing_brace_and_skips_unit_tests() {
    let body: String = (0..400)
        .map(|i| format!("    fn f{i}(&self) {{}}\n"))
        .collect();
    let text = [
        "struct S;".to_string(),
        format!("impl S {{\n{body}}}"),
        "impl Clone for S {}".to_string(),
        format!("impl<T> From<T> for S\nwhere\n    T: Copy,\n{{\n{body}}}"),
        "impl Default for S {\n    fn default() -> S {\n        S\n    }\n}".to_string(),
        format!("#[cfg(test)]\nmod tests {{\n    impl super::S {{\n{body}    }}\n}}"),
    ]
    .join("\n");
    assert_eq!(
        long_impls("x.rs", &text),
        [
            "x.rs:2: impl S (402 lines)",
            "x.rs:405: impl<T> From<T> for S (405 lines)",
        ]
    );
    let short: String = (0..398).map(|i| format!("    fn f{i}() {{}}\n")).collect();
    assert!(long_impls("x.rs", &format!("impl S {{\n{short}}}\n")).is_empty());
}

/// A source file's module path: "provider/aws/observe.rs" is
/// provider::aws::observe, "provider/aws/mod.rs" provider::aws.
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// The files `text` (the file of module `module`) imports from: every
/// `use` and every `crate::…` or `super::…` path, each taken to the file
/// of the longest module it names.
fn imports(module: &[String], text: &str, files: &[Vec<String>]) -> Vec<Vec<String>> {
    let is_dir = |m: &[String]| files.iter().any(|f| f.len() > m.len() && f.starts_with(m));
    let mut out = Vec::new();
    let mut add = |path: Vec<String>| {
        let found = (1..=path.len())
            .rev()
            .map(|k| path[..k].to_vec())
            .find(|m| files.contains(m));
        if let Some(m) = found.filter(|m| m.as_slice() != module) {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    };
    for (_, code) in code_lines(text) {
        let words = code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'));
        for word in words.filter(|w| w.contains("::")) {
            let mut segments: Vec<String> = word
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let base: Vec<String> = match segments.first().map(String::as_str) {
                Some("crate") => {
                    segments.remove(0);
                    Vec::new()
                }
                Some("super") => {
                    let mut base = module.to_vec();
                    while segments.first().is_some_and(|s| s == "super") {
                        segments.remove(0);
                        base.pop();
                    }
                    base
                }
                Some("self") => {
                    segments.remove(0);
                    module.to_vec()
                }
                // A child module of a folder's mod.rs, named bare.
                Some(first)
                    if is_dir(module) && {
                        let mut child = module.to_vec();
                        child.push(first.to_string());
                        files.contains(&child)
                    } =>
                {
                    module.to_vec()
                }
                _ => continue,
            };
            add(base.into_iter().chain(segments).collect());
        }
    }
    out
}

#[test]
fn no_two_files_import_each_other_even_through_others() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let files: Vec<Vec<String>> = paths
        .iter()
        .map(|p| module_of(p.strip_prefix(&src).unwrap()))
        .collect();
    // A folder's mod.rs and the files in it may use each other (a type
    // and the impl blocks of its concerns); any other import is an edge.
    let related = |a: &[String], b: &[String]| a.starts_with(b) || b.starts_with(a);
    let edges: Vec<Vec<usize>> = paths
        .iter()
        .zip(&files)
        .map(|(p, m)| {
            let text = std::fs::read_to_string(p).expect("source file");
            imports(m, &text, &files)
                .into_iter()
                .filter(|d| !related(m, d))
                .filter_map(|d| files.iter().position(|f| *f == d))
                .collect()
        })
        .collect();
    // A file that reaches itself again is on a cycle.
    let name = |i: usize| format!("{}", paths[i].strip_prefix(&src).unwrap().display());
    let mut cycles = Vec::new();
    for start in 0..files.len() {
        let mut seen = vec![false; files.len()];
        let mut stack: Vec<(usize, Vec<usize>)> = vec![(start, vec![start])];
        while let Some((at, trail)) = stack.pop() {
            for &next in &edges[at] {
                if next == start {
                    let shown: Vec<String> = trail.iter().map(|&i| name(i)).collect();
                    cycles.push(format!("{} -> {}", shown.join(" -> "), name(start)));
                } else if !seen[next] {
                    seen[next] = true;
                    let mut longer = trail.clone();
                    longer.push(next);
                    stack.push((next, longer));
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "files import each other (move what both need into a third file):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_cycle_check_sees_an_import_through_super_and_crate() {
    let files: Vec<Vec<String>> = [
        "decide/planner",
        "decide/planner/release",
        "decide/planner/steady",
        "model",
    ]
    .iter()
    .map(|m| m.split('/').map(str::to_string).collect())
    .collect();
    let module: Vec<String> = vec!["decide".into(), "planner".into(), "steady".into()];
    let text = "use super::{release, Builder};\nfn f() { crate::model::Color::Blue; }\n// super::nothing\n";
    let found: Vec<String> = imports(&module, text, &files)
        .into_iter()
        .map(|m| m.join("/"))
        .collect();
    assert_eq!(found, ["decide/planner/release", "decide/planner", "model"]);
}

#[test]
fn every_path_contributing_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("CONTRIBUTING.md")).expect("CONTRIBUTING.md");
    // Each `a/b` in backticks: a path from the repository or from src/
    // (`target/` is made by cargo).
    let missing: Vec<&str> = text
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|p| p.contains('/') && !p.contains(' ') && *p != "target/")
        .filter(|p| p.chars().all(|c| c.is_alphanumeric() || "_./-".contains(c)))
        .filter(|p| !root.join(p).exists() && !root.join("src").join(p).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "CONTRIBUTING.md names paths that do not exist: {missing:?}"
    );
}
