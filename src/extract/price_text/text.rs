//! The text as characters: folded, spaced, superscripts read; and the
//! small matchers the other steps use on it.

const SPACES: [char; 6] = ['\u{a0}', '\u{202f}', '\u{2009}', '\u{2007}', '\t', '\n'];
const INVISIBLE: [char; 5] = ['\u{200b}', '\u{200c}', '\u{200d}', '\u{feff}', '\u{ad}'];

fn superscript_digit(c: char) -> Option<char> {
    match c {
        '⁰' => Some('0'),
        '¹' => Some('1'),
        '²' => Some('2'),
        '³' => Some('3'),
        '\u{2074}'..='\u{2079}' => char::from_digit(c as u32 - 0x2070, 10),
        _ => None,
    }
}

/// Lower-cased letters without their accents, one apostrophe, one dash.
fn fold(c: char, out: &mut Vec<char>) {
    let f = match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'ą' => 'a',
        'ç' | 'č' | 'ć' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ě' | 'ę' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ů' => 'u',
        'ý' | 'ÿ' => 'y',
        'ł' => 'l',
        'ś' | 'š' => 's',
        'ž' | 'ź' | 'ż' => 'z',
        'ř' => 'r',
        'ß' => {
            out.extend(['s', 's']);
            return;
        }
        'æ' => {
            out.extend(['a', 'e']);
            return;
        }
        '’' | '‘' | '`' | '´' => '\'',
        '−' | '–' | '—' | '‐' | '‑' | '‒' => '-',
        c => c,
    };
    out.push(f);
}

/// The text as characters: folded, one space between words, superscript
/// cents ("49⁹⁹") as decimals, footnote marks ("UVP¹") dropped.
pub(super) fn normalize(text: &str) -> Result<Vec<char>, &'static str> {
    let src: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        let ch = src[i];
        if superscript_digit(ch).is_some() {
            let mut run = Vec::new();
            while let Some(d) = src.get(i).copied().and_then(superscript_digit) {
                run.push(d);
                i += 1;
            }
            let last = out.last().copied();
            let before_last = out.len().checked_sub(2).and_then(|k| out.get(k)).copied();
            let digit_before = before_last.is_some_and(|c| c.is_ascii_digit());
            if last.is_some_and(|c| c.is_ascii_digit()) {
                if run.len() != 2 {
                    return Err("superscript digits right after a number");
                }
                out.push(',');
                out.extend(run);
            } else if matches!(last, Some(',' | '.')) && digit_before {
                if run.len() != 2 {
                    return Err("superscript digits right after a number");
                }
                out.extend(run);
            } else if last == Some('€') && digit_before && run.len() == 2 {
                out.extend(run);
            } else if last.is_some_and(|c| c != ' ') {
                // Elsewhere a superscript is a footnote mark, and a word
                // break ("kg¹EUR").
                out.push(' ');
            }
            continue;
        }
        i += 1;
        if INVISIBLE.contains(&ch) {
            continue;
        }
        if ch.is_whitespace() || SPACES.contains(&ch) {
            if out.last().is_some_and(|c| *c != ' ') {
                out.push(' ');
            }
            continue;
        }
        if ch.is_numeric() && !ch.is_ascii_digit() {
            return Err("digits of another script");
        }
        for l in ch.to_lowercase() {
            fold(l, &mut out);
        }
    }
    while out.last() == Some(&' ') {
        out.pop();
    }
    Ok(out)
}

/// `p` at `c[i..]`, standing alone when it starts or ends with a letter.
#[inline]
pub(super) fn matches_at(c: &[char], i: usize, p: &str) -> Option<usize> {
    let mut k = i;
    for pc in p.chars() {
        if c.get(k) != Some(&pc) {
            return None;
        }
        k += 1;
    }
    let first = p.chars().next()?;
    let last = p.chars().last()?;
    if first.is_alphabetic() && i > 0 && c.get(i - 1).is_some_and(|x| x.is_alphabetic()) {
        return None;
    }
    if last.is_alphabetic() && c.get(k).is_some_and(|x| x.is_alphabetic()) {
        return None;
    }
    Some(k)
}

/// The longest word of `words` at `c[i..]`.
#[inline]
pub(super) fn word_at(c: &[char], i: usize, words: &[&str]) -> Option<usize> {
    words.iter().filter_map(|w| matches_at(c, i, w)).max()
}

/// The position after `end`, past one space.
#[inline]
pub(super) fn skip_space(c: &[char], end: usize) -> usize {
    if c.get(end) == Some(&' ') {
        end + 1
    } else {
        end
    }
}
