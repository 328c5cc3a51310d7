//! Formatting gathered windows on every thread of rank 0, byte for byte what one thread would write.
//!
//! A window's odd-only words are cut into parts of [`PART_WORDS`] words. Each part is formatted on
//! its own thread into its own buffer; the buffers are then written in order. One-prime-per-line
//! text, raw `u64` and NumPy data need nothing from the part before. Python's format does: where
//! `textwrap.fill(str(primes), 80)` breaks a line depends on every token before it. But the breaks
//! depend only on the tokens' *lengths*, and a part's tokens have one length per decimal digit
//! count, which changes only at powers of ten. So the state where a part starts
//! ([`PythonState`]: the length of the current line) is found from the parts before it by counting
//! their primes per digit count (popcounts) and applying [`PythonState::skip`], a closed form of
//! the greedy line filling for `n` tokens of one length. The parts are then formatted independently
//! and join exactly; `tests` check this against the one-thread formatter
//! ([`crate::output::PrimeWriter`]) with cuts at every position.

use rayon::prelude::*;
use sieve_core::Counts;

use crate::output::Format;

/// Words (of 128 numbers each) per part formatted by one thread: at `10^9` about 400 primes and
/// 4 KB of text per 64 words, so a part is about 0.5 MB of text, large against the cost of handing
/// it to a thread and small enough that a batch of parts stays well under `--max-memory`.
pub const PART_WORDS: usize = 8192;

/// Parts formatted per batch, per thread: a batch is formatted, then written, then the next.
pub const PARTS_PER_THREAD: usize = 2;

/// The width `textwrap.fill` wraps to.
const WIDTH: usize = 80;

/// Where a Python-format listing stands between two primes: characters on the current line (the
/// last token's trailing comma included, as textwrap counts it) and whether any token was written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PythonState {
    line: usize,
    started: bool,
}

impl PythonState {
    /// Takes the next token, a prime of `digits` digits, and returns what goes before it: `None`
    /// for the first (which gets `[`), else the separator after the previous token's comma, `b' '`
    /// or `b'\n'`. Each token is the prime and one character (`,` or the closing `]`), and the
    /// first one `[` too; textwrap starts a new line when the token would pass column 80.
    #[inline]
    pub fn take(&mut self, digits: usize) -> Option<u8> {
        if !self.started {
            self.started = true;
            self.line = digits + 2;
            return None;
        }
        let len = digits + 1;
        if self.line + 1 + len <= WIDTH {
            self.line += 1 + len;
            Some(b' ')
        } else {
            self.line = len;
            Some(b'\n')
        }
    }

    /// The state after `n` more tokens of `digits` digits each, as `n` calls of [`Self::take`]
    /// would leave it, in constant time.
    pub fn skip(mut self, digits: usize, mut n: u64) -> Self {
        if n == 0 {
            return self;
        }
        if !self.started {
            self.take(digits);
            n -= 1;
        }
        // Invariant: line <= 80 (a first line of one token is at most 20 + 2 characters).
        let step = (digits + 2) as u64; // a space and the token
        let fit = (WIDTH - self.line) as u64 / step; // tokens that still join the current line
        if n <= fit {
            self.line += (n * step) as usize;
            return self;
        }
        // Every later line starts with one token and takes as many more as fit.
        let rest = n - fit;
        let per_line = 1 + (WIDTH - (digits + 1)) as u64 / step;
        self.line = digits + 1 + (((rest - 1) % per_line) * step) as usize;
        self
    }

    /// Whether any token has been taken.
    pub fn started(&self) -> bool {
        self.started
    }
}

/// Set bits with index in `[from, to)` of `words`.
fn ones(words: &[u64], from: u64, to: u64) -> u64 {
    let to = to.min(64 * words.len() as u64);
    if from >= to {
        return 0;
    }
    let (first, last) = ((from / 64) as usize, ((to - 1) / 64) as usize);
    let low = !0u64 << (from % 64);
    let high = !0u64 >> (63 - (to - 1) % 64);
    if first == last {
        return u64::from((words[first] & low & high).count_ones());
    }
    u64::from((words[first] & low).count_ones())
        + words[first + 1..last]
            .iter()
            .map(|w| u64::from(w.count_ones()))
            .sum::<u64>()
        + u64::from((words[last] & high).count_ones())
}

