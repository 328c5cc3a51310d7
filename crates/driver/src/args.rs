//! Command-line values as clap value parsers: numbers and expressions ([`Number`]), counts within
//! bounds ([`Count`]) and byte sizes ([`Bytes`]).
//!
//! Each error is one line that names the option and quotes what was given (shortened when long, so a
//! 100,000-character argument does not become a 100,000-character message), e.g.
//! `--threads "0" must be at least 1`.
//!
//! ```
//! use clap::Parser;
//!
//! #[derive(Parser, Debug)]
//! struct Cli {
//!     #[arg(value_parser = driver::args::Number)]
//!     stop: u64,
//!     #[arg(long, value_parser = driver::args::Bytes)]
//!     max_memory: Option<usize>,
//! }
//! let cli = Cli::try_parse_from(["erato", "1e12+1e10", "--max-memory", "4G"]).unwrap();
//! assert_eq!((cli.stop, cli.max_memory), (1_010_000_000_000, Some(4 << 30)));
//! let error = Cli::try_parse_from(["erato", "2^64"]).unwrap_err().to_string();
//! assert!(error.contains("above the largest supported value"));
//! ```

use std::ffi::OsStr;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use clap::{Arg, Command};

use crate::expr;

/// How much of a bad value a message quotes.
const SHOWN_CHARS: usize = 40;

/// `text` quoted for a message, escaped (a newline stays on the line) and cut short when long.
pub fn shown(text: &str) -> String {
    let count = text.chars().count();
    if count <= SHOWN_CHARS {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(SHOWN_CHARS - 8).collect();
    format!("{head:?}... ({count} characters)")
}

/// The subject of a message about `arg`'s value `text`: `--threads "0"`, or just `"-5"` for
/// START and STOP (which of the two a lone number is depends on whether another follows).
fn subject(arg: Option<&Arg>, text: &str) -> String {
    match arg.and_then(Arg::get_long) {
        Some(long) => format!("--{long} {}", shown(text)),
        None => shown(text),
    }
}

fn invalid(
    cmd: &Command,
    arg: Option<&Arg>,
    text: &str,
    why: impl std::fmt::Display,
) -> clap::Error {
    clap::Error::raw(
        ErrorKind::ValueValidation,
        format!("{} {why}\n", subject(arg, text)),
    )
    .with_cmd(cmd)
}

fn text<'a>(cmd: &Command, arg: Option<&Arg>, value: &'a OsStr) -> Result<&'a str, clap::Error> {
    value
        .to_str()
        .ok_or_else(|| invalid(cmd, arg, &value.to_string_lossy(), "is not valid text"))
}

/// A number from 0 to 2^64 - 1, written as an integer or an expression ([`crate::expr`]).
#[derive(Clone, Copy, Debug)]
pub struct Number;

impl TypedValueParser for Number {
    type Value = u64;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<u64, clap::Error> {
        let text = text(cmd, arg, value)?;
        expr::parse_u64(text).map_err(|e| invalid(cmd, arg, text, e))
    }
}

/// A count between `min` and `max` (threads, KiB, seconds), written like a [`Number`].
#[derive(Clone, Copy, Debug)]
pub struct Count {
    /// The smallest value allowed.
    pub min: u64,
    /// The largest value allowed.
    pub max: u64,
}

impl Count {
    /// Any count from 1 up (that fits a `usize`).
    pub const POSITIVE: Count = Count {
        min: 1,
        max: usize::MAX as u64,
    };
}

impl TypedValueParser for Count {
    type Value = usize;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<usize, clap::Error> {
        let n = Number.parse_ref(cmd, arg, value)?;
        if (self.min..=self.max).contains(&n) {
            if let Ok(n) = usize::try_from(n) {
                return Ok(n);
            }
        }
        let text = text(cmd, arg, value)?;
        Err(if self.max >= usize::MAX as u64 {
            invalid(
                cmd,
                arg,
                text,
                format_args!("must be at least {}", self.min),
            )
        } else {
            invalid(
                cmd,
                arg,
                text,
                format_args!("must be between {} and {}", self.min, self.max),
            )
        })
    }
}

