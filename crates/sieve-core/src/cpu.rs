//! Which instruction-set paths the kernel may take.
//!
//! The fast paths (AVX-512 and AVX2 pre-sieving and counting, the byte-mask wheel turns, the
//! sieving primes' first quotients eight at a time with AVX-512 and four with AVX2) are chosen at
//! run time from what the CPU supports. Setting the environment variable `ERATO_FORCE_PORTABLE=1`
//! makes every choice fall back to the portable code instead, so that the tests can check the
//! fallbacks on a machine that would never take them.

use std::sync::OnceLock;

/// Whether `ERATO_FORCE_PORTABLE` asks for the portable paths (read once per process).
pub(crate) fn portable_forced() -> bool {
    static FORCED: OnceLock<bool> = OnceLock::new();
    *FORCED.get_or_init(|| {
        std::env::var_os("ERATO_FORCE_PORTABLE").is_some_and(|v| !v.is_empty() && v != "0")
    })
}

/// Whether the CPU has `$feature` and the portable paths are not forced (x86-64 only: the other
/// architectures take the portable paths).
#[cfg(target_arch = "x86_64")]
macro_rules! has {
    ($feature:tt) => {
        !$crate::cpu::portable_forced() && std::arch::is_x86_feature_detected!($feature)
    };
}
#[cfg(target_arch = "x86_64")]
pub(crate) use has;

/// The instruction-set path the kernel takes on this CPU: `"avx512"`, `"avx2"` or `"portable"`
/// (x86-64 without AVX2, other architectures, or `ERATO_FORCE_PORTABLE=1`).
pub fn simd_path() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if has!("avx512f") {
            return "avx512";
        }
        if has!("avx2") {
            return "avx2";
        }
    }
    "portable"
}

/// Defines `fn $name(args) -> $ret`, which runs `$body` compiled for the widest popcount the
/// CPU has: `$avx512` with AVX-512F, AVX512-VPOPCNTDQ and POPCNT; `$avx2` with AVX2 and POPCNT
/// (the x86-64 baseline has no popcount instruction); else `$portable`, the body as written
/// (other architectures, or `ERATO_FORCE_PORTABLE=1`). For branch-free counting loops the
/// compiler vectorises. The three builds are named so that tests can run each.
macro_rules! popcount_versions {
    (
        $(#[$doc:meta])*
        $vis:vis fn $name:ident / $avx512:ident / $avx2:ident / $portable:ident
            ($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block
    ) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            if $crate::cpu::has!("avx512f")
                && $crate::cpu::has!("avx512vpopcntdq")
                && $crate::cpu::has!("popcnt")
            {
                // SAFETY: the CPU has AVX-512F, AVX512-VPOPCNTDQ and POPCNT, checked just above.
                return unsafe { $avx512($($arg),*) };
            }
            #[cfg(target_arch = "x86_64")]
            if $crate::cpu::has!("avx2") && $crate::cpu::has!("popcnt") {
                // SAFETY: the CPU supports AVX2 and POPCNT, checked just above.
                return unsafe { $avx2($($arg),*) };
            }
            $portable($($arg),*)
        }

        #[doc = concat!("[`", stringify!($name), "`] with AVX-512's 64-bit vector popcount.")]
        ///
        /// # Safety
        /// The CPU must support AVX-512F, AVX512-VPOPCNTDQ and POPCNT.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
        unsafe fn $avx512($($arg: $ty),*) -> $ret {
            $portable($($arg),*)
        }

        #[doc = concat!("[`", stringify!($name), "`] with AVX2 and POPCNT.")]
        ///
        /// # Safety
        /// The CPU must support AVX2 and POPCNT.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,popcnt")]
        unsafe fn $avx2($($arg: $ty),*) -> $ret {
            $portable($($arg),*)
        }

        #[doc = concat!("[`", stringify!($name), "`] as written, inlined into the builds above.")]
        #[inline(always)]
        fn $portable($($arg: $ty),*) -> $ret $body
    };
}
pub(crate) use popcount_versions;
