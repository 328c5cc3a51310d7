//! The odd-only, bit-packed bitmap: the unit the sieve produces and the driver gathers.
//!
//! # Layout
//! An [`OddBitmap`] describes the closed interval `[lo, hi]`. Its bits stand for the odd numbers of
//! that interval in order: bit `i` stands for `base + 2*i`, where `base` is the first odd number
//! `>= lo`. A set bit means prime. The bits are packed least-significant-bit first into `u64` words
//! (`BitVec<u64, Lsb0>`), so bit `i` is bit `i % 64` of word `i / 64`, and the unused high bits of the
//! last word are always zero.
//!
//! The number 2, the only even prime, has no bit: [`OddBitmap::count_primes`],
//! [`OddBitmap::is_prime`] and [`OddBitmap::primes`] account for it whenever `lo <= 2 <= hi`.
//!
//! # Concatenation
//! One word covers 128 consecutive numbers. A bitmap whose `lo` is a multiple of 128 therefore starts
//! on a word boundary, and if its `hi + 1` is a multiple of 128 too it ends on one: the words of
//! adjacent windows `[128a, 128b - 1]` and `[128b, hi]` join word by word into the bitmap of
//! `[128a, hi]` with no bit shifting. [`OddBitmap::append`] does exactly that (and falls back to a bit
//! copy for unaligned windows).

use bitvec::prelude::*;

/// Why a bitmap could not be rebuilt from raw words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BitmapError {
    /// `lo > hi`.
    EmptyInterval {
        /// The interval's first number.
        lo: u64,
        /// The interval's last number.
        hi: u64,
    },
    /// The number of words does not match the interval.
    WrongLength {
        /// Words the interval needs.
        expected: usize,
        /// Words supplied.
        found: usize,
    },
    /// Bits past the end of the interval are set.
    DirtyPadding,
    /// Two bitmaps that are not adjacent cannot be appended.
    NotAdjacent {
        /// Last number of the first bitmap.
        hi: u64,
        /// First number of the second bitmap.
        lo: u64,
    },
}

impl std::fmt::Display for BitmapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EmptyInterval { lo, hi } => write!(f, "empty interval: lo {lo} > hi {hi}"),
            Self::WrongLength { expected, found } => {
                write!(f, "bitmap has {found} words, the interval needs {expected}")
            }
            Self::DirtyPadding => write!(f, "bitmap has bits set past the end of its interval"),
            Self::NotAdjacent { hi, lo } => {
                write!(
                    f,
                    "bitmaps are not adjacent: one ends at {hi}, the next starts at {lo}"
                )
            }
        }
    }
}

impl std::error::Error for BitmapError {}

/// Number of odd numbers in `[lo, hi]` (`lo <= hi`), without overflow at `2^64 - 1`.
#[inline]
pub const fn odd_count(lo: u64, hi: u64) -> u64 {
    // Odd numbers <= x number (x + 1) / 2, written as x / 2 + (x & 1) so 2^64 - 1 cannot overflow.
    const fn upto(x: u64) -> u64 {
        x / 2 + (x & 1)
    }
    upto(hi) - if lo == 0 { 0 } else { upto(lo - 1) }
}

/// The odd-only bitmap of primes in `[lo, hi]`. See the [module docs](self) for the layout.
#[derive(Clone, PartialEq, Eq)]
pub struct OddBitmap {
    lo: u64,
    hi: u64,
    bits: BitVec<u64, Lsb0>,
}

impl std::fmt::Debug for OddBitmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OddBitmap")
            .field("lo", &self.lo)
            .field("hi", &self.hi)
            .field("bits", &self.bits.len())
            .finish()
    }
}

impl OddBitmap {
    /// Words needed for the bitmap of `[lo, hi]`.
    pub const fn words_for(lo: u64, hi: u64) -> usize {
        odd_count(lo, hi).div_ceil(64) as usize
    }

    /// Rebuilds a bitmap from its raw words (as produced by [`OddBitmap::words`]), checking that the
    /// length matches `[lo, hi]` and that the padding bits are zero.
    pub fn from_words(lo: u64, hi: u64, words: Vec<u64>) -> Result<Self, BitmapError> {
        if lo > hi {
            return Err(BitmapError::EmptyInterval { lo, hi });
        }
        let len = odd_count(lo, hi) as usize;
        let expected = len.div_ceil(64);
        if words.len() != expected {
            return Err(BitmapError::WrongLength {
                expected,
                found: words.len(),
            });
        }
        let tail = len % 64;
        if tail != 0 && words[expected - 1] >> tail != 0 {
            return Err(BitmapError::DirtyPadding);
        }
        let mut bits = BitVec::from_vec(words);
        bits.truncate(len);
        Ok(Self { lo, hi, bits })
    }

