//! Oliveira e Silva's bucket sieve for the large sieving primes: those at least the segment's bit
//! count, which hit a segment at most once.
//!
//! Scanning every large prime in every segment would cost `pi(sqrt(hi))` per segment even though most
//! have no multiple there. Instead each prime waits in the bucket of the segment that holds its next
//! multiple; a segment only touches the primes that hit it, and each hit re-files its prime into the
//! bucket of its following multiple. Buckets form a ring indexed by segment number modulo its size,
//! which exceeds the largest jump (`5p` bits on the modulo-210 wheel) in segments, so a prime is
//! never filed into the bucket being emptied. The primes step on the modulo-210 wheel
//! ([`crate::wheel::first_multiple_210`]): 48 hits per 210 multiples instead of 56.
//!
//! # Memory: fixed-size blocks from one pool
//! A bucket is a list of fixed-size blocks of entries taken from a pool shared by the whole ring,
//! and a block goes back to the pool as soon as its segment has been sieved (primesieve's `EratBig`
//! and its memory pool do the same). Memory is therefore the live entries (8 bytes per sieving prime
//! still to hit the interval) plus at most one partly filled block per ring slot, however many
//! segments the interval has. Growable vectors per slot would instead each keep the capacity of
//! their fullest moment, and every slot is at some point the one about to be sieved, the fullest:
//! near 10^18 that was twenty times the live entries.
//!
//! Source: T. Oliveira e Silva, S. Herzog, S. Pardi, "Empirical verification of the even Goldbach
//! conjecture and computation of prime gaps up to 4·10^18", Math. Comp. 83 (2014), section 2.2;
//! K. Walisch, primesieve's `doc/ALGORITHMS.md` ("EratBig").

use crate::wheel::STEP_210;

/// Bits of [`Entry::packed`] that hold the offset; the top six hold the wheel index (modulo-30 or
/// modulo-210 wheel). Segments are therefore at most `2^26` bits (8 MiB).
const OFFSET_BITS: u32 = 26;
const OFFSET_MASK: u32 = (1 << OFFSET_BITS) - 1;

/// Entries per block, the first of them the block's header: 4 KiB (one page), large enough that
/// taking a block from the pool is rare, small enough that the ring's partly filled blocks (one
/// per slot, up to 8,192 slots near 2^64) stay a few tens of MiB.
const BLOCK: usize = 512;

/// Bytes per block; blocks are aligned to it, so a write position that reaches a multiple of it
/// has filled its block (primesieve's buckets use the same trick).
const BLOCK_BYTES: usize = BLOCK * std::mem::size_of::<Entry>();

/// Blocks per page of the pool: pages are allocated whole and never move, so the pool grows
/// without copying what it holds (a doubling vector would briefly need twice the memory).
const PAGE_BLOCKS: usize = 128;

/// The longest step of the modulo-210 wheel, in units of `p` bits (the gap 199 -> 209 -> 211).
const MAX_STEP: u64 = {
    let (mut max, mut w) = (0, 0);
    while w < STEP_210.len() {
        if STEP_210[w] as u64 > max {
            max = STEP_210[w] as u64;
        }
        w += 1;
    }
    max
};

/// No block (end of a list).
const NONE: u32 = u32::MAX;

/// A prime waiting for its next multiple: the prime and, packed, that multiple's bit offset within
/// its segment and its wheel index. Entry 0 of each block is instead its header: `prime` holds the
/// next (full) block of the same bucket or `NONE`, `packed` the block's own number.
#[derive(Clone, Copy, Default)]
struct Entry {
    prime: u32,
    packed: u32,
}

/// One page of the pool: `PAGE_BLOCKS` blocks in one allocation aligned to `BLOCK_BYTES`.
struct Page(std::ptr::NonNull<Entry>);

impl Page {
    fn layout() -> std::alloc::Layout {
        std::alloc::Layout::from_size_align(PAGE_BLOCKS * BLOCK_BYTES, BLOCK_BYTES)
            .expect("a valid page layout")
    }

    fn new() -> Self {
        debug_assert!(Self::layout().size() > 0);
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc(Self::layout()) };
        match std::ptr::NonNull::new(ptr.cast::<Entry>()) {
            Some(p) => Self(p),
            None => std::alloc::handle_alloc_error(Self::layout()),
        }
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        // SAFETY: allocated in `Page::new` with this layout, and freed only here.
        unsafe { std::alloc::dealloc(self.0.as_ptr().cast(), Self::layout()) };
    }
}