/// Calls `f(d, n)` for each digit count `d` of the numbers odd-only `words` stand for (bit 0 for
/// `first_odd`), in increasing order, with `n` the set bits among the numbers of `d` digits.
fn per_digit_count(first_odd: u64, words: &[u64], mut f: impl FnMut(usize, u64)) {
    if words.is_empty() {
        return;
    }
    let first = u128::from(first_odd);
    let last = first + 128 * words.len() as u128 - 2; // the number the last bit stands for
    let mut low = 1u128; // smallest number of `d` digits
    for d in 1..=20 {
        let high = low * 10 - 1;
        if high >= first && low <= last {
            // Bits of the odd numbers in [max(low, first), min(high, last)].
            let from = (low.max(first) - first).div_ceil(2) as u64;
            let to = ((high.min(last) - first) / 2 + 1) as u64;
            f(d, ones(words, from, to));
        }
        low *= 10;
    }
}

/// The state after every prime of odd-only `words` whose bit 0 stands for `first_odd`.
pub fn python_skip_words(mut state: PythonState, first_odd: u64, words: &[u64]) -> PythonState {
    per_digit_count(first_odd, words, |d, n| state = state.skip(d, n));
    state
}

/// The exact length of the text [`format_words`] writes for the primes of odd-only `words` (bit 0
/// stands for `first_odd`) in `format`, after a listing that stood at `python`: a token's length
/// depends only on its prime's digit count (Python's separator is `, ` or `,` and a newline,
/// two bytes either way; its first token has `[` alone), so popcounts per digit count give it.
/// Knowing it before formatting lets the parts of a batch go straight into one buffer, each into
/// its own slice, and the batch out in one write.
pub fn text_len(format: Format, python: PythonState, first_odd: u64, words: &[u64]) -> usize {
    let mut len = 0u64;
    let mut primes = 0u64;
    per_digit_count(first_odd, words, |d, n| {
        primes += n;
        len += n * match format {
            Format::Lines => d as u64 + 1,
            Format::Python => d as u64 + 2,
            Format::Npy | Format::Binary => 8,
        };
    });
    if format == Format::Python && !python.started() && primes > 0 {
        len -= 1; // `[` instead of a separator
    }
    len as usize
}

/// Appends `prime` to `out` in `format`, after everything before it (`python` says where that
/// ended for the Python format): the plain conversion, for one prime.
pub fn push_prime(format: Format, python: &mut PythonState, prime: u64, out: &mut Vec<u8>) {
    let mut token = [0u8; TOKEN];
    let len = slow_token(format, python, prime, &mut token);
    out.extend_from_slice(&token[..len]);
}

/// Bytes of room for one token in any format (`, ` or `[`, at most 20 digits, a newline), and
/// what [`Decimal::text`] holds: [`format_words`] copies a whole one per token where the output
/// has this much room left.
const TOKEN: usize = 32;

/// Writes the token of `prime` into `token` with a full decimal conversion; returns its length.
#[inline(never)]
fn slow_token(
    format: Format,
    python: &mut PythonState,
    prime: u64,
    token: &mut [u8; TOKEN],
) -> usize {
    match format {
        Format::Lines => {
            let mut buffer = itoa::Buffer::new();
            let text = buffer.format(prime).as_bytes();
            token[..text.len()].copy_from_slice(text);
            token[text.len()] = b'\n';
            text.len() + 1
        }
        Format::Python => {
            let mut buffer = itoa::Buffer::new();
            let text = buffer.format(prime).as_bytes();
            let lead = match python.take(text.len()) {
                None => {
                    token[0] = b'[';
                    1
                }
                Some(separator) => {
                    token[..2].copy_from_slice(&[b',', separator]);
                    2
                }
            };
            token[lead..lead + text.len()].copy_from_slice(text);
            lead + text.len()
        }
        Format::Npy | Format::Binary => {
            token[..8].copy_from_slice(&prime.to_le_bytes());
            8
        }
    }
}

