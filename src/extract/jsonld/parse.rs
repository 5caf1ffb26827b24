//! Lenient parsing of one JSON-LD block: wrappers, concatenated values,
//! repairs of common breakage.

use std::borrow::Cow;

use serde_json::Value;

/// How one block was read.
pub(super) enum BlockParse {
    /// Valid JSON (possibly several values).
    Clean(Vec<Value>),
    /// Invalid as written, read after a repair.
    Repaired {
        values: Vec<Value>,
        error: String,
        fixes: Vec<&'static str>,
    },
    /// Unreadable; `salvaged` are the values complete before the error.
    Failed { error: String, salvaged: Vec<Value> },
    /// Nothing but white space or wrappers.
    Empty,
}

/// A failed parse: where the failing value starts in the text, the error,
/// and the values read before it.
pub(super) type StreamError = (usize, serde_json::Error, Vec<Value>);

pub(super) fn parse_block(raw: &str) -> BlockParse {
    let (start, body) = strip_wrappers(raw);
    if body.is_empty() {
        return BlockParse::Empty;
    }
    let (seg_start, err, mut salvaged) = match parse_values(body) {
        Ok(values) if values.is_empty() => return BlockParse::Empty,
        Ok(values) => return BlockParse::Clean(values),
        Err(e) => e,
    };
    let error = describe_error(raw, start + seg_start, &err);

    if let Some((fixed, fixes)) = repair(body) {
        match parse_values(&fixed) {
            Ok(values) if !values.is_empty() => {
                return BlockParse::Repaired {
                    values,
                    error,
                    fixes,
                };
            }
            Ok(_) => {}
            Err((_, _, s)) => {
                if s.len() > salvaged.len() {
                    salvaged = s;
                }
            }
        }
    }
    // Only now, since decoding entities in valid JSON could break it.
    if body.contains('&') {
        if let Cow::Owned(decoded) = html_escape::decode_html_entities(body) {
            let (text, mut fixes) = match repair(&decoded) {
                Some((t, f)) => (t, f),
                None => (decoded, Vec::new()),
            };
            fixes.insert(0, "HTML entities decoded");
            match parse_values(&text) {
                Ok(values) if !values.is_empty() => {
                    return BlockParse::Repaired {
                        values,
                        error,
                        fixes,
                    };
                }
                Ok(_) => {}
                Err((_, _, s)) => {
                    if s.len() > salvaged.len() {
                        salvaged = s;
                    }
                }
            }
        }
    }
    BlockParse::Failed { error, salvaged }
}

/// Strips a BOM, white space and `<!-- -->` / CDATA wrappers; returns the
/// byte offset of what remains in `raw`, and what remains.
pub(super) fn strip_wrappers(raw: &str) -> (usize, &str) {
    const OPENERS: [&str; 4] = ["/*<![CDATA[*/", "//<![CDATA[", "<![CDATA[", "<!--"];
    const CLOSERS: [&str; 5] = ["/*]]>*/", "//]]>", "]]>", "//-->", "-->"];
    let mut start = 0;
    let mut s = raw;
    loop {
        let before = s.len();
        let t = s.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        start += s.len() - t.len();
        s = t.trim_end_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        for p in OPENERS {
            if let Some(rest) = s.strip_prefix(p) {
                start += p.len();
                s = rest;
            }
        }
        for p in CLOSERS {
            if let Some(rest) = s.strip_suffix(p) {
                s = rest;
            }
        }
        if s.len() == before {
            return (start, s);
        }
    }
}

/// Reads every JSON value of `s`, one after the other; white space, commas
/// and semicolons between them are skipped.
pub(super) fn parse_values(s: &str) -> Result<Vec<Value>, StreamError> {
    let mut values = Vec::new();
    let mut pos = 0;
    loop {
        pos += s.get(pos..).map_or(0, |r| {
            r.len()
                - r.trim_start_matches([' ', '\t', '\n', '\r', ',', ';'])
                    .len()
        });
        let Some(rest) = s.get(pos..).filter(|r| !r.is_empty()) else {
            return Ok(values);
        };
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(v)) => {
                values.push(v);
                let used = stream.byte_offset();
                if used == 0 {
                    return Ok(values);
                }
                pos += used;
            }
            Some(Err(e)) => return Err((pos, e, values)),
            None => return Ok(values),
        }
    }
}

