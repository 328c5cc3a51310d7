//! Numbers as people type them on a command line: `1000000`, `1_000_000`, `1e10`, `1.5e9`, `2^32`,
//! `2**32` (Python's power), `1e12+1e10`, `2^64-1`, `(2^32)^2-1`, `10*2^20`, `5e-0`, `15e-1*2`.
//!
//! Grammar (whitespace, and `_` after a digit, are ignored):
//! ```text
//! expr   = term (('+' | '-') term)*
//! term   = power ('*' power)*
//! power  = atom (('^' | '**') power)?   (right-associative)
//! atom   = number | '(' expr ')'
//! number = digits ('.' digits)? (('e' | 'E') ('+' | '-')? digits)?
//! ```
//! Everything is evaluated exactly in 128-bit integers; a literal or value that is negative,
//! fractional (`1.5`, `1e-3`; `5e-0` and `50e-1` are whole) or above `2^64 - 1` at the end is an
//! error, and so is any step that overflows 128 bits.

/// The largest value erato accepts, spelled out for messages.
pub const MAX_TEXT: &str = "2^64-1 (18446744073709551615)";

/// How deeply parentheses may nest. The parser recurses once per level, so without a limit a long
/// enough `((((...))))` would overflow the stack; no number anyone means needs more than a few.
pub const MAX_DEPTH: usize = 100;

/// Why a number could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// Nothing was given.
    #[error("is empty")]
    Empty,
    /// A character that has no place in a number.
    #[error("has unexpected {found:?} at position {}", at + 1)]
    Unexpected {
        /// The character.
        found: char,
        /// Its byte position.
        at: usize,
    },
    /// The text ended where more was expected (`1e`, `2^`, `(3`).
    #[error("ends too early")]
    Incomplete,
    /// A literal or intermediate result needs more than 128 bits.
    #[error("overflows while being evaluated")]
    Overflow,
    /// The value is below zero (`-5`, `1-2`).
    #[error("is negative")]
    Negative,
    /// The value has a fractional part (`1e-3`, `1.5`, `2.25e1`).
    #[error("is not a whole number (negative exponents and fractions are not allowed)")]
    Fraction,
    /// The value exceeds `2^64 - 1`.
    #[error("is above the largest supported value {MAX_TEXT}")]
    TooLarge,
    /// Parentheses nest deeper than [`MAX_DEPTH`].
    #[error("nests parentheses more than {MAX_DEPTH} deep")]
    TooDeep,
}

