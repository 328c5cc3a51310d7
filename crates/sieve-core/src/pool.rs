//! Lists of sieving-prime entries in fixed-size blocks from one pool: the storage behind the
//! bucket sieve (`crate::bucket`), the sparse primes (`crate::sparse`) and the small, lower medium
//! and medium primes (`crate::small`).
//!
//! All three move every entry from one list to another once per segment. Growable vectors would each
//! keep the capacity of their fullest moment, and a list that is emptied while the next ones fill
//! needs a second set of vectors beside it: two to twenty times the live entries. Here a list is a
//! chain of fixed-size blocks, a block goes back to the pool as soon as its entries have been read, and
//! memory is the live entries plus at most one partly filled block per list (primesieve's
//! `EratBig`, `EratMedium` and their `MemoryPool` do the same).
//!
//! Source: K. Walisch, primesieve `src/MemoryPool.cpp` and `doc/ALGORITHMS.md`.

/// Bytes per page of the pool: pages are allocated whole and never move, so the pool grows
/// without copying what it holds (a doubling vector would briefly need twice the memory). Blocks
/// are handed out in address order, so the part of a page not yet used is never touched and costs
/// no memory. Large pages: the allocator's header of an allocation aligned to a 4 KiB block lies
/// in the page before it, touched for nothing; with 512 KiB pages that was 2.5 MB of the peak at
/// `[10^18, 10^18 + 10^10]` (782 pages; 4 MiB pages: 409.1 -> 406.5 MB). Miri, which
/// tracks every byte, gets small pages (and so more page boundaries per entry).
const PAGE_BYTES: usize = if cfg!(miri) { 8 << 10 } else { 4 << 20 };

/// No block (end of a list).
const NONE: u32 = u32::MAX;

/// A sieving prime and, packed as its owner chooses, where its next multiple is. Entry 0 of each
/// block is instead its header: `prime` holds the next (full) block of the same list or `NONE`
/// (for a returned block, the next one on the free chain), `packed` the block's own number.
///
/// Aligned to its 8 bytes, so that an entry is read and written with one load or store.
#[derive(Clone, Copy, Default, Debug)]
#[repr(C, align(8))]
pub(crate) struct Entry {
    pub(crate) prime: u32,
    pub(crate) packed: u32,
}

/// One page of the pool: [`PAGE_BYTES`] in blocks of `BLOCK` entries, in one allocation aligned
/// to the block's size in bytes.
struct Page<const BLOCK: usize>(std::ptr::NonNull<Entry>);