// SAFETY: a page is plain memory owned by one `Buckets`; nothing about it is tied to a thread.
unsafe impl Send for Page {}

/// The ring of buckets and the pool of blocks behind it, kept across segments and intervals.
///
/// Invariants: every block is either on `free` or in exactly one bucket; a bucket is a list of
/// blocks linked through their headers, the first one (where `write[slot]` points) being filled
/// and all others full; `write[slot]` is null for an empty bucket and otherwise points into its
/// first block, past the header and at most at the block's end.
pub(crate) struct Buckets {
    pages: Vec<Page>,
    /// Blocks not in any bucket.
    free: Vec<u32>,
    /// For each ring slot, where its next entry goes (null: the bucket is empty).
    write: Vec<*mut Entry>,
    /// Segments in the current interval; hits in later segments are dropped.
    segments: u64,
    seg_shift: u32,
}

// SAFETY: the raw pointers in `write` point into `pages`, which `Buckets` owns.
unsafe impl Send for Buckets {}

impl Buckets {
    pub(crate) fn new() -> Self {
        Self {
            pages: Vec::new(),
            free: Vec::new(),
            write: Vec::new(),
            segments: 0,
            seg_shift: 0,
        }
    }

    /// Prepares for an interval of `segments` segments of `2^seg_shift` bits whose sieving primes
    /// are at most `max_prime`. Every block goes back to the pool.
    pub(crate) fn reset(&mut self, segments: u64, seg_shift: u32, max_prime: u64) {
        debug_assert!(seg_shift <= OFFSET_BITS);
        // A prime jumps at most `MAX_STEP * p` bits: the ring must reach past that.
        let reach = ((MAX_STEP * max_prime) >> seg_shift) as usize + 2;
        let size = reach.next_power_of_two();
        let blocks = (self.pages.len() * PAGE_BLOCKS) as u32;
        self.free.clear();
        self.free.extend((0..blocks).rev());
        self.write.clear();
        self.write.resize(size, std::ptr::null_mut());
        self.segments = segments;
        self.seg_shift = seg_shift;
    }

    fn mask(&self) -> u64 {
        self.write.len() as u64 - 1
    }

    /// The first entry (the header) of block `b`.
    fn block(&self, b: u32) -> *mut Entry {
        let b = b as usize;
        let page = &self.pages[b / PAGE_BLOCKS];
        debug_assert!((b % PAGE_BLOCKS) * BLOCK < PAGE_BLOCKS * BLOCK);
        // SAFETY: the offset is less than PAGE_BLOCKS * BLOCK entries, inside the page.
        unsafe { page.0.as_ptr().add((b % PAGE_BLOCKS) * BLOCK) }
    }