/// The decimal digits of numbers below 100, two by two.
static PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0u8; 2]; 100];
    let mut i = 0;
    while i < 100 {
        pairs[i] = [b'0' + (i / 10) as u8, b'0' + (i % 10) as u8];
        i += 1;
    }
    pairs
};

/// The low digits [`Decimal`] keeps as a number: four, so that a carry into the digits above
/// them comes once every 10^4 / (mean gap) primes (every few hundred).
const LOW: u64 = 10_000;

/// The text of the prime last written, kept so that the next one's is found by adding the gap:
/// consecutive primes share their leading digits. The last four digits are kept as a number
/// (`low`); a gap adds to it, and only when it passes 9999 does a one ripple into the digits
/// above. A prime with another digit count (or below 10^4, or after a gap of 10^4 or more, or
/// the first one) takes a full conversion.
struct Decimal {
    /// `lead` bytes (`, ` for Python, none for lines), the digits, then for lines a newline; the
    /// four low digits in it are stale (`low` holds them).
    text: [u8; TOKEN],
    /// Bytes before the digits.
    lead: usize,
    /// The token's length: `lead`, the digits, and the newline for lines.
    len: usize,
    /// Where the four low digits go in `text`.
    low_at: usize,
    /// The prime's last four digits, as a number.
    low: u64,
    /// The prime the text stands for (0 before the first).
    value: u64,
    /// Whether the text can be advanced by a gap: the prime has at least five digits.
    ready: bool,
}

impl Decimal {
    fn new(format: Format) -> Self {
        let lead = if format == Format::Python { 2 } else { 0 };
        let mut text = [0u8; TOKEN];
        text[..lead].copy_from_slice(&b", "[..lead]);
        Self {
            text,
            lead,
            len: 0,
            low_at: 0,
            low: 0,
            value: 0,
            ready: false,
        }
    }

    /// Sets the text to `prime` by a full conversion.
    fn set(&mut self, prime: u64) {
        let mut buffer = itoa::Buffer::new();
        let digits = buffer.format(prime).as_bytes();
        let end = self.lead + digits.len();
        self.text[self.lead..end].copy_from_slice(digits);
        self.text[end] = b'\n'; // past the token for Python
        self.len = if self.lead == 0 { end + 1 } else { end };
        self.low_at = end.saturating_sub(4);
        self.low = prime % LOW;
        self.value = prime;
        self.ready = digits.len() > 4;
    }

    /// Moves on to `prime` when adding its gap to the low digits passed 9999 (or the text is not
    /// ready): a carry into the digits above, or a full conversion.
    #[inline(never)]
    fn advance_slowly(&mut self, prime: u64) {
        let gap = prime - self.value;
        if !self.ready || gap >= LOW {
            return self.set(prime);
        }
        // low + gap is in [LOW, 2 LOW): add one to the digits above the low four.
        let mut i = self.low_at;
        loop {
            if i == self.lead {
                // All nines: one more digit.
                return self.set(prime);
            }
            i -= 1;
            if self.text[i] == b'9' {
                self.text[i] = b'0';
            } else {
                self.text[i] += 1;
                break;
            }
        }
        self.low = self.low + gap - LOW;
        self.value = prime;
    }
}

