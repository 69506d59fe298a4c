//! Chinese conventions that receipts and invoices need: amounts in capital
//! numerals (人民币大写, as the People's Bank of China's rules for writing
//! amounts prescribe) and the unified social credit code (统一社会信用代码,
//! GB 32100-2015) with its check character.

use crate::{DomainError, Fen};

const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
/// Units inside a group of four digits, from the lowest.
const SMALL: [&str; 4] = ["", "拾", "佰", "仟"];
/// Group units, from the lowest: 元, 万, 亿, 万亿.
const GROUPS: [&str; 4] = ["", "万", "亿", "万亿"];

/// The yuan part (> 0) in capitals, without the trailing 元: a zero between
/// non-zero digits is written once as 零 (also across groups), trailing
/// zeros are not written, and the leading 拾 keeps its 壹 (壹拾元, as
/// financial writing requires).
fn yuan_words(mut yuan: u64) -> String {
    let mut groups = Vec::new();
    while yuan > 0 {
        groups.push((yuan % 10_000) as usize);
        yuan /= 10_000;
    }
    let mut out = String::new();
    // Whether a zero is pending (seen after some non-zero digit was written).
    let mut zero = false;
    for (gi, &g) in groups.iter().enumerate().rev() {
        if g == 0 {
            zero = !out.is_empty();
            continue;
        }
        let digits = [g / 1000, g / 100 % 10, g / 10 % 10, g % 10];
        for (pos, &d) in digits.iter().enumerate() {
            let unit = 3 - pos;
            if d == 0 {
                if !out.is_empty() {
                    zero = true;
                }
                continue;
            }
            if zero {
                out.push('零');
                zero = false;
            }
            out.push(DIGITS[d]);
            out.push_str(SMALL[unit]);
        }
        out.push_str(GROUPS[gi.min(3)]);
        // Zeros at the end of a group are said by its unit (壹拾万): only
        // zeros at the start of the next group write 零.
        zero = false;
    }
    out
}

/// An amount in capital numerals: `¥1,234.56` → 壹仟贰佰叁拾肆元伍角陆分,
/// `¥10.00` → 壹拾元整, `¥0.05` → 伍分, `¥100,010.10` → 壹拾万零壹拾元壹角整,
/// `¥1,000,000.00` → 壹佰万元整, `¥0.00` → 零元整. A zero 角 before 分 is
/// written 零 (壹元零伍分); 整 follows 元 or 角 when there is no 分. A
/// negative amount is preceded by 负.
pub fn amount_in_capitals(amount: Fen) -> String {
    let neg = amount.0 < 0;
    let fen = amount.0.unsigned_abs();
    let (yuan, jiao, f) = (fen / 100, (fen / 10 % 10) as usize, (fen % 10) as usize);
    let mut out = String::new();
    if neg {
        out.push('负');
    }
    if yuan == 0 && jiao == 0 && f == 0 {
        out.push_str("零元整");
        return out;
    }
    if yuan > 0 {
        out.push_str(&yuan_words(yuan));
        out.push('元');
    }
    match (jiao, f) {
        (0, 0) => out.push('整'),
        (j, 0) => {
            out.push(DIGITS[j]);
            out.push_str("角整");
        }
        (0, d) => {
            if yuan > 0 {
                out.push('零');
            }
            out.push(DIGITS[d]);
            out.push('分');
        }
        (j, d) => {
            out.push(DIGITS[j]);
            out.push('角');
            out.push(DIGITS[d]);
            out.push('分');
        }
    }
    out
}

/// The characters a unified social credit code may use (GB 32100-2015: the
/// digits and the capitals without I, O, Z, S, V), in check-value order.
const USCC_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1–17.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A unified social credit code (统一社会信用代码) whose check character is right.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct CreditCode(String);