/// A signed value with an optional decimal scale: `mantissa / 10^scale`.
#[derive(Clone, Copy)]
struct Value {
    mantissa: i128,
    scale: u32,
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
    /// Parentheses open at `pos`: the parser's recursion depth, kept below [`MAX_DEPTH`].
    depth: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.pos < self.text.len() && (self.text[self.pos] as char).is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.pos).copied()
    }

    fn unexpected(&self) -> ExprError {
        match std::str::from_utf8(&self.text[self.pos..])
            .ok()
            .and_then(|s| s.chars().next())
        {
            Some(found) => ExprError::Unexpected {
                found,
                at: self.pos,
            },
            None => ExprError::Incomplete,
        }
    }

    fn expr(&mut self) -> Result<i128, ExprError> {
        let mut acc = self.term()?;
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.pos += 1;
            let rhs = self.term()?;
            acc = if op == b'+' {
                acc.checked_add(rhs)
            } else {
                acc.checked_sub(rhs)
            }
            .ok_or(ExprError::Overflow)?;
        }
        Ok(acc)
    }

    fn term(&mut self) -> Result<i128, ExprError> {
        let mut acc = self.power()?;
        while let Some(b'*') = self.peek() {
            if self.text.get(self.pos + 1) == Some(&b'*') {
                break; // `**`, a power: `power` took it unless it ends the text
            }
            self.pos += 1;
            acc = acc.checked_mul(self.power()?).ok_or(ExprError::Overflow)?;
        }
        Ok(acc)
    }

    /// Skips a power operator, `^` or Python's `**`, if one comes next.
    fn power_operator(&mut self) -> bool {
        match self.peek() {
            Some(b'^') => self.pos += 1,
            Some(b'*') if self.text.get(self.pos + 1) == Some(&b'*') => self.pos += 2,
            _ => return false,
        }
        true
    }

    /// `atom ('^' atom)*`, evaluated right to left (`2^3^2` is `2^9`). A loop rather than recursion,
    /// so that a chain of any length (`2^2^...^2`) cannot overflow the stack.
    fn power(&mut self) -> Result<i128, ExprError> {
        let mut operands = vec![self.atom()?];
        while self.power_operator() {
            operands.push(self.atom()?);
        }
        let mut exp = operands.pop().expect("at least one operand");
        while let Some(base) = operands.pop() {
            if exp < 0 {
                return Err(ExprError::Fraction);
            }
            let e = u32::try_from(exp).map_err(|_| ExprError::Overflow)?;
            exp = base.checked_pow(e).ok_or(ExprError::Overflow)?;
        }
        Ok(exp)
    }

    fn atom(&mut self) -> Result<i128, ExprError> {
        match self.peek() {
            Some(b'(') => {
                if self.depth == MAX_DEPTH {
                    return Err(ExprError::TooDeep);
                }
                self.pos += 1;
                self.depth += 1;
                let v = self.expr()?;
                self.depth -= 1;
                match self.peek() {
                    Some(b')') => {
                        self.pos += 1;
                        Ok(v)
                    }
                    _ => Err(self.unexpected()),
                }
            }
            Some(c) if c.is_ascii_digit() => self.number(),
            // A minus sign before a number or a parenthesis: a negative value. Before anything else
            // (`-q` after `--`) it is just out of place.
            Some(b'-')
                if self
                    .text
                    .get(self.pos + 1)
                    .is_some_and(|c| c.is_ascii_digit() || *c == b'(' || *c == b'.') =>
            {
                Err(ExprError::Negative)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn digits(&mut self, v: &mut Value, fractional: bool) -> Result<usize, ExprError> {
        let mut count = 0;
        while let Some(&c) = self.text.get(self.pos) {
            if c == b'_' && count > 0 {
                self.pos += 1;
                continue;
            }
            if !c.is_ascii_digit() {
                break;
            }
            v.mantissa = v
                .mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(c - b'0')))
                .ok_or(ExprError::Overflow)?;
            if fractional {
                v.scale += 1;
            }
            self.pos += 1;
            count += 1;
        }
        Ok(count)
    }

    fn number(&mut self) -> Result<i128, ExprError> {
        let mut v = Value {
            mantissa: 0,
            scale: 0,
        };
        self.digits(&mut v, false)?;
        if self.text.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits(&mut v, true)? == 0 {
                return Err(self.unexpected());
            }
        }
        if let Some(b'e' | b'E') = self.text.get(self.pos) {
            self.pos += 1;
            let negative = self.text.get(self.pos) == Some(&b'-');
            if let Some(b'+' | b'-') = self.text.get(self.pos) {
                self.pos += 1;
            }
            let mut exp = Value {
                mantissa: 0,
                scale: 0,
            };
            if self.digits(&mut exp, false)? == 0 {
                return Err(self.unexpected());
            }
            let mut exp = u32::try_from(exp.mantissa).map_err(|_| ExprError::Overflow)?;
            if v.mantissa == 0 {
                return Ok(0);
            }
            if negative {
                // mantissa * 10^-(scale + exp): whole only if those digits are zeros.
                v.scale = v.scale.checked_add(exp).ok_or(ExprError::Fraction)?;
                exp = 0;
            }
            // mantissa * 10^(exp - scale), exactly.
            if exp >= v.scale {
                let factor = 10i128
                    .checked_pow(exp - v.scale)
                    .ok_or(ExprError::Overflow)?;
                return v.mantissa.checked_mul(factor).ok_or(ExprError::Overflow);
            }
            v.scale -= exp;
        }
        if v.scale == 0 {
            return Ok(v.mantissa);
        }
        let divisor = 10i128.pow(v.scale.min(38));
        if v.scale > 38 || v.mantissa % divisor != 0 {
            return Err(ExprError::Fraction);
        }
        Ok(v.mantissa / divisor)
    }
}