/// Writes the primes of odd-only `words` (bit 0 stands for `first_odd`) in `format` into `out`,
/// which must be exactly [`text_len`] bytes long, after a listing that stood at `python`
/// (advanced past them).
///
/// Lines and Python's format keep the last prime's text (`Decimal`) and add each gap to it:
/// per prime, a copy of 32 bytes, two digit pairs from a table and, for Python, the line
/// filling of [`PythonState::take`].
pub fn format_words(
    format: Format,
    python: &mut PythonState,
    first_odd: u64,
    words: &[u64],
    out: &mut [u8],
) {
    let end = match format {
        Format::Lines => decimal_words::<false>(python, first_odd, words, out),
        Format::Python => decimal_words::<true>(python, first_odd, words, out),
        Format::Npy | Format::Binary => {
            let mut pos = 0;
            for_each_prime(first_odd, words, |prime| {
                out[pos..pos + 8].copy_from_slice(&prime.to_le_bytes());
                pos += 8;
            });
            pos
        }
    };
    assert_eq!(end, out.len(), "text_len is the formatted length");
}

/// Calls `f` with each prime of odd-only `words` (bit 0 stands for `first_odd`), in order.
#[inline(always)]
fn for_each_prime(first_odd: u64, words: &[u64], mut f: impl FnMut(u64)) {
    for (j, &word) in words.iter().enumerate() {
        let mut w = word;
        let base = first_odd + 128 * j as u64;
        while w != 0 {
            f(base + 2 * u64::from(w.trailing_zeros()));
            w &= w - 1;
        }
    }
}

/// [`format_words`] for lines (`PYTHON` false) and Python's format; returns the length written.
fn decimal_words<const PYTHON: bool>(
    python: &mut PythonState,
    first_odd: u64,
    words: &[u64],
    out: &mut [u8],
) -> usize {
    let format = if PYTHON {
        Format::Python
    } else {
        Format::Lines
    };
    let mut decimal = Decimal::new(format);
    let mut pos = 0;
    // The hot fields of `decimal` in locals, so that they stay in registers: the low digits
    // and the prime are a dependency chain from one prime to the next. They go back into
    // `decimal` only for the slow path.
    let (mut low, mut value, mut ready) = (decimal.low, decimal.value, decimal.ready);
    let (mut len, mut low_at) = (decimal.len, decimal.low_at);
    for_each_prime(first_odd, words, |prime| {
        let next = low.saturating_add(prime - value);
        if ready && next < LOW {
            low = next;
            value = prime;
        } else {
            (decimal.low, decimal.value) = (low, value);
            decimal.advance_slowly(prime);
            (low, value, ready) = (decimal.low, decimal.value, decimal.ready);
            (len, low_at) = (decimal.len, decimal.low_at);
            if !ready || (PYTHON && !python.started()) {
                // Below 10^4, or Python's first token (`[`, no separator).
                let mut token = [0u8; TOKEN];
                let len = slow_token(format, python, prime, &mut token);
                put_token(out, pos, len, |room| *room = token);
                pos += len;
                return;
            }
        }
        let separator = if PYTHON {
            python.take(len - 2).unwrap_or(b' ')
        } else {
            b'\n'
        };
        let text = &decimal.text;
        put_token(out, pos, len, |room| {
            *room = *text;
            room[low_at..low_at + 4].copy_from_slice(&four_digits(low));
            if PYTHON {
                room[1] = separator;
            }
        });
        pos += len;
    });
    pos
}

/// The four decimal digits of `n` (below 10^4), with leading zeros.
#[inline(always)]
fn four_digits(n: u64) -> [u8; 4] {
    QUADS[n as usize]
}

/// The four decimal digits of each number below 10^4 (40 KB): one load per prime instead of a
/// division and two loads.
static QUADS: [[u8; 4]; LOW as usize] = {
    let mut quads = [[0u8; 4]; LOW as usize];
    let mut i = 0;
    while i < LOW as usize {
        let (high, low) = (PAIRS[i / 100], PAIRS[i % 100]);
        quads[i] = [high[0], high[1], low[0], low[1]];
        i += 1;
    }
    quads
};

/// Writes a token of `len` bytes at `pos` of `out` by `fill`, which writes [`TOKEN`] bytes: straight
/// into `out` where it has that much room, else (its last few tokens) through a spare array.
#[inline(always)]
fn put_token(out: &mut [u8], pos: usize, len: usize, fill: impl FnOnce(&mut [u8; TOKEN])) {
    if let Some(room) = out.get_mut(pos..pos + TOKEN) {
        fill(room.try_into().expect("TOKEN bytes"));
    } else {
        let mut spare = [0u8; TOKEN];
        fill(&mut spare);
        out[pos..pos + len].copy_from_slice(&spare[..len]);
    }
}

