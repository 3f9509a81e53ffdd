//! Text made safe for the page: HTML escaping of every string that comes
//! from disk (block names, reasons, paths, statistic names and values), and
//! base64 for the `data:` URIs of embedded images.

/// `text` with `& < > " '` replaced by entities: safe in element content and
/// in quoted attribute values.
pub(crate) fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and line breaks are not
            // allowed in HTML text; show them as the replacement character.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// At most `most` characters of `text`, with an ellipsis when cut.
pub(crate) fn truncate(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(most.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648).
pub(crate) fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A `data:` URI of `bytes` of type `mime`.
pub(crate) fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", base64(bytes))
}

/// A number for a table cell: integers as they are, others with at most 5
/// significant digits, exponent form for very large or small magnitudes.
pub(crate) fn number(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs();
    if value.fract() == 0.0 && magnitude < 1e15 {
        return format!("{value:.0}");
    }
    if magnitude != 0.0 && !(1e-3..1e6).contains(&magnitude) {
        let text = format!("{value:.3e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        return format!("{}e{exponent}", trim_zeros(mantissa));
    }
    let decimals = if magnitude == 0.0 {
        0
    } else {
        (4 - magnitude.log10().floor() as i32).clamp(0, 7) as usize
    };
    trim_zeros(&format!("{value:.decimals$}"))
}

fn trim_zeros(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text.to_owned()
    }
}

/// Seconds for people: `0.42 ms`, `12.3 ms`, `1.25 s`, `3 min 20 s`, `2 h 5 min`.
pub(crate) fn seconds(value: f64) -> String {
    if !value.is_finite() || value < 0.0 {
        return "?".to_owned();
    }
    if value < 1.0 {
        let ms = value * 1e3;
        let decimals = match ms {
            _ if ms < 10.0 => 2,
            _ if ms < 100.0 => 1,
            _ => 0,
        };
        return format!("{} ms", trim_zeros(&format!("{ms:.decimals$}")));
    }
    if value < 60.0 {
        return format!("{} s", trim_zeros(&format!("{value:.2}")));
    }
    let whole = value.round() as u64;
    if whole < 3600 {
        return format!("{} min {} s", whole / 60, whole % 60);
    }
    format!("{} h {} min", whole / 3600, (whole % 3600) / 60)
}

/// `1234567` as `1,234,567`, as the charts write counts.
pub(crate) fn count(value: u64) -> String {
    crate::plot::thousands(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            html(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(html("a\u{0}b\tc"), "a\u{fffd}b\tc");
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.1 + 0.2), "0.3");
        assert_eq!(number(1234.56789), "1234.6");
        assert_eq!(number(1.5e-7), "1.5e-7");
        assert_eq!(number(0.0), "0");
        assert_eq!(seconds(0.000_42), "0.42 ms");
        assert_eq!(seconds(0.087_225), "87.2 ms");
        assert_eq!(seconds(0.000_087_2), "0.09 ms");
        assert_eq!(seconds(1.254), "1.25 s");
        assert_eq!(seconds(200.0), "3 min 20 s");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