    /// Starts a new block for `slot`, whose first block is full (or which is empty), taking it from
    /// the pool and allocating a new page when the pool is empty.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, slot: usize) {
        let b = match self.free.pop() {
            Some(b) => b,
            None => {
                let first = self.pages.len() * PAGE_BLOCKS;
                assert!(first + PAGE_BLOCKS < NONE as usize, "bucket pool exhausted");
                self.pages.push(Page::new());
                self.free
                    .extend(((first + 1) as u32..(first + PAGE_BLOCKS) as u32).rev());
                first as u32
            }
        };
        let full = self.write[slot];
        debug_assert!(full as usize % BLOCK_BYTES == 0);
        let next = if full.is_null() {
            NONE
        } else {
            // SAFETY: `full` is the end of a full block (the invariant), so its header lies
            // BLOCK entries before it, in the same page.
            unsafe { (*full.sub(BLOCK)).packed }
        };
        let header = self.block(b);
        debug_assert!(header as usize % BLOCK_BYTES == 0);
        // SAFETY: `header` is the first entry of block `b`, which was free and is now this slot's;
        // entry 1 is still inside the block (BLOCK > 1).
        unsafe {
            header.write(Entry {
                prime: next,
                packed: b,
            });
            self.write[slot] = header.add(1);
        }
    }

    #[inline(always)]
    fn push(&mut self, slot: usize, e: Entry) {
        debug_assert!(slot < self.write.len());
        // SAFETY: slot < write.len(): every caller masks it with `mask()`.
        let mut at = unsafe { *self.write.get_unchecked(slot) };
        if at as usize % BLOCK_BYTES == 0 {
            // A null pointer (empty bucket) or the end of a full block.
            self.grow(slot);
            at = self.write[slot];
        }
        debug_assert!(!at.is_null() && at as usize % BLOCK_BYTES != 0);
        // SAFETY: by the invariant `at` lies in the slot's first block, and it is not at the block's
        // end (that case was just handled), so it is a valid, exclusively owned entry.
        unsafe {
            at.write(e);
            *self.write.get_unchecked_mut(slot) = at.add(1);
        }
    }

    /// Files `prime`, whose next multiple is at bit `offset` of segment `segment` with wheel index
    /// `wheel`; dropped if that segment is past the interval.
    #[inline]
    pub(crate) fn insert(&mut self, prime: u32, segment: u64, offset: u64, wheel: usize) {
        if segment < self.segments {
            let packed = offset as u32 | (wheel as u32) << OFFSET_BITS;
            let slot = (segment & self.mask()) as usize;
            self.push(slot, Entry { prime, packed });
        }
    }

    /// Crosses off the hits of segment `segment` in `words`, which must span the whole segment
    /// (`2^seg_shift` bits, even for a last segment that is shorter: bits past its end may be
    /// cleared), and re-files each prime at its next multiple.
    ///
    /// Every prime here is at least the segment's bit count, so it hits a segment at most once:
    /// the loop has no inner loop, whose exit would be mispredicted about once per entry.
    pub(crate) fn sieve_segment(&mut self, segment: u64, words: &mut [u64]) {
        assert!(words.len() * 64 >= 1 << self.seg_shift);
        let mask = self.mask();
        let shift = self.seg_shift;
        let slot = (segment & mask) as usize;
        let seg_bits = 1u64 << shift;
        // Detach this segment's list; entries re-filed below go to other slots (the ring is larger
        // than any jump), so the detached blocks are only read, then returned to the pool.
        let mut end = std::mem::replace(&mut self.write[slot], std::ptr::null_mut());
        if end.is_null() {
            return;
        }
        // The first block holds entries up to `end`; the rest of the list is full.
        let last = end.wrapping_sub(1);
        // SAFETY: `end` lies in the first block, after its header and at most at its end (the
        // invariant), so `last` is an entry of that block and stepping back to the block's start
        // stays inside it.
        let mut header = unsafe { last.byte_sub(last as usize % BLOCK_BYTES) };
        loop {
            debug_assert!(header as usize % BLOCK_BYTES == 0 && end > header);
            // SAFETY: `header` is the first entry of a detached block; its entries before `end`
            // were all written by `push`, and no other slot writes into a detached block.
            let (next, own) = unsafe { ((*header).prime, (*header).packed) };
            let mut e_ptr = header.wrapping_add(1);
            while e_ptr < end {
                // SAFETY: as above, `e_ptr` (between the header and `end`) is a written entry of
                // the detached block.
                let e = unsafe { e_ptr.read() };
                e_ptr = e_ptr.wrapping_add(1);
                let prime = u64::from(e.prime);
                let mut offset = u64::from(e.packed & OFFSET_MASK);
                let mut wheel = (e.packed >> OFFSET_BITS) as usize;
                debug_assert!(offset < seg_bits && wheel < 48);
                // SAFETY: offset < seg_bits <= 64 * words.len(): entries are filed with an offset
                // inside their segment (the mask below, and `insert`'s callers).
                unsafe {
                    *words.get_unchecked_mut(offset as usize / 64) &= !(1u64 << (offset % 64))
                };
                offset += u64::from(STEP_210[wheel]) * prime;
                wheel = if wheel == 47 { 0 } else { wheel + 1 };
                debug_assert!(offset >= seg_bits, "a prime below the segment's bit count");
                let target = segment + (offset >> shift);
                if target < self.segments {
                    let t = (target & mask) as usize;
                    debug_assert_ne!(t, slot, "bucket ring too small");
                    let packed = (offset & (seg_bits - 1)) as u32 | (wheel as u32) << OFFSET_BITS;
                    self.push(
                        t,
                        Entry {
                            prime: e.prime,
                            packed,
                        },
                    );
                }
            }
            self.free.push(own);
            if next == NONE {
                break;
            }
            header = self.block(next);
            debug_assert!(header as usize % BLOCK_BYTES == 0);
            // SAFETY: blocks after the first are full: their entries end BLOCK entries on.
            end = unsafe { header.add(BLOCK) };
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_longest_wheel_step_is_five_primes() {
        // 199 and 209 are consecutive residues coprime to 210: 10 numbers, 5 bits per p.
        assert_eq!(super::MAX_STEP, 5);
    }
}