/// A positive size in bytes, with an optional `K`, `M`, `G` or `T` suffix (powers of 1024), the
/// number before it written like a [`Number`]: `256M`, `4G`, `1e6`, `2^20`.
#[derive(Clone, Copy, Debug)]
pub struct Bytes;

/// Reads a byte size (see [`Bytes`]); the error says why not.
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    const SUFFIXES: &str = "kKmMgGtT";
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if SUFFIXES.contains(c) => {
            let power = SUFFIXES.find(c).unwrap_or(0) as u32 / 2 + 1;
            (&t[..i], 10 * power)
        }
        _ => (t, 0),
    };
    let n = expr::parse_u64(digits).map_err(|e| e.to_string())?;
    n.checked_mul(1 << shift)
        .and_then(|b| usize::try_from(b).ok())
        .filter(|&b| b > 0)
        .ok_or_else(|| "must be a positive size such as 256M".to_string())
}

impl TypedValueParser for Bytes {
    type Value = usize;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<usize, clap::Error> {
        let text = text(cmd, arg, value)?;
        parse_bytes(text).map_err(|why| invalid(cmd, arg, text, why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[arg(value_parser = Number, allow_negative_numbers = true)]
        stop: Option<u64>,
        #[arg(long, value_parser = Count::POSITIVE)]
        threads: Option<usize>,
        #[arg(long, value_parser = Count { min: 1, max: 64 })]
        segment_size: Option<usize>,
        #[arg(long, value_parser = Bytes)]
        max_memory: Option<usize>,
    }

    fn error(args: &[&str]) -> String {
        let mut all = vec!["erato"];
        all.extend_from_slice(args);
        let e = Cli::try_parse_from(all).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ValueValidation);
        e.to_string().lines().next().unwrap().to_owned()
    }

    #[test]
    fn values() {
        let cli = Cli::try_parse_from([
            "erato",
            "2^64-1",
            "--threads",
            "2^3",
            "--segment-size",
            "64",
            "--max-memory",
            "1.5e3K",
        ])
        .unwrap();
        assert_eq!(cli.stop, Some(u64::MAX));
        assert_eq!(cli.threads, Some(8));
        assert_eq!(cli.segment_size, Some(64));
        assert_eq!(cli.max_memory, Some(1500 << 10));
        for (text, want) in [
            ("24", 24usize),
            ("4K", 4096),
            ("256M", 256 << 20),
            ("1g", 1 << 30),
        ] {
            assert_eq!(parse_bytes(text), Ok(want), "{text}");
        }
        for text in ["0", "0K", "", "K", "-1M", "1e30", "16T16"] {
            assert!(parse_bytes(text).is_err(), "{text}");
        }
    }

    #[test]
    fn messages_name_the_option_and_quote_the_value() {
        assert_eq!(
            error(&["1e20"]),
            "error: \"1e20\" is above the largest supported value 2^64-1 (18446744073709551615)"
        );
        assert_eq!(error(&["-5"]), "error: \"-5\" is negative");
        assert_eq!(
            error(&["--threads", "0"]),
            "error: --threads \"0\" must be at least 1"
        );
        assert_eq!(
            error(&["--segment-size", "65"]),
            "error: --segment-size \"65\" must be between 1 and 64"
        );
        assert_eq!(
            error(&["--max-memory", "0"]),
            "error: --max-memory \"0\" must be a positive size such as 256M"
        );
        // A huge argument is quoted short, on one line.
        let deep = format!("{}1{}", "(".repeat(50_000), ")".repeat(50_000));
        let message = error(&[&deep]);
        assert!(message.len() < 200, "{message}");
        assert!(
            message.ends_with("(100001 characters) nests parentheses more than 100 deep"),
            "{message}"
        );
        assert_eq!(shown("a\nb"), "\"a\\nb\"");
    }
}