impl<const BLOCK: usize> Page<BLOCK> {
    fn layout() -> std::alloc::Layout {
        let block_bytes = BLOCK * std::mem::size_of::<Entry>();
        std::alloc::Layout::from_size_align(PAGE_BYTES, block_bytes).expect("a valid page layout")
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

impl<const BLOCK: usize> Drop for Page<BLOCK> {
    fn drop(&mut self) {
        // SAFETY: allocated in `Page::new` with this layout, and freed only here.
        unsafe { std::alloc::dealloc(self.0.as_ptr().cast(), Self::layout()) };
    }
}

// SAFETY: a page is plain memory owned by one `BlockLists`; nothing about it is tied to a thread.
unsafe impl<const BLOCK: usize> Send for Page<BLOCK> {}

/// Numbered lists of [`Entry`], each a chain of blocks of `BLOCK` entries (a power of two, the
/// first entry of each the block's header), and the pool of blocks behind them, kept across
/// segments and intervals. Large blocks make taking one from the pool rare; small ones keep the
/// partly filled blocks, one per list, small. Blocks are aligned to their size in bytes, so a
/// write position that reaches a multiple of it has filled its block (primesieve's buckets use the
/// same trick).
///
/// Invariants: every block is either on the free chain, or fresh (numbered `fresh` or above: never used
/// since the last reset), or in exactly one list, or detached and being read by
/// [`BlockLists::drain`]; a list is a chain of blocks linked through their headers, the first
/// one (where `write[list]` points) being filled and all others full; `write[list]` is null for an
/// empty list and otherwise points into its first block, past the header and at most at the
/// block's end, whose number is then `first[list]`. The free chain starts at `free` and is
/// linked through the `prime` field of the blocks' headers.
pub(crate) struct BlockLists<const BLOCK: usize> {
    pages: Vec<Page<BLOCK>>,
    /// The first of the blocks returned since the last reset (`NONE`: none), each header's `prime`
    /// naming the next. Chained through the blocks themselves, which are resident anyway: a
    /// vector of them grew to 0.4 MB (4 bytes a block near 10^18) at the end of an interval, when
    /// primes leave and their blocks come back while every page is still resident, adding to the
    /// peak.
    free: u32,
    /// The first block not used since the last reset: blocks from here to the pages' end are
    /// free too, and taken in order (so that a page is touched only as far as it is used; a list of
    /// them all would itself be 4 bytes per block, 0.4 MB near 10^18).
    fresh: u32,
    /// For each list, where its next entry goes (null: the list is empty).
    write: Vec<*mut Entry>,
    /// For each non-empty list, the number of its first block (the one `write` points into),
    /// which the block started after it links to. Its header holds the number too, but by the
    /// time the block is full that line has long left the caches: near 10^18 the read took 45 %
    /// of [`Self::grow`]'s samples, and without it `grow` took 38 % fewer (AMD EPYC Zen 4).
    first: Vec<u32>,
}

// SAFETY: the raw pointers in `write` point into `pages`, which `BlockLists` owns.
unsafe impl<const BLOCK: usize> Send for BlockLists<BLOCK> {}

impl<const BLOCK: usize> BlockLists<BLOCK> {
    /// Bytes per block, and the blocks' alignment.
    const BLOCK_BYTES: usize = {
        assert!(BLOCK.is_power_of_two() && BLOCK >= 2);
        BLOCK * std::mem::size_of::<Entry>()
    };

    /// Blocks per page.
    const PAGE_BLOCKS: usize = {
        assert!(
            PAGE_BYTES.is_multiple_of(Self::BLOCK_BYTES) && PAGE_BYTES / Self::BLOCK_BYTES >= 2
        );
        PAGE_BYTES / Self::BLOCK_BYTES
    };

    pub(crate) fn new() -> Self {
        Self {
            pages: Vec::new(),
            free: NONE,
            fresh: 0,
            write: Vec::new(),
            first: Vec::new(),
        }
    }

    /// Empties every list, returning all blocks to the pool (which keeps its pages), and makes
    /// `lists` lists.
    pub(crate) fn reset(&mut self, lists: usize) {
        self.free = NONE;
        self.fresh = 0;
        self.write.clear();
        self.write.resize(lists, std::ptr::null_mut());
        self.first.clear();
        self.first.resize(lists, NONE);
    }

    /// The number of lists.
    pub(crate) fn lists(&self) -> usize {
        self.write.len()
    }

    /// Whether `list` holds no entries (none pushed since it was last drained or reset).
    #[inline(always)]
    pub(crate) fn is_empty(&self, list: usize) -> bool {
        self.write[list].is_null()
    }

    /// The first entry (the header) of block `b`.
    fn block(&self, b: u32) -> *mut Entry {
        let b = b as usize;
        let page = &self.pages[b / Self::PAGE_BLOCKS];
        // SAFETY: the offset is less than PAGE_BLOCKS * BLOCK entries, inside the page.
        unsafe { page.0.as_ptr().add((b % Self::PAGE_BLOCKS) * BLOCK) }
    }

    /// Starts a new first block for `list`, whose first block is full (or which is empty), taking
    /// it from the pool: a returned block, else the first fresh one, allocating a new page when
    /// the pages have none left.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, list: usize) {
        let b = if self.free != NONE {
            let b = self.free;
            debug_assert!(b < self.fresh, "a returned block was handed out before");
            // SAFETY: `b` heads the free chain, so it is a block of the pool whose header was
            // written when it was returned; nothing else reads or writes a free block.
            self.free = unsafe { (*self.block(b)).prime };
            b
        } else {
            if self.fresh as usize == self.pages.len() * Self::PAGE_BLOCKS {
                let end = (self.pages.len() + 1) * Self::PAGE_BLOCKS;
                assert!(end < NONE as usize, "block pool exhausted");
                self.pages.push(Page::new());
            }
            self.fresh += 1;
            self.fresh - 1
        };
        let full = self.write[list];
        debug_assert!((full as usize).is_multiple_of(Self::BLOCK_BYTES));
        let next = if full.is_null() {
            NONE
        } else {
            // SAFETY: `full` is the end of a full block (the invariant), so its header lies BLOCK
            // entries before it, in the same page.
            debug_assert_eq!(unsafe { (*full.sub(BLOCK)).packed }, self.first[list]);
            self.first[list]
        };
        self.first[list] = b;
        let header = self.block(b);
        debug_assert!((header as usize).is_multiple_of(Self::BLOCK_BYTES));
        // SAFETY: `header` is the first entry of block `b`, which was free and is now this list's;
        // entry 1 is still inside the block (BLOCK > 1).
        unsafe {
            header.write(Entry {
                prime: next,
                packed: b,
            });
            self.write[list] = header.add(1);
        }
    }

    /// Appends `e` to `list`.
    ///
    /// # Panics
    /// If `list >= self.lists()`.
    #[inline(always)]
    pub(crate) fn push(&mut self, list: usize, e: Entry) {
        let write = self.write.as_mut_ptr();
        self.push_through((write, self.write.len()), list, e);
    }

    /// [`Self::push`] with `write` and `lists`, the start and length of `self.write`'s buffer,
    /// taken by the caller (once per block in [`Self::drain`]'s loop, so that they stay in
    /// registers).
    ///
    /// # Panics
    /// If `list >= self.lists()`.
    #[inline(always)]
    fn push_through(&mut self, write: (*mut *mut Entry, usize), list: usize, e: Entry) {
        assert!(list < write.1, "no list {list}");
        self.push_onto(write, list, e);
    }

    /// [`Self::push_through`] for a `list` known to be below `lists`, unchecked: in
    /// [`Self::drain_ring`] it is a number masked with `lists - 1`, which `lists >= 1` (a power
    /// of two) keeps below `lists`.
    #[inline(always)]
    fn push_onto(&mut self, (write, lists): (*mut *mut Entry, usize), list: usize, e: Entry) {
        debug_assert!(list < lists, "no list {list}");
        debug_assert!(write == self.write.as_mut_ptr() && lists == self.write.len());
        // SAFETY: `list < lists = self.write.len()` (the callers: an assert, or a mask with
        // `lists - 1` where `lists` is a power of two), and `write` is the start of that buffer,
        // which only `reset` reallocates (`grow` writes an element of it).
        let slot = unsafe { write.add(list) };
        // SAFETY: `slot` is a valid element of `self.write` (just above).
        let mut at = unsafe { *slot };
        if (at as usize).is_multiple_of(Self::BLOCK_BYTES) {
            // A null pointer (empty list) or the end of a full block.
            self.grow(list);
            // SAFETY: as above; `grow` set it to a fresh block's first entry.
            at = unsafe { *slot };
        }
        debug_assert!(!at.is_null() && !(at as usize).is_multiple_of(Self::BLOCK_BYTES));
        // SAFETY: by the invariant `at` lies in the list's first block, and it is not at the
        // block's end (that case was just handled), so it is a valid, exclusively owned entry;
        // a block being read by `drain` is detached from every list, so it is not this one.
        unsafe {
            at.write(e);
            *slot = at.wrapping_add(1);
        }
    }

    /// Empties `list`, calling `f` with each of its entries (in no particular order) and pushing
    /// what `f` returns, `Some((list, entry))`, onto that list (`list` itself included; `None`
    /// drops the entry): the emptied list's blocks are detached first and each goes back to the
    /// pool once its entries have been read.
    ///
    /// The push is done here rather than by `f`, with the lists' write positions held in
    /// registers: in the bucket sieve's loop, one pass per hit, reloading them and checking bounds
    /// for every push was a fifth of the instructions.
    ///
    /// # Panics
    /// If `f` returns a list `>= self.lists()`.
    #[inline(always)]
    pub(crate) fn drain(&mut self, list: usize, f: impl FnMut(Entry) -> Option<(usize, Entry)>) {
        self.drain_with::<false>(list, f);
    }

    /// [`Self::drain`] for a ring of lists whose chains outgrow the caches (the bucket sieve's):
    /// `f` returns `Some((n, entry))` to push `entry` onto list `n` modulo the number of lists,
    /// and each block is read a cache line at a time, each line read prefetching one of the next
    /// block.
    ///
    /// Taking the list modulo the lists, a power of two, leaves no bounds check in the loop (one
    /// `and` in place of a compare, a branch and a reload per hit in the bucket sieve).
    ///
    /// # Panics
    /// If the number of lists is not a power of two, or if `list >= self.lists()`.
    #[inline(always)]
    pub(crate) fn drain_ring(
        &mut self,
        list: usize,
        f: impl FnMut(Entry) -> Option<(usize, Entry)>,
    ) {
        assert!(self.write.len().is_power_of_two(), "not a ring");
        self.drain_with::<true>(list, f);
    }

    /// [`Self::drain`], or with `RING` [`Self::drain_ring`] (whose caller checked that the
    /// number of lists is a power of two).
    #[inline(always)]
    fn drain_with<const RING: bool>(
        &mut self,
        list: usize,
        mut f: impl FnMut(Entry) -> Option<(usize, Entry)>,
    ) {
        let mut end = std::mem::replace(&mut self.write[list], std::ptr::null_mut());
        if end.is_null() {
            return;
        }
        // The first block holds entries up to `end`; the rest of the chain is full.
        let last = end.wrapping_sub(1);
        // SAFETY: `end` lies in the first block, after its header and at most at its end (the
        // invariant), so `last` is an entry of that block and stepping back to the block's start
        // stays inside it.
        let mut header = unsafe { last.byte_sub(last as usize % Self::BLOCK_BYTES) };
        loop {
            debug_assert!((header as usize).is_multiple_of(Self::BLOCK_BYTES) && end > header);
            // SAFETY: `header` is the first entry of a detached block; its entries before `end`
            // were all written by `push`, and no list writes into a detached block (it is neither
            // on the free chain nor in any list until it is returned below).
            let (next, own) = unsafe { ((*header).prime, (*header).packed) };
            // The chain's blocks lie anywhere in the pool, and hardware prefetchers stop at page
            // boundaries: without prefetching, reading each block starts with a cache miss (a
            // fifth of the bucket sieve's time near 10^18 on Zen 5). The next block is
            // prefetched a cache line per line read here, `ahead` bytes on (a harmless prefetch
            // past it, or of this block for the last one).
            let ahead = if RING && next != NONE {
                let next_block = self.block(next);
                prefetch_line(next_block);
                (next_block as usize).wrapping_sub(header as usize)
            } else {
                0
            };
            let mut e_ptr = header.wrapping_add(1);
            // `grow` writes elements of `self.write` but never reallocates it: the pointer holds.
            let write = (self.write.as_mut_ptr(), self.write.len());
            while e_ptr < end {
                // A cache line's entries at a time when prefetching (the last line may end
                // early), else all of them.
                let line_end = if RING {
                    let line_end = e_ptr
                        .wrapping_byte_add(64)
                        .wrapping_byte_sub(e_ptr as usize % 64);
                    prefetch_line(line_end.wrapping_byte_add(ahead));
                    line_end.min(end)
                } else {
                    end
                };
                while e_ptr < line_end {
                    debug_assert!(header < e_ptr && e_ptr < end);
                    // SAFETY: as above, `e_ptr` (between the header and `end`) is a written
                    // entry of the detached block.
                    let e = unsafe { e_ptr.read() };
                    e_ptr = e_ptr.wrapping_add(1);
                    if let Some((to, e)) = f(e) {
                        if RING {
                            self.push_onto(write, to & (write.1 - 1), e);
                        } else {
                            self.push_through(write, to, e);
                        }
                    }
                }
            }
            // Back to the pool: the header (read above) now links the free chain.
            debug_assert!(own < self.fresh && header == self.block(own));
            // SAFETY: `header` is the detached block's first entry, read and no longer used.
            unsafe { (*header).prime = self.free };
            self.free = own;
            if next == NONE {
                break;
            }
            header = self.block(next);
            debug_assert!((header as usize).is_multiple_of(Self::BLOCK_BYTES));
            // SAFETY: blocks after the first are full: their entries end BLOCK entries on.
            end = unsafe { header.add(BLOCK) };
        }
    }
}

/// Asks the CPU to bring the cache line at `at` towards its caches (L2); a hint with no effect on
/// the program's meaning.
#[inline(always)]
fn prefetch_line(at: *const Entry) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        // SAFETY: a prefetch never faults and reads nothing the program can observe.
        unsafe { _mm_prefetch::<_MM_HINT_T1>(at.cast::<i8>()) };
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = at;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries pushed come back out by `drain` and `drain_ring`, across many blocks and
    /// pages, with blocks reused. Small blocks: many block and page boundaries in few entries
    /// (Miri runs this too); 4 entries are half a cache line, 16 entries two lines.
    #[test]
    fn drain_returns_every_entry_and_recycles_blocks() {
        for ring in [false, true] {
            drain_all::<4>(ring);
            drain_all::<16>(ring);
        }
    }