/// Reads a number or expression (see the module docs) as a `u64`.
pub fn parse_u64(text: &str) -> Result<u64, ExprError> {
    if text.trim().is_empty() {
        return Err(ExprError::Empty);
    }
    let mut parser = Parser {
        text: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let value = parser.expr()?;
    if parser.peek().is_some() {
        return Err(parser.unexpected());
    }
    if value < 0 {
        return Err(ExprError::Negative);
    }
    u64::try_from(value).map_err(|_| ExprError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts() {
        for (text, want) in [
            ("0", 0u64),
            ("1000000", 1_000_000),
            ("1_000_000", 1_000_000),
            ("1e10", 10_000_000_000),
            ("1E3", 1000),
            ("1e+3", 1000),
            ("1.5e9", 1_500_000_000),
            ("2.50e1", 25),
            ("2^32", 1 << 32),
            ("2^64-1", u64::MAX),
            ("2^64 - 1", u64::MAX),
            ("1e12+1e10", 1_010_000_000_000),
            ("(2^32)^2-1", u64::MAX),
            ("10*2^20", 10 << 20),
            ("2^3^2", 512),
            ("18446744073709551615", u64::MAX),
            ("0e5", 0),
            ("1e19", 10_000_000_000_000_000_000),
            ("2**32", 1 << 32),
            ("10**6", 1_000_000),
            ("2 ** 64 - 1", u64::MAX),
            ("2**3**2", 512),
            ("3*2**4", 48),
            ("5e-0", 5),
            ("50e-1", 5),
            ("1000e-3", 1),
            ("0e-5", 0),
            ("1_000_000", 1_000_000),
        ] {
            assert_eq!(parse_u64(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects() {
        use ExprError::*;
        for (text, want) in [
            ("", Empty),
            ("   ", Empty),
            ("-5", Negative),
            ("1-2", Negative),
            ("2^64", TooLarge),
            ("1e20", TooLarge),
            ("2^64-1+1", TooLarge),
            ("18446744073709551616", TooLarge),
            ("1e", Incomplete),
            ("2^", Incomplete),
            ("(3", Incomplete),
            ("1e-3", Fraction),
            ("15e-1", Fraction),
            ("1500e-3", Fraction),
            ("2.5e-0*2", Fraction),
            ("1e-100", Fraction),
            ("1.5", Fraction),
            ("2**-1", Negative),
            ("2**64", TooLarge),
            ("2^-1", Negative),
            ("2^200", Overflow),
            ("2^100*2^100", Overflow),
            ("99999999999999999999999999999999999999999", Overflow),
            ("1e100", Overflow),
            ("2^(1-2)", Fraction),
        ] {
            assert_eq!(parse_u64(text), Err(want), "{text}");
        }
        for text in [
            "0x", "nan", "inf", "abc", "1..2", "١٢٣", "3)", "1 2", "1e1e1", "-q", "--", "2***3",
            "2*", "**2",
        ] {
            assert!(
                matches!(parse_u64(text), Err(Unexpected { .. }) | Err(Incomplete)),
                "{text}: {:?}",
                parse_u64(text)
            );
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// The exact value of an expression as checked 128-bit arithmetic sees it.
    fn expected(v: Option<u128>) -> Result<u64, ExprError> {
        match v {
            None => Err(ExprError::Overflow),
            Some(v) => u64::try_from(v).map_err(|_| ExprError::TooLarge),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Any text at all (any Unicode scalar values, control characters included): an answer or an
        /// error, never a panic.
        #[test]
        fn never_panics(text in any::<String>()) {
            let _ = parse_u64(&text);
        }

        /// Printable text of any script, as people paste it: an answer or an error, never a panic.
        #[test]
        fn never_panics_on_printable_text(text in "\\PC{0,60}") {
            let _ = parse_u64(&text);
        }

        /// Parentheses nested to any depth, up to the 100,000 an argument can hold: the value
        /// inside up to `MAX_DEPTH`, one clear error beyond, never a stack overflow.
        #[test]
        fn deep_nesting_is_an_error_not_a_crash(depth in 0usize..100_000, v in any::<u32>()) {
            let text = format!("{}{v}{}", "(".repeat(depth), ")".repeat(depth));
            let want = if depth <= MAX_DEPTH { Ok(u64::from(v)) } else { Err(ExprError::TooDeep) };
            prop_assert_eq!(parse_u64(&text), want);
            // Unbalanced: only opening parentheses, or the closing ones missing at the end.
            let open = "(".repeat(depth);
            prop_assert!(parse_u64(&open).is_err());
        }

        /// Power chains of any length (`2^2^...^2`): evaluated right to left without recursion, so an
        /// answer or an overflow, never a stack overflow.
        #[test]
        fn long_power_chains(links in 0usize..60_000, base in 0u32..4) {
            let text = vec![base.to_string(); links + 1].join("^");
            let got = parse_u64(&text);
            // b^b^...^b: 0^0 is 1 and 0^1 is 0, so a chain of zeros alternates; 1 stays 1; 2 and 3
            // overflow 128 bits within a few links.
            let want = match (base, links) {
                (b, 0) => Ok(u64::from(b)),
                (0, n) => Ok(u64::from(n % 2 == 1)),
                (1, _) => Ok(1),
                (2, 1) => Ok(4),
                (2, 2) => Ok(16),
                (2, 3) => Ok(65_536),
                (3, 1) => Ok(27),
                (3, 2) => Ok(7_625_597_484_987),
                _ => Err(ExprError::Overflow),
            };
            prop_assert_eq!(got, want, "{} links of {}", links, base);
        }

        /// Deep nesting mixed with the grammar's other characters: never a panic or a crash.
        #[test]
        fn never_panics_on_deep_near_misses(depth in 0usize..50_000, tail in "[0-9eE.^+*()_ -]{0,30}") {
            let _ = parse_u64(&format!("{}{tail}", "(".repeat(depth)));
            let _ = parse_u64(&format!("{tail}{}", "^(".repeat(depth)));
        }

        /// Text made of the grammar's own characters: still never a panic.
        #[test]
        fn never_panics_on_near_misses(text in "[0-9eE.^+*()_ -]{0,30}") {
            let _ = parse_u64(&text);
        }

        #[test]
        fn integers_read_back(v in any::<u64>()) {
            prop_assert_eq!(parse_u64(&v.to_string()), Ok(v));
        }

        #[test]
        fn sums_products_powers(a in 0u64..1_000_000_000_000, b in 0u64..1_000_000, e in 0u32..70) {
            let (a128, b128) = (u128::from(a), u128::from(b));
            prop_assert_eq!(parse_u64(&format!("{a}+{b}")), expected(Some(a128 + b128)));
            prop_assert_eq!(parse_u64(&format!("{a} * {b}")), expected(Some(a128 * b128)));
            let sub = parse_u64(&format!("{a}-{b}"));
            if a >= b { prop_assert_eq!(sub, Ok(a - b)); } else { prop_assert_eq!(sub, Err(ExprError::Negative)); }
            let pow = parse_u64(&format!("{b}^{e}"));
            let want = b128.checked_pow(e);
            match want {
                Some(v) if v <= u128::from(u64::MAX) => prop_assert_eq!(pow, Ok(v as u64)),
                // Beyond u64: TooLarge while it fits 128 bits (i128 here), Overflow past that.
                _ => prop_assert!(matches!(pow, Err(ExprError::TooLarge | ExprError::Overflow)), "{b}^{e}: {pow:?}"),
            }
        }

        #[test]
        fn scientific_notation(m in 0u64..100_000, k in 0u32..25) {
            let want = u128::from(m).checked_mul(10u128.pow(k));
            prop_assert_eq!(parse_u64(&format!("{m}e{k}")), expected(want));
        }
    }
}
