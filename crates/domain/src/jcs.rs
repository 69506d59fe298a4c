//! RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of a JSON
//! value that the evidence log hashes and signs.
//!
//! - Objects: members sorted by the UTF-16 code units of their names
//!   (RFC 8785 §3.2.3), no whitespace anywhere.
//! - Strings (§3.2.2.2): only `"`, `\` and the control characters below
//!   U+0020 are escaped; `\b \t \n \f \r` use their short forms, the other
//!   controls `\u00xx` with lowercase hex. `/` and non-ASCII characters are
//!   written as they are (UTF-8).
//! - Numbers (§3.2.2.3): as ECMAScript's `Number.prototype.toString`: the
//!   shortest digits that round-trip (from `ryu`), integers without `.0`,
//!   `-0` as `0`, plain decimals for 1e-6 ≤ |x| < 1e21 and exponent form
//!   (`1e+21`, `1e-7`, `1.5e+300`) outside that range.
//! - `null`, `true`, `false` as literals.
//!
//! One deliberate extension: integers that `serde_json` holds as `u64`/`i64`
//! are written with all their digits. For |n| ≤ 2^53 this is exactly what
//! RFC 8785 prescribes; above that an ECMAScript implementation would first
//! round the value to the nearest double, which would silently change an
//! identifier, so this module keeps the exact integer instead. Records that
//! must interoperate with other JCS implementations should keep integers
//! within ±2^53 (money in fen always is).
//!
//! [`canonicalize`] parses JSON text strictly (I-JSON, RFC 7493) with its
//! own parser (numbers correctly rounded): duplicate member names, lone
//! surrogates, invalid UTF-8, NaN, Infinity, numbers beyond the range of a
//! double and nesting deeper than 128 are refused.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

/// Why JSON text could not be canonicalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// The bytes are not one well-formed JSON value (or a number is out of
    /// the range of a double, or a string holds a lone surrogate).
    #[error("not valid JSON: {0}")]
    Parse(String),
    /// An object has two members with the same name (I-JSON forbids it).
    #[error("duplicate member name {0:?} in an object")]
    DuplicateKey(String),
}

/// The canonical (RFC 8785) bytes of `v`.
pub fn to_vec(v: &Value) -> Vec<u8> {
    to_string(v).into_bytes()
}

/// The canonical (RFC 8785) text of `v`.
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

/// Parses JSON text strictly and returns its canonical bytes.
pub fn canonicalize(json_bytes: &[u8]) -> Result<Vec<u8>, JcsError> {
    Ok(to_vec(&parse_strict(json_bytes)?))
}

/// Parses JSON text strictly (as [`canonicalize`] does) into a value.
///
/// The parser is this module's own rather than `serde_json`'s, because
/// `serde_json` (without its `float_roundtrip` feature) may round a decimal
/// number to a neighbouring double, which would make canonical text look
/// non-canonical; `str::parse::<f64>` is correctly rounded.
pub fn parse_strict(json_bytes: &[u8]) -> Result<Value, JcsError> {
    let text = std::str::from_utf8(json_bytes)
        .map_err(|e| JcsError::Parse(format!("not UTF-8 (at byte {})", e.valid_up_to())))?;
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    let v = p.value()?;
    p.skip_ws();
    if p.pos != p.bytes.len() {
        return Err(p.error("trailing characters after the JSON value"));
    }
    Ok(v)
}