    /// The interval's first number.
    pub fn lo(&self) -> u64 {
        self.lo
    }

    /// The interval's last number.
    pub fn hi(&self) -> u64 {
        self.hi
    }

    /// The odd number bit 0 stands for (the first odd number `>= lo`), or `None` if the interval holds
    /// no odd number.
    pub fn base(&self) -> Option<u64> {
        let base = self.lo | 1;
        (base <= self.hi).then_some(base)
    }

    /// The bits, one per odd number.
    pub fn bits(&self) -> &BitSlice<u64, Lsb0> {
        &self.bits
    }

    /// The raw words, least significant bit first; the padding bits of the last word are zero.
    pub fn words(&self) -> &[u64] {
        self.bits.as_raw_slice()
    }

    /// Consumes the bitmap, returning its raw words.
    pub fn into_words(self) -> Vec<u64> {
        self.bits.into_vec()
    }

    /// Whether `n` (which must lie in `[lo, hi]`) is prime.
    pub fn is_prime(&self, n: u64) -> bool {
        assert!(
            self.lo <= n && n <= self.hi,
            "{n} is outside [{}, {}]",
            self.lo,
            self.hi
        );
        if n.is_multiple_of(2) {
            return n == 2;
        }
        self.bits[((n - (self.lo | 1)) / 2) as usize]
    }

    /// Number of primes in `[lo, hi]`, including 2 when it lies in the interval.
    pub fn count_primes(&self) -> u64 {
        let two = u64::from(self.lo <= 2 && 2 <= self.hi);
        two + self
            .words()
            .iter()
            .map(|w| u64::from(w.count_ones()))
            .sum::<u64>()
    }

    /// The primes of `[lo, hi]` in increasing order, 2 included when it lies in the interval.
    pub fn primes(&self) -> impl Iterator<Item = u64> + '_ {
        let two = (self.lo <= 2 && 2 <= self.hi).then_some(2);
        let base = self.lo | 1;
        two.into_iter()
            .chain(self.bits.iter_ones().map(move |i| base + 2 * i as u64))
    }

    /// Appends the bitmap of the adjacent interval `[self.hi + 1, next.hi]`. When `self` ends on a word
    /// boundary (its bit count is a multiple of 64, as for windows split at multiples of 128) the
    /// words are joined directly; otherwise the bits are copied.
    pub fn append(&mut self, next: &OddBitmap) -> Result<(), BitmapError> {
        if self.hi.checked_add(1) != Some(next.lo) {
            return Err(BitmapError::NotAdjacent {
                hi: self.hi,
                lo: next.lo,
            });
        }
        if self.bits.len().is_multiple_of(64) {
            let mut words = std::mem::take(&mut self.bits).into_vec();
            words.extend_from_slice(next.words());
            let len = words.len() * 64 - (next.words().len() * 64 - next.bits.len());
            let mut bits = BitVec::from_vec(words);
            bits.truncate(len);
            self.bits = bits;
        } else {
            self.bits.extend_from_bitslice(&next.bits);
            self.bits.set_uninitialized(false);
        }
        self.hi = next.hi;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_count_edges() {
        assert_eq!(odd_count(0, 0), 0);
        assert_eq!(odd_count(0, 1), 1);
        assert_eq!(odd_count(1, 1), 1);
        assert_eq!(odd_count(2, 2), 0);
        assert_eq!(odd_count(0, 127), 64);
        assert_eq!(odd_count(0, u64::MAX), 1 << 63);
        assert_eq!(odd_count(u64::MAX, u64::MAX), 1);
        for lo in 0..40u64 {
            for hi in lo..60 {
                assert_eq!(
                    odd_count(lo, hi),
                    (lo..=hi).filter(|n| n % 2 == 1).count() as u64
                );
            }
        }
    }

    #[test]
    fn from_words_checks() {
        assert!(OddBitmap::from_words(0, 127, vec![0]).is_ok());
        assert_eq!(
            OddBitmap::from_words(0, 127, vec![0, 0]),
            Err(BitmapError::WrongLength {
                expected: 1,
                found: 2
            })
        );
        assert_eq!(
            OddBitmap::from_words(0, 9, vec![1 << 5]),
            Err(BitmapError::DirtyPadding)
        );
        assert!(matches!(
            OddBitmap::from_words(5, 4, vec![]),
            Err(BitmapError::EmptyInterval { .. })
        ));
    }
}