/// serde_json's message, with the line and column counted in the block as
/// the page has it (before any wrapper was stripped).
pub(super) fn describe_error(raw: &str, seg_start: usize, e: &serde_json::Error) -> String {
    let full = e.to_string();
    let msg = full
        .rfind(" at line ")
        .map_or(full.as_str(), |i| &full[..i]);
    if e.line() == 0 {
        return msg.to_string();
    }
    let bytes = raw.as_bytes();
    let seg = bytes.get(seg_start..).unwrap_or(&[]);
    let mut line = 1;
    let mut line_start = 0;
    for (i, &b) in seg.iter().enumerate() {
        if line == e.line() {
            break;
        }
        if b == b'\n' {
            line += 1;
            line_start = i + 1;
        }
    }
    let abs = (seg_start + line_start + e.column().saturating_sub(1)).min(bytes.len());
    let before = bytes.get(..abs).unwrap_or(bytes);
    let l = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let c = abs
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    format!("{msg} at line {l} column {c}")
}

/// One pass over a broken block that fixes what shops commonly break.
/// Returns `None` when there was nothing to fix.
pub(super) fn repair(s: &str) -> Option<(String, Vec<&'static str>)> {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len() + 64);
    let (mut trailing, mut controls, mut quotes, mut comments, mut escapes) =
        (false, false, false, false, false);
    let next_solid = |from: usize| {
        b.get(from..)
            .and_then(|r| r.iter().find(|c| !c.is_ascii_whitespace()))
            .copied()
    };
    let mut in_str = false;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if in_str {
            match c {
                b'\\' => match b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                        out.extend_from_slice(&b[i..i + 2]);
                        i += 2;
                        continue;
                    }
                    Some(b'u')
                        if b.get(i + 2..i + 6)
                            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
                    {
                        out.extend_from_slice(&b[i..i + 6]);
                        i += 6;
                        continue;
                    }
                    Some(b'\'') => {
                        // PHP's addslashes: `\'` is just a quote.
                        escapes = true;
                    }
                    _ => {
                        escapes = true;
                        out.extend_from_slice(b"\\\\");
                    }
                },
                b'"' => {
                    let n = next_solid(i + 1);
                    let comment_next = n == Some(b'/');
                    if matches!(n, None | Some(b',' | b'}' | b']' | b':')) || comment_next {
                        in_str = false;
                        out.push(c);
                    } else {
                        // A quote inside the text, such as `27" 4K`.
                        quotes = true;
                        out.extend_from_slice(b"\\\"");
                    }
                }
                0x00..=0x1f => {
                    controls = true;
                    match c {
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        _ => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
                    }
                }
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        match c {
            b'"' => {
                in_str = true;
                out.push(c);
            }
            b',' if matches!(next_solid(i + 1), Some(b'}' | b']' | b',')) => trailing = true,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                comments = true;
                while b.get(i).is_some_and(|&x| x != b'\n') {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                comments = true;
                let end = b
                    .get(i + 2..)
                    .and_then(|r| r.windows(2).position(|w| w == b"*/"));
                i = end.map_or(b.len(), |p| i + 2 + p + 2);
                continue;
            }
            0xc2 if b.get(i + 1) == Some(&0xa0) => {
                // A non-breaking space between tokens.
                controls = true;
                out.push(b' ');
                i += 2;
                continue;
            }
            b' ' | b'\t' | b'\n' | b'\r' => out.push(c),
            0x00..=0x1f | 0x7f => controls = true,
            _ => out.push(c),
        }
        i += 1;
    }
    let mut fixes = Vec::new();
    if trailing {
        fixes.push("trailing commas removed");
    }
    if controls {
        fixes.push("control characters escaped");
    }
    if quotes {
        fixes.push("stray quotes escaped");
    }
    if escapes {
        fixes.push("invalid escapes fixed");
    }
    if comments {
        fixes.push("comments removed");
    }
    if fixes.is_empty() {
        return None;
    }
    String::from_utf8(out).ok().map(|s| (s, fixes))
}