/// Appends the primes of odd-only `words` (bit 0 stands for `first_odd`) to `out` in `format`.
pub fn push_words(
    format: Format,
    python: &mut PythonState,
    first_odd: u64,
    words: &[u64],
    out: &mut Vec<u8>,
) {
    let start = out.len();
    out.resize(start + text_len(format, *python, first_odd, words), 0);
    format_words(format, python, first_odd, words, &mut out[start..]);
}

/// What ends a listing: `]` and a newline for Python (`[]` and a newline when it listed nothing).
pub fn ending(format: Format, python: PythonState) -> &'static [u8] {
    match format {
        Format::Python if python.started() => b"]\n",
        Format::Python => b"[]\n",
        _ => b"",
    }
}

/// Formats a listing window by window on the current rayon pool.
pub struct ParallelFormatter {
    format: Format,
    python: PythonState,
    part_words: usize,
    parts_per_batch: usize,
    /// The buffer the next batch's text goes into: one that `write` handed back, so that its
    /// pages are faulted in once.
    buffer: Vec<u8>,
}

impl ParallelFormatter {
    /// A formatter in `format` for `threads` threads, cutting windows into parts of `part_words`
    /// words (tests use tiny parts to put a cut everywhere).
    pub fn new(format: Format, threads: usize, part_words: usize) -> Self {
        Self {
            format,
            python: PythonState::default(),
            part_words: part_words.max(1),
            parts_per_batch: PARTS_PER_THREAD * threads.max(1),
            buffer: Vec::new(),
        }
    }

    /// Formats one prime (2, which no window holds) on the calling thread.
    pub fn push_prime(&mut self, prime: u64, out: &mut Vec<u8>) {
        push_prime(self.format, &mut self.python, prime, out);
    }

    /// Formats the primes of odd-only `words` (bit 0 stands for `first_odd`) in parts on the
    /// current rayon pool, a batch of parts at a time, handing each batch's text in order to
    /// `write`, which hands back a buffer for a later batch (any `Vec`, best one written before).
    pub fn window<E: Send>(
        &mut self,
        first_odd: u64,
        words: &[u64],
        write: impl FnMut(Vec<u8>) -> Result<Vec<u8>, E>,
    ) -> Result<(), E> {
        let last = first_odd - 1 + (128 * words.len() as u64 - 1);
        self.window_counted(first_odd, words, (first_odd - 1, last), write)
            .map(|_| ())
    }