/// How deeply arrays and objects may nest.
const MAX_DEPTH: usize = 128;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> JcsError {
        JcsError::Parse(format!("{what} at byte {}", self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, b: u8) -> Result<(), JcsError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", b as char)))
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, JcsError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.error("unexpected characters"))
        }
    }

    fn value(&mut self) -> Result<Value, JcsError> {
        match self.peek() {
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a JSON value")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<Value, JcsError>) -> Result<Value, JcsError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.depth += 1;
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn object(&mut self) -> Result<Value, JcsError> {
        self.expect(b'{')?;
        let mut map = Map::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name"));
            }
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let value = self.value()?;
            if map.contains_key(&key) {
                return Err(JcsError::DuplicateKey(key));
            }
            map.insert(key, value);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, JcsError> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value()?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JcsError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("expected four hex digits after \\u"))?;
        let v = u32::from_str_radix(digits, 16).map_err(|_| self.error("bad \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, JcsError> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // Both ends are at ASCII bytes (or the end), so on char boundaries.
            out.push_str(&self.text[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.error("unterminated escape"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            out.push(c);
                        }
                        _ => return Err(self.error("unknown escape")),
                    }
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// After `\u`: one code point, from a surrogate pair if need be.
    fn unicode_escape(&mut self) -> Result<char, JcsError> {
        let hi = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&hi) {
            if !self.bytes[self.pos..].starts_with(b"\\u") {
                return Err(self.error("lone leading surrogate"));
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xdc00..0xe000).contains(&lo) {
                return Err(self.error("lone leading surrogate"));
            }
            0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
        } else if (0xdc00..0xe000).contains(&hi) {
            return Err(self.error("lone trailing surrogate"));
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.error("bad \\u escape"))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, JcsError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("expected a digit")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("expected a digit after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            integer = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("expected a digit in the exponent"));
            }
        }
        let text = &self.text[start..self.pos];
        if integer {
            if negative {
                if let Ok(i) = text.parse::<i64>() {
                    return Ok(Value::Number(i.into()));
                }
            } else if let Ok(u) = text.parse::<u64>() {
                return Ok(Value::Number(u.into()));
            }
        }
        let f = text.parse::<f64>().map_err(|_| self.error("bad number"))?;
        Number::from_f64(f).map(Value::Number).ok_or_else(|| {
            JcsError::Parse(format!("number {text} is out of range at byte {start}"))
        })
    }
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| utf16_cmp(a.0, b.0));
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// Compares two strings by their UTF-16 code units (RFC 8785 §3.2.3).
pub fn utf16_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else if let Some(f) = n.as_f64() {
        out.push_str(&format_f64(f));
    } else {
        // Unreachable: a serde_json number is always one of the three. Keep
        // serde_json's own text rather than panic.
        out.push_str(&n.to_string());
    }
}

/// A finite double as ECMAScript's `Number.prototype.toString` writes it
/// (ECMA-262 Number::toString, RFC 8785 §3.2.2.3). Not-finite values, which
/// JSON cannot hold, are written `null`.
pub fn format_f64(x: f64) -> String {
    if !x.is_finite() {
        return "null".to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let mut buf = ryu::Buffer::new();
    let shortest = buf.format_finite(x.abs());
    let (digits, n) = decimal_digits(shortest);
    let k = digits.len() as i64;
    let mut out = String::new();
    if x < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        // An integer: the digits and n − k zeros.
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        let e = n - 1;
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        out.push_str(&e.unsigned_abs().to_string());
    }
    out
}