impl CreditCode {
    /// Checks length (18), characters and the GB 32100-2015 check character
    /// (position 18); lower case is accepted and upper-cased; spaces around
    /// are ignored. The error names what is wrong.
    pub fn parse(s: &str) -> Result<CreditCode, DomainError> {
        let code: String = s.trim().to_ascii_uppercase();
        let n = code.chars().count();
        if n != 18 {
            return Err(DomainError::invalid(
                "credit_code",
                format!("a unified social credit code has 18 characters, got {n}"),
            ));
        }
        let mut values = Vec::with_capacity(18);
        for (i, c) in code.chars().enumerate() {
            match USCC_CHARS.find(c) {
                Some(v) => values.push(v as u32),
                None => {
                    return Err(DomainError::invalid(
                        "credit_code",
                        format!(
                            "character {} ({c:?}) is not allowed (digits and capitals except I, O, Z, S, V)",
                            i + 1
                        ),
                    ));
                }
            }
        }
        if !code[2..8].bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::invalid(
                "credit_code",
                "characters 3–8 are the administrative division code (digits)",
            ));
        }
        let sum: u32 = values[..17]
            .iter()
            .zip(USCC_WEIGHTS)
            .map(|(v, w)| v * w)
            .sum();
        let check = (31 - sum % 31) % 31;
        if values[17] != check {
            let want = USCC_CHARS.as_bytes()[check as usize] as char;
            return Err(DomainError::invalid(
                "credit_code",
                format!("the check character should be {want}, not {}", &code[17..]),
            ));
        }
        Ok(CreditCode(code))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CreditCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capitals() {
        for (fen, words) in [
            (0, "零元整"),
            (5, "伍分"),
            (10, "壹角整"),
            (15, "壹角伍分"),
            (100, "壹元整"),
            (105, "壹元零伍分"),
            (1000, "壹拾元整"),
            (1050, "壹拾元伍角整"),
            (123456, "壹仟贰佰叁拾肆元伍角陆分"),
            (100_000, "壹仟元整"),
            (100_100, "壹仟零壹元整"),
            (168_032, "壹仟陆佰捌拾元叁角贰分"),
            (10_001_010, "壹拾万零壹拾元壹角整"),
            (10_700_053, "壹拾万柒仟元伍角叁分"),
            (10_001_000, "壹拾万零壹拾元整"),
            (100_000_001, "壹佰万元零壹分"),
            (100_000_000, "壹佰万元整"),
            (1_000_000_000_000, "壹佰亿元整"),
            (100_000_100, "壹佰万零壹元整"),
            (1_000_010_000, "壹仟万零壹佰元整"),
            (10_000_000_000_000, "壹仟亿元整"),
            (1_000_000_000_100, "壹佰亿零壹元整"),
            (-2500, "负贰拾伍元整"),
        ] {
            assert_eq!(amount_in_capitals(Fen(fen)), words, "{fen}");
        }
    }

    #[test]
    fn credit_codes() {
        // The first is the standard's widely quoted example; the others are
        // built with this check and accepted in every form a clerk types.
        for ok in [
            "91350100M000100Y43",
            "91110108MA01KP2Y2N",
            " 91350100m000100y43 ",
        ] {
            assert!(
                CreditCode::parse(ok).is_ok(),
                "{ok}: {:?}",
                CreditCode::parse(ok)
            );
        }
        let err = |s: &str| CreditCode::parse(s).unwrap_err().to_string();
        assert!(
            err("91350100M000100Y44").contains("should be 3"),
            "{}",
            err("91350100M000100Y44")
        );
        assert!(err("91350100M000100Y4").contains("18 characters"));
        assert!(err("91350100M0001O0Y43").contains("character 14"));
        assert!(err("9135A100M000100Y43").contains("division"));
        // Any single changed character is caught.
        let good = "91350100M000100Y43";
        for i in 0..17 {
            let mut b: Vec<char> = good.chars().collect();
            b[i] = if b[i] == '1' { '2' } else { '1' };
            let s: String = b.into_iter().collect();
            assert!(CreditCode::parse(&s).is_err(), "{s}");
        }
    }
}