    /// [`Self::window`] that also counts the primes (and twin pairs) of `[range.0, range.1]`,
    /// which the words cover, in the same pass.
    ///
    /// Each batch's parts are formatted straight into one buffer, each into its own slice (its
    /// exact length known beforehand from popcounts, [`text_len`]), and the buffer goes to `write`
    /// whole: no copy between formatting and the sink, one write per batch. `write` is expected to
    /// hand the buffer to a thread that writes it ([`crate::output::Sink::write_buffer`]), so
    /// that the pool formats batch b + 1 while batch b is written.
    pub fn window_counted<E: Send>(
        &mut self,
        first_odd: u64,
        words: &[u64],
        range: (u64, u64),
        mut write: impl FnMut(Vec<u8>) -> Result<Vec<u8>, E>,
    ) -> Result<Counts, E> {
        if words.is_empty() {
            return Ok(Counts::of_words(range.0, range.1, words)); // [0, 0] has no odd number
        }
        let (format, part_words) = (self.format, self.part_words);
        let batch_words = part_words * self.parts_per_batch;
        let mut counts = None::<Counts>;
        for (b, batch) in words.chunks(batch_words).enumerate() {
            let batch_odd = first_odd + 128 * (b * batch_words) as u64;
            // Where each part starts (only Python's format needs to know) and its text's length.
            let mut starts = Vec::with_capacity(self.parts_per_batch);
            let mut lens = Vec::with_capacity(self.parts_per_batch);
            for (i, part) in batch.chunks(part_words).enumerate() {
                let odd = batch_odd + 128 * (i * part_words) as u64;
                starts.push(self.python);
                lens.push(text_len(format, self.python, odd, part));
                if format == Format::Python {
                    self.python = python_skip_words(self.python, odd, part);
                }
            }
            let mut text = std::mem::take(&mut self.buffer);
            // Only what grows is zeroed: a buffer handed back is about as long as the next text.
            text.resize(lens.iter().sum(), 0);
            let mut slices = Vec::with_capacity(lens.len());
            let mut rest = &mut text[..];
            for &len in &lens {
                let (slice, after) = rest.split_at_mut(len);
                slices.push(slice);
                rest = after;
            }
            let batch_counts = slices
                .into_par_iter()
                .zip(batch.par_chunks(part_words))
                .zip(starts)
                .enumerate()
                .map(|(i, ((slice, part), mut python))| {
                    let odd = batch_odd + 128 * (i * part_words) as u64;
                    format_words(format, &mut python, odd, part, slice);
                    // The part's numbers within `range` (never empty: windows hold no word
                    // wholly outside it).
                    let last = (odd - 1).saturating_add(128 * part.len() as u64 - 1);
                    Counts::of_words((odd - 1).max(range.0), last.min(range.1), part)
                })
                .reduce_with(Counts::combine)
                .expect("a batch has a part");
            counts = Some(counts.map_or(batch_counts, |c| c.combine(batch_counts)));
            self.buffer = write(text)?;
        }
        Ok(counts.expect("a window with words has a batch"))
    }

    /// What ends the listing (see [`ending`]).
    pub fn ending(&self) -> &'static [u8] {
        ending(self.format, self.python)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::PrimeWriter;
    use proptest::prelude::*;

    /// The primes of `[lo, hi]` as windows of odd-only words laid out from `lo & !127`.
    fn words_of(lo: u64, hi: u64) -> Vec<u64> {
        let primes = sieve_core::SievingPrimes::for_hi(hi);
        let mut sieve = sieve_core::Sieve::new(sieve_core::SieveConfig::default());
        let mut words = Vec::new();
        sieve.for_each_window(&primes, lo, hi, |w| words.extend_from_slice(w.words()));
        words
    }

    /// The one-thread formatter's text for `[lo, hi]`.
    fn reference(format: Format, lo: u64, hi: u64) -> Vec<u8> {
        let mut w = PrimeWriter::new(Vec::new(), format);
        for p in sieve_core::oracle::primes_between(lo, hi) {
            w.push(p).unwrap();
        }
        w.finish().unwrap()
    }

    /// `[lo, hi]` (its `words`) formatted in parts of `part_words`, the words fed in windows of
    /// `window_words`.
    fn parallel(
        format: Format,
        (lo, hi): (u64, u64),
        words: &[u64],
        part_words: usize,
        window_words: usize,
    ) -> Vec<u8> {
        let first_odd = (lo & !127) + 1;
        let mut f = ParallelFormatter::new(format, 3, part_words);
        let mut out = Vec::new();
        if lo <= 2 && 2 <= hi {
            f.push_prime(2, &mut out);
        }
        for (k, window) in words.chunks(window_words.max(1)).enumerate() {
            let odd = first_odd + 128 * (k * window_words) as u64;
            f.window(odd, window, |text| {
                out.extend_from_slice(&text);
                Ok::<_, ()>(text)
            })
            .unwrap();
        }
        out.extend_from_slice(f.ending());
        out
    }

    #[test]
    fn skip_is_take_repeated() {
        for digits in 1..=20 {
            for line in 0..=80usize {
                for started in [false, true] {
                    if started != (line > 0) || (started && line < digits + 1) {
                        continue; // not a state a listing reaches
                    }
                    let start = PythonState { line, started };
                    let mut stepped = start;
                    for n in 0..200u64 {
                        assert_eq!(start.skip(digits, n), stepped, "{digits} {line} {n}");
                        stepped.take(digits);
                    }
                }
            }
        }
    }

