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
        if text.starts_with('-') && text[1..].starts_with(|c: char| c.is_ascii_alphabetic()) {
            // After `--` an option is read as a number: say so rather than call it negative.
            return Err(invalid(
                cmd,
                arg,
                text,
                "is an option, not a number (options go before --)",
            ));
        }
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

/// Which counts `--count=K` asks for: bit k for each digit k of K (1 primes, 2 twin primes,
/// 3 triplets, ..., 6 sextuplets), as primesieve reads `-c123`; `-c0` asks for nothing (the
/// default count of primes then applies, as in primesieve).
#[derive(Clone, Copy, Debug)]
pub struct Kinds;

/// Reads the digits of `--count=K` (see [`Kinds`]); the error says why not.
pub fn parse_kinds(text: &str) -> Result<u8, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(0);
    }
    let mut kinds = 0u8;
    for c in t.chars() {
        match c.to_digit(10) {
            Some(k @ 1..=6) => kinds |= 1 << k,
            _ => {
                return Err(
                    "must be digits from 1 to 6 (1 primes, 2 twin primes, 3 triplets, \
                    4 quadruplets, 5 quintuplets, 6 sextuplets), e.g. -c2 or -c123"
                        .into(),
                )
            }
        }
    }
    if kinds == 0 {
        return Err("is empty: give digits from 1 to 6, e.g. -c2 or -c123".into());
    }
    Ok(kinds)
}

impl TypedValueParser for Kinds {
    type Value = u8;

    fn parse_ref(
        &self,
        cmd: &Command,
        arg: Option<&Arg>,
        value: &OsStr,
    ) -> Result<u8, clap::Error> {
        let text = text(cmd, arg, value)?;
        parse_kinds(text).map_err(|why| invalid(cmd, arg, text, why))
    }
}

/// erato's options that take a value in the next argument: what follows them is never rewritten
/// by [`primesieve_spellings`].
const TAKES_VALUE: &[&str] = &[
    "-o",
    "--output",
    "--bitmap",
    "--json-file",
    "--checkpoint",
    "-t",
    "--threads",
    "--max-memory",
    "--segment-size",
    "-s",
    "--size",
    "-d",
    "--dist",
    "--stress-test",
    "--seed",
    "--format",
];

/// The command line with primesieve's attached spellings made clap's: `-c` and `-cK` become
/// `--count` and `--count=K`, `-pK` becomes `--print=K` (also `-c=K`, `--countK`, `--printK`).
/// A separate value is not read as K (`-p 3` is `-p` and the number 3, as erato always read it);
/// nothing after `--`, and no value of an option (`-o -c2`), is touched.
pub fn primesieve_spellings(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut out = Vec::new();
    let mut verbatim = false;
    let mut value_next = false;
    for (i, arg) in args.into_iter().enumerate() {
        let Some(text) = arg.to_str().filter(|_| i > 0 && !verbatim && !value_next) else {
            value_next = false;
            out.push(arg);
            continue;
        };
        if text == "--" {
            verbatim = true;
        }
        value_next = TAKES_VALUE.contains(&text);
        let rewritten = [
            ("-c", "--count"),
            ("--count", "--count"),
            ("-p", "--print"),
            ("--print", "--print"),
        ]
        .iter()
        .find_map(|&(short, long)| {
            let rest = text.strip_prefix(short)?;
            let rest = rest.strip_prefix('=').unwrap_or(rest);
            match rest {
                "" if short == "-c" => Some(long.to_owned()),
                "" => None,
                _ if short.starts_with("--") && !rest.starts_with(|c: char| c.is_ascii_digit()) => {
                    None
                }
                _ => Some(format!("{long}={rest}")),
            }
        });
        out.push(rewritten.map_or(arg, Into::into));
    }
    out
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

    #[test]
    fn primesieve_spellings_become_clap_ones() {
        let rewrite = |args: &[&str]| -> Vec<String> {
            let all = std::iter::once("erato")
                .chain(args.iter().copied())
                .map(Into::into);
            primesieve_spellings(all)
                .into_iter()
                .skip(1)
                .map(|a| a.into_string().unwrap())
                .collect()
        };
        assert_eq!(rewrite(&["100", "-c"]), ["100", "--count"]);
        assert_eq!(
            rewrite(&["100", "-c123", "-p3"]),
            ["100", "--count=123", "--print=3"]
        );
        assert_eq!(
            rewrite(&["-c=2", "--count4", "--print=2"]),
            ["--count=2", "--count=4", "--print=2"]
        );
        assert_eq!(rewrite(&["-p", "5", "100"]), ["-p", "5", "100"]);
        assert_eq!(
            rewrite(&["-o", "-c2", "--", "-p3"]),
            ["-o", "-c2", "--", "-p3"]
        );
        assert_eq!(rewrite(&["--print", "--counts"]), ["--print", "--counts"]);
        assert_eq!(parse_kinds("123"), Ok(0b1110));
        assert_eq!(parse_kinds("6"), Ok(1 << 6));
        assert_eq!(parse_kinds("0"), Ok(0));
        for bad in ["", "00", "10", "7", "1a", "-1"] {
            assert!(parse_kinds(bad).is_err(), "{bad}");
        }
    }
}