/// The bitmap file format written by `erato --bitmap`, read back by [`file::decode`].
///
/// A 64-byte header of little-endian fields, then the bitmap's words (see the module docs), each
/// as 8 little-endian bytes:
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `b"ERATOBM\0"` |
/// | 8 | 4 | version, 1 |
/// | 12 | 4 | layout, 1: odd-only, bit `i` of the stream stands for `base + 2i`, `base` the first odd number `>= lo` |
/// | 16 | 8 | `lo` |
/// | 24 | 8 | `hi` |
/// | 32 | 8 | number of words that follow |
/// | 40 | 24 | zero |
pub mod file {
    use super::{BitmapError, OddBitmap};

    /// The first 8 bytes of every bitmap file.
    pub const MAGIC: [u8; 8] = *b"ERATOBM\0";
    /// Size of the header in bytes.
    pub const HEADER_LEN: usize = 64;

    /// The header for the bitmap of `[lo, hi]`.
    pub fn header(lo: u64, hi: u64) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0..8].copy_from_slice(&MAGIC);
        h[8..12].copy_from_slice(&1u32.to_le_bytes());
        h[12..16].copy_from_slice(&1u32.to_le_bytes());
        h[16..24].copy_from_slice(&lo.to_le_bytes());
        h[24..32].copy_from_slice(&hi.to_le_bytes());
        h[32..40].copy_from_slice(&(OddBitmap::words_for(lo, hi) as u64).to_le_bytes());
        h
    }

    /// Why bytes are not a bitmap file.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum DecodeError {
        /// Shorter than the header, or the magic is wrong.
        NotABitmap,
        /// A version or layout this code does not know.
        Unsupported {
            /// The file's version.
            version: u32,
            /// The file's layout.
            layout: u32,
        },
        /// The words do not fit the header.
        Bitmap(BitmapError),
    }

    impl std::fmt::Display for DecodeError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Self::NotABitmap => write!(f, "not an erato bitmap file"),
                Self::Unsupported { version, layout } => {
                    write!(
                        f,
                        "unsupported bitmap file version {version}, layout {layout}"
                    )
                }
                Self::Bitmap(e) => write!(f, "corrupt bitmap file: {e}"),
            }
        }
    }

    impl std::error::Error for DecodeError {}

    /// Reads a whole bitmap file.
    pub fn decode(bytes: &[u8]) -> Result<OddBitmap, DecodeError> {
        if bytes.len() < HEADER_LEN || bytes[0..8] != MAGIC {
            return Err(DecodeError::NotABitmap);
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let (version, layout) = (u32_at(8), u32_at(12));
        if (version, layout) != (1, 1) {
            return Err(DecodeError::Unsupported { version, layout });
        }
        let (lo, hi, count) = (u64_at(16), u64_at(24), u64_at(32));
        let body = &bytes[HEADER_LEN..];
        if !body.len().is_multiple_of(8) || (body.len() / 8) as u64 != count {
            let expected = if lo <= hi {
                OddBitmap::words_for(lo, hi)
            } else {
                0
            };
            return Err(DecodeError::Bitmap(BitmapError::WrongLength {
                expected,
                found: body.len() / 8,
            }));
        }
        let words = body
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        OddBitmap::from_words(lo, hi, words).map_err(DecodeError::Bitmap)
    }

    /// The whole file for `bitmap` (for small bitmaps and tests; erato streams large ones).
    pub fn encode(bitmap: &OddBitmap) -> Vec<u8> {
        let mut out = header(bitmap.lo(), bitmap.hi()).to_vec();
        for w in bitmap.words() {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn round_trip_and_rejects() {
            let bitmap = crate::bitmap(1000, 100_000);
            let bytes = encode(&bitmap);
            assert_eq!(decode(&bytes), Ok(bitmap));
            assert_eq!(decode(b"short"), Err(DecodeError::NotABitmap));
            assert!(matches!(
                decode(&bytes[..bytes.len() - 8]),
                Err(DecodeError::Bitmap(_))
            ));
            let mut bad = bytes.clone();
            bad[8] = 2;
            assert_eq!(
                decode(&bad),
                Err(DecodeError::Unsupported {
                    version: 2,
                    layout: 1
                })
            );
        }
    }
}