    #[test]
    fn every_cut_matches_one_thread() {
        // Ranges that cross 10, 100, 1000, 10^4 and 10^5, and one near 2^64; parts and windows of
        // every small size put a cut after every word.
        for (lo, hi) in [
            (0u64, 3000u64),
            (0, 130_000),
            (9_000, 12_000),
            (999_000, 1_001_000),
            (u64::MAX - 20_000, u64::MAX),
        ] {
            let words = words_of(lo, hi);
            for format in [Format::Lines, Format::Python, Format::Binary] {
                let want = reference(format, lo, hi);
                for part in [1, 2, 3, 5, 8, 64] {
                    for window in [1, 2, 7, 64, 1 << 20] {
                        assert!(
                            parallel(format, (lo, hi), &words, part, window) == want,
                            "{format:?} [{lo}, {hi}] part {part} window {window}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn python_state_counts_across_a_power_of_ten() {
        // 10^12 - 10^4 .. 10^12 + 10^4: tokens change length inside one word.
        let (lo, hi) = (999_999_990_000u64, 1_000_000_010_000u64);
        let want = reference(Format::Python, lo, hi);
        let words = words_of(lo, hi);
        for part in 1..=4 {
            assert!(
                parallel(Format::Python, (lo, hi), &words, part, 3) == want,
                "part {part}"
            );
        }
    }

    /// Odd-only words from `first_odd` with the bit of each odd number `n` that `keep(n)`: any
    /// numbers, not only primes, so that every digit count and gap can be put where wanted.
    fn words_where(first_odd: u64, words: usize, keep: impl Fn(u64) -> bool) -> Vec<u64> {
        (0..words)
            .map(|j| {
                (0..64).fold(0u64, |word, i| {
                    let n = first_odd + 128 * j as u64 + 2 * i;
                    word | u64::from(keep(n)) << i
                })
            })
            .collect()
    }

    /// The numbers whose bits `words` set, as the slow oracle sees them: one by one.
    fn numbers_of(first_odd: u64, words: &[u64]) -> Vec<u64> {
        let mut numbers = Vec::new();
        for (j, &word) in words.iter().enumerate() {
            for i in 0..64 {
                if word >> i & 1 == 1 {
                    numbers.push(first_odd + 128 * j as u64 + 2 * i);
                }
            }
        }
        numbers
    }

    /// What the listing of `numbers` must be, written too plainly to be wrong: `format!` of each
    /// number, and for Python a greedy fill of `str(list)` split at its spaces, as
    /// `textwrap.fill(..., 80)` does it for words shorter than a line.
    fn oracle(format: Format, numbers: &[u64]) -> Vec<u8> {
        match format {
            Format::Lines => numbers
                .iter()
                .map(|n| format!("{n}\n"))
                .collect::<String>()
                .into(),
            Format::Python => {
                let list = format!("{numbers:?}");
                let mut lines: Vec<String> = Vec::new();
                for word in list.split(' ') {
                    match lines.last_mut() {
                        Some(line) if line.len() + 1 + word.len() <= 80 => {
                            line.push(' ');
                            line.push_str(word);
                        }
                        _ => lines.push(word.to_string()),
                    }
                }
                (lines.join("\n") + "\n").into()
            }
            Format::Npy | Format::Binary => numbers.iter().flat_map(|n| n.to_le_bytes()).collect(),
        }
    }

    /// `words` from `first_odd` formatted in parts of `part_words` on three threads, with the
    /// ending.
    fn formatted(format: Format, first_odd: u64, words: &[u64], part_words: usize) -> Vec<u8> {
        let mut f = ParallelFormatter::new(format, 3, part_words);
        let mut out = Vec::new();
        f.window(first_odd, words, |text| {
            out.extend_from_slice(&text);
            Ok::<_, ()>(text)
        })
        .unwrap();
        out.extend_from_slice(f.ending());
        out
    }

    /// Checks every format of `words` from `first_odd` against [`oracle`], in one part and in
    /// parts of 1, 2 and 5 words.
    fn check_against_oracle(first_odd: u64, words: &[u64]) {
        let numbers = numbers_of(first_odd, words);
        for format in [Format::Lines, Format::Python, Format::Binary] {
            let want = oracle(format, &numbers);
            for part in [1, 2, 5, words.len().max(1)] {
                let got = formatted(format, first_odd, words, part);
                assert!(
                    got == want,
                    "{format:?} from {first_odd}, part {part}: {:?}",
                    String::from_utf8_lossy(&got[..got.len().min(200)])
                );
            }
        }
    }

    #[test]
    fn carried_digits_match_format_across_every_power_of_ten() {
        // Each power of ten (and 2^64 - 1 at the top) crossed by every odd number (gaps of 2:
        // a carry out of the low digits every 5000 numbers, all nines before the power), by a
        // sparse pattern, and by a few numbers far apart (gaps over 10^4: full conversions).
        let mut centres: Vec<u64> = (1..=19).map(|k| 10u64.pow(k)).collect();
        centres.push(u64::MAX - 3000);
        for centre in centres {
            let first_odd = (centre.saturating_sub(6000) & !127) + 1;
            let words = 96.min((u64::MAX - first_odd) / 128 + 1) as usize;
            check_against_oracle(first_odd, &words_where(first_odd, words, |_| true));
            check_against_oracle(
                first_odd,
                &words_where(first_odd, words, |n| {
                    n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 60 == 0
                }),
            );
            check_against_oracle(
                first_odd,
                &words_where(first_odd, words, |n| n % 4001 < 2 || n % 10_007 < 2),
            );
        }
        // From 1: one- to five-digit numbers, and the slow path below 10^4 handing over to the
        // carried one.
        check_against_oracle(1, &words_where(1, 200, |_| true));
        check_against_oracle(1, &words_where(1, 200, |n| n % 3 == 1 || n < 200));
        // 2^64 - 1 itself, alone in the last word.
        let last_word = u64::MAX - 127;
        check_against_oracle(last_word, &words_where(last_word, 1, |n| n == u64::MAX));
    }

    #[test]
    fn python_after_the_first_token_matches_textwrap_with_two() {
        // The listing of [0, hi] starts with 2, which no window holds ([`ParallelFormatter::
        // push_prime`]), so the parts never write Python's `[`.
        let words = words_where(1, 300, |n| n % 3 != 0 || n == 3);
        let mut numbers = vec![2];
        numbers.extend(numbers_of(1, &words));
        for part in [1, 3, 300] {
            let mut f = ParallelFormatter::new(Format::Python, 2, part);
            let mut out = Vec::new();
            f.push_prime(2, &mut out);
            f.window(1, &words, |text| {
                out.extend_from_slice(&text);
                Ok::<_, ()>(text)
            })
            .unwrap();
            out.extend_from_slice(f.ending());
            assert!(out == oracle(Format::Python, &numbers), "part {part}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_cuts_match_one_thread(
            lo in 0u64..2_000_000,
            width in 0u64..40_000,
            part in 1usize..40,
            window in 1usize..80,
        ) {
            let hi = lo + width;
            let want = reference(Format::Python, lo, hi);
            let words = words_of(lo, hi);
            prop_assert!(parallel(Format::Python, (lo, hi), &words, part, window) == want);
        }

        #[test]
        fn random_words_anywhere_match_the_oracle(
            start in any::<u64>(),
            seed in any::<u64>(),
            density in 0u32..8,
            words in 1usize..40,
        ) {
            let first_odd = (start.min(u64::MAX - 128 * words as u64 + 1) & !127) + 1;
            let words = words_where(first_odd, words, |n| {
                (n ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - 8) < 1 << density
            });
            check_against_oracle(first_odd, &words);
        }
    }
}