    #[test]
    #[should_panic(expected = "not a ring")]
    fn a_ring_has_a_power_of_two_lists() {
        let mut lists = BlockLists::<4>::new();
        lists.reset(3);
        lists.push(0, Entry::default());
        lists.drain_ring(0, |e| Some((5, e)));
    }

    fn drain_all<const BLOCK: usize>(ring: bool) {
        let drain = |lists: &mut BlockLists<BLOCK>,
                     list: usize,
                     f: &mut dyn FnMut(Entry) -> Option<(usize, Entry)>| {
            if ring {
                lists.drain_ring(list, f)
            } else {
                lists.drain(list, f)
            }
        };
        let mut lists = BlockLists::<BLOCK>::new();
        let mut first_round_pages = None;
        for round in 0..3u32 {
            // A ring needs a power of two lists; plain drains are checked with another count.
            lists.reset(if ring { 4 } else { 3 });
            let n = (BlockLists::<BLOCK>::PAGE_BLOCKS * BLOCK + 7) as u32;
            for i in 0..n {
                lists.push(
                    (i % 2) as usize,
                    Entry {
                        prime: i,
                        packed: round,
                    },
                );
            }
            let pages = lists.pages.len();
            // Move list 0 into list 2 and list 1 into itself (a list may refill while drained).
            let mut seen = Vec::new();
            // A ring takes list numbers modulo its size: 6 is list 2 there.
            let to = if ring { 6 } else { 2 };
            drain(&mut lists, 0, &mut |e| {
                seen.push(e.prime);
                Some((to, e))
            });
            // Refilled while it is drained, by number 5 on the ring (5 mod 4 = 1).
            let back = if ring { 5 } else { 1 };
            drain(&mut lists, 1, &mut |e| {
                seen.push(e.prime);
                (e.packed == round).then_some((
                    back,
                    Entry {
                        prime: e.prime,
                        packed: round + 1,
                    },
                ))
            });
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>());
            // Draining returned blocks as it went: the pool did not grow by a page per move.
            assert!(
                lists.pages.len() <= pages + 1,
                "{} pages after {pages}",
                lists.pages.len()
            );
            let mut again = Vec::new();
            for list in [1, 2] {
                drain(&mut lists, list, &mut |e| {
                    again.push(e.prime);
                    None
                });
            }
            again.sort_unstable();
            assert_eq!(again, (0..n).collect::<Vec<_>>());
            // A reset hands the same blocks out again: later rounds allocate no page.
            let first = *first_round_pages.get_or_insert(lists.pages.len());
            assert_eq!(lists.pages.len(), first, "round {round}");
        }
    }
}
