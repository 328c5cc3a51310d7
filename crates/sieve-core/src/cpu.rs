//! Which instruction-set paths the kernel may take.
//!
//! The fast paths (AVX-512 and AVX2 pre-sieving and counting, the byte-mask wheel turns) are chosen
//! at run time from what the CPU supports. Setting the environment variable
//! `ERATO_FORCE_PORTABLE=1` makes every choice fall back to the portable code instead, so that the
//! tests can check the fallbacks on a machine that would never take them.

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
