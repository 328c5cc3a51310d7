//! Oliveira e Silva's bucket sieve for sieving primes with fewer than a few multiples per segment.
//!
//! Scanning every large prime in every segment would cost `pi(sqrt(hi))` per segment even though most
//! have no multiple there. Instead each prime waits in the bucket of the segment that holds its next
//! multiple; a segment only touches the primes that hit it, and each hit re-files its prime into the
//! bucket of its following multiple. Buckets form a ring indexed by segment number modulo its size,
//! which exceeds the largest jump (`3p` bits) in segments, so a prime is never filed into the bucket
//! being emptied. A prime with several multiples in one segment is crossed off repeatedly before it
//! is re-filed, so any prime may live here; the sieve sends only those with few hits per segment.

use crate::wheel::STEP;

/// Bits of [`Entry::packed`] that hold the offset; the top three hold the wheel index.
const OFFSET_BITS: u32 = 29;
const OFFSET_MASK: u32 = (1 << OFFSET_BITS) - 1;

/// A prime waiting for its next multiple: the prime and, packed, that multiple's bit offset within its
/// segment and its wheel index.
#[derive(Clone, Copy)]
struct Entry {
    prime: u32,
    packed: u32,
}

/// The ring of buckets, with its allocations kept across segments and intervals.
pub(crate) struct Buckets {
    ring: Vec<Vec<Entry>>,
    /// Segments in the current interval; hits in later segments are dropped.
    segments: u64,
    seg_shift: u32,
}

impl Buckets {
    pub(crate) fn new() -> Self {
        Self {
            ring: Vec::new(),
            segments: 0,
            seg_shift: 0,
        }
    }

    /// Prepares for an interval of `segments` segments of `2^seg_shift` bits whose largest sieving
    /// prime is `max_prime`.
    pub(crate) fn reset(&mut self, segments: u64, seg_shift: u32, max_prime: u64) {
        debug_assert!(seg_shift <= OFFSET_BITS);
        let reach = ((3 * max_prime) >> seg_shift) as usize + 2;
        let size = reach.next_power_of_two();
        for bucket in &mut self.ring {
            bucket.clear();
        }
        if self.ring.len() < size {
            self.ring.resize_with(size, Vec::new);
        }
        // A smaller ring than before is fine as long as it is a power of two that covers `reach`:
        // keep the longer one (its extra buckets simply stay empty).
        self.segments = segments;
        self.seg_shift = seg_shift;
    }

    fn mask(&self) -> u64 {
        self.ring.len() as u64 - 1
    }

    /// Files `prime`, whose next multiple is at bit `offset` of segment `segment` with wheel index
    /// `wheel`; dropped if that segment is past the interval.
    #[inline]
    pub(crate) fn insert(&mut self, prime: u32, segment: u64, offset: u64, wheel: usize) {
        if segment < self.segments {
            let packed = offset as u32 | (wheel as u32) << OFFSET_BITS;
            let idx = (segment & self.mask()) as usize;
            self.ring[idx].push(Entry { prime, packed });
        }
    }

    /// Crosses off the hits of segment `segment` in `words` (bits below `limit` only) and re-files each
    /// prime at its next multiple.
    pub(crate) fn sieve_segment(&mut self, segment: u64, words: &mut [u64], limit: usize) {
        assert!(limit <= words.len() * 64);
        let mask = self.mask();
        let shift = self.seg_shift;
        let idx = (segment & mask) as usize;
        let mut current = std::mem::take(&mut self.ring[idx]);
        let seg_bits = 1u64 << shift;
        for e in &current {
            let prime = u64::from(e.prime);
            let mut offset = u64::from(e.packed & OFFSET_MASK);
            let mut wheel = (e.packed >> OFFSET_BITS) as usize;
            // A prime may hit this segment more than once: cross off until the next multiple lies
            // in a later segment, then file it there.
            loop {
                if offset < limit as u64 {
                    // SAFETY: offset < limit <= 64 * words.len(), asserted above.
                    unsafe {
                        *words.get_unchecked_mut(offset as usize / 64) &= !(1u64 << (offset % 64))
                    };
                }
                offset += STEP[wheel] as u64 * prime;
                wheel = (wheel + 1) % 8;
                if offset >= seg_bits {
                    break;
                }
            }
            let target = segment + (offset >> shift);
            if target < self.segments {
                let t = (target & mask) as usize;
                debug_assert_ne!(t, idx, "bucket ring too small");
                let packed = (offset & (seg_bits - 1)) as u32 | (wheel as u32) << OFFSET_BITS;
                self.ring[t].push(Entry {
                    prime: e.prime,
                    packed,
                });
            }
        }
        current.clear();
        self.ring[idx] = current;
    }
}