/// Splits ryu's output (`"1.5e-7"`, `"123.0"`, `"0.001"`, `"1e21"`) into the
/// significant digits `s` (no leading or trailing zeros) and the exponent `n`
/// such that the value is `0.s × 10^n`, i.e. `s × 10^(n − k)`.
fn decimal_digits(shortest: &str) -> (String, i64) {
    let (mantissa, exp) = match shortest.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => (shortest, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut point = int_part.len() as i64 + exp;
    let all: String = int_part.chars().chain(frac_part.chars()).collect();
    let trimmed_start = all.trim_start_matches('0');
    point -= (all.len() - trimmed_start.len()) as i64;
    let digits = trimmed_start.trim_end_matches('0').to_string();
    (digits, point)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        String::from_utf8(canonicalize(s.as_bytes()).expect("valid JSON")).expect("UTF-8")
    }

    /// RFC 8785 Appendix B: IEEE 754 bit patterns and their JCS text.
    #[test]
    fn appendix_b_number_vectors() {
        let vectors: &[(u64, &str)] = &[
            (0x0000000000000000, "0"),
            (0x8000000000000000, "0"),
            (0x0000000000000001, "5e-324"),
            (0x8000000000000001, "-5e-324"),
            (0x7fefffffffffffff, "1.7976931348623157e+308"),
            (0xffefffffffffffff, "-1.7976931348623157e+308"),
            (0x4340000000000000, "9007199254740992"),
            (0xc340000000000000, "-9007199254740992"),
            (0x4430000000000000, "295147905179352830000"),
            (0x44b52d02c7e14af5, "9.999999999999997e+22"),
            (0x44b52d02c7e14af6, "1e+23"),
            (0x44b52d02c7e14af7, "1.0000000000000001e+23"),
            (0x444b1ae4d6e2ef4e, "999999999999999700000"),
            (0x444b1ae4d6e2ef4f, "999999999999999900000"),
            (0x444b1ae4d6e2ef50, "1e+21"),
            (0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"),
            (0x3eb0c6f7a0b5ed8d, "0.000001"),
            (0x41b3de4355555553, "333333333.3333332"),
            (0x41b3de4355555554, "333333333.33333325"),
            (0x41b3de4355555555, "333333333.3333333"),
            (0x41b3de4355555556, "333333333.3333334"),
            (0x41b3de4355555557, "333333333.33333343"),
            (0xbecbf647612f3696, "-0.0000033333333333333333"),
            (0x43143ff3c1cb0959, "1424953923781206.2"),
            // An exact tie between two 17-digit candidates: the even one.
            (0x4317_9085_685d_83c9, "1658206780088562.2"),
        ];
        for &(bits, expected) in vectors {
            let x = f64::from_bits(bits);
            assert_eq!(format_f64(x), expected, "{bits:016x}");
            if let Some(n) = Number::from_f64(x) {
                assert_eq!(to_string(&Value::Number(n)), expected, "{bits:016x}");
            }
        }
        assert_eq!(format_f64(f64::NAN), "null");
        assert_eq!(format_f64(f64::INFINITY), "null");
    }

    #[test]
    fn numbers_from_text() {
        for (text, expected) in [
            ("0", "0"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("9007199254740992", "9007199254740992"),
            ("295147905179352830000", "295147905179352830000"),
            ("1e21", "1e+21"),
            ("1E21", "1e+21"),
            ("1e-7", "1e-7"),
            ("-1e-7", "-1e-7"),
            ("0.000001", "0.000001"),
            ("0.0000012345", "0.0000012345"),
            ("333333333.3333333", "333333333.3333333"),
            ("333333333.33333329", "333333333.3333333"),
            ("4.50", "4.5"),
            ("2e-3", "0.002"),
            ("1e23", "1e+23"),
            ("1E30", "1e+30"),
            ("0.000000000000000000000000001", "1e-27"),
            ("100", "100"),
            ("100.0", "100"),
            ("1e2", "100"),
            ("123456789012345678901", "123456789012345680000"),
            ("1.5e300", "1.5e+300"),
            ("-12.5", "-12.5"),
            ("18446744073709551615", "18446744073709551615"),
            ("-9223372036854775808", "-9223372036854775808"),
        ] {
            assert_eq!(canon(text), expected, "{text}");
        }
    }

    #[test]
    fn not_json_numbers_are_refused() {
        for bad in [
            "NaN",
            "Infinity",
            "-Infinity",
            "1e400",
            "-1e400",
            "01",
            "1.",
            ".5",
        ] {
            assert!(
                matches!(canonicalize(bad.as_bytes()), Err(JcsError::Parse(_))),
                "{bad}"
            );
        }
    }

    /// RFC 8785 §3.2.3: sorting by UTF-16 code units.
    #[test]
    fn rfc_sorting_example() {
        let input = r#"{
          "\u20ac": "Euro Sign",
          "\r": "Carriage Return",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One",
          "\ud83d\ude00": "Emoji: Grinning Face",
          "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"
        }"#;
        let out = canon(input);
        let v: Value = serde_json::from_str(&out).expect("canonical JSON parses");
        let order: Vec<&str> = out
            .split("\":\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap_or(""))
            .collect();
        assert_eq!(
            order,
            [
                "Carriage Return",
                "One",
                "Control",
                "Latin Small Letter O With Diaeresis",
                "Euro Sign",
                "Emoji: Grinning Face",
                "Hebrew Letter Dalet With Dagesh",
            ]
        );
        assert_eq!(v.as_object().map(|m| m.len()), Some(7));
        assert_eq!(
            out,
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\
             \"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\
             \"\u{1f600}\":\"Emoji: Grinning Face\",\
             \"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
    }

    /// RFC 8785 §3.2.4: the complete example.
    #[test]
    fn rfc_example_output() {
        let input = r#"{
          "numbers": [333333333.33333329, 1E30, 4.50,
                      2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#;
        let expected = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
        assert_eq!(canon(input), expected);
        // The RFC's UTF-8 bytes of the output, as printed in §3.2.4.
        let hex = "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72 \
                   75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a \
                   5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31 \
                   65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37 \
                   5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30 \
                   30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d";
        let bytes: Vec<u8> = hex
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("hex"))
            .collect();
        assert_eq!(canonicalize(input.as_bytes()).expect("valid"), bytes);
    }

    #[test]
    fn strings_escape_only_what_the_rfc_says() {
        let v = Value::String("a/b \u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}\"\\ 中文 😀".into());
        assert_eq!(
            to_string(&v),
            "\"a/b \\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f\u{7f}\\\"\\\\ 中文 😀\""
        );
        assert_eq!(canon(r#""\u4e2d\/\u00e9""#), "\"中/é\"");
    }

    #[test]
    fn nesting_and_whitespace() {
        assert_eq!(
            canon(" { \"b\" : [ 1 , { \"z\":null, \"a\" : true } ], \"a\": {} , \"c\": [] } "),
            r#"{"a":{},"b":[1,{"a":true,"z":null}],"c":[]}"#
        );
        let v = serde_json::json!({"金额": 35000, "b": -1, "a": [1.5, "x"]});
        assert_eq!(to_string(&v), r#"{"a":[1.5,"x"],"b":-1,"金额":35000}"#);
        assert_eq!(to_vec(&v), to_string(&v).into_bytes());
    }

    #[test]
    fn strict_parsing() {
        assert_eq!(
            canonicalize(br#"{"a":1,"a":2}"#),
            Err(JcsError::DuplicateKey("a".into()))
        );
        assert_eq!(
            canonicalize(br#"{"x":{"k\"q":1,"k\"q":2}}"#),
            Err(JcsError::DuplicateKey("k\"q".into()))
        );
        for bad in [
            &br#""\ud800""#[..],
            br#""\udc00x""#,
            b"{\"a\":1,}",
            b"[1 2]",
            b"",
            b"{} {}",
            b"\xef\xbb\xbf{}",
            b"\"\xff\"",
            b"'a'",
        ] {
            assert!(
                matches!(canonicalize(bad), Err(JcsError::Parse(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            parse_strict(br#"{"a":[1,2]}"#),
            Ok(serde_json::json!({"a":[1,2]}))
        );
    }

    /// Random doubles: the text round-trips to the same double, is a fixed
    /// point of canonicalization, and has as few digits as Rust's own
    /// shortest output (the digits themselves may differ on an exact tie,
    /// where ECMAScript picks the even digit and Rust rounds up:
    /// 1658206780088562.25 is written …562.2 by JavaScript and here).
    #[test]
    fn random_doubles_round_trip() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            if !x.is_finite() {
                continue;
            }
            let text = format_f64(x);
            let back: f64 = text.parse().expect("number");
            assert_eq!(
                back.to_bits(),
                if x == 0.0 { 0 } else { x.to_bits() },
                "{text}"
            );
            assert_eq!(canon(&text), text);
            // Rust's `{:e}` also prints the shortest round-trip digits.
            let sci = format!("{:e}", x.abs());
            let mantissa = sci.split('e').next().unwrap_or("").replace('.', "");
            let ours: String = text
                .trim_start_matches('-')
                .split('e')
                .next()
                .unwrap_or("")
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            assert_eq!(
                ours.trim_start_matches('0').trim_end_matches('0').len(),
                mantissa.trim_end_matches('0').len(),
                "{text} vs {sci}"
            );
        }
    }

    #[test]
    fn canonical_output_is_a_fixed_point() {
        let inputs = [
            r#"{"b":[1e21,1e-7,-0,0.1,"\u001f"],"a":{"y":1,"x":2},"😀":"","דּ":1,"€":2}"#,
            r#"[{"kind":"payment","amount_fen":35000,"note":"物业费 2026年"}]"#,
        ];
        for input in inputs {
            let once = canonicalize(input.as_bytes()).expect("valid");
            assert_eq!(canonicalize(&once).expect("valid"), once);
        }
    }
}
