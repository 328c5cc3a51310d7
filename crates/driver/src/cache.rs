//! Cache sizes of this machine, read from Linux sysfs; the sieve's defaults elsewhere.

use sieve_core::SieveConfig;

/// Size in bytes of the first cache of `level` whose type is data or unified, per sysfs.
fn sysfs_cache(level: u32) -> Option<usize> {
    let base = std::path::Path::new("/sys/devices/system/cpu/cpu0/cache");
    for index in 0..8 {
        let dir = base.join(format!("index{index}"));
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .ok()
                .map(|s| s.trim().to_owned())
        };
        let (Some(l), Some(kind), Some(size)) = (read("level"), read("type"), read("size")) else {
            continue;
        };
        if l != level.to_string() || !(kind == "Data" || kind == "Unified") {
            continue;
        }
        let (digits, unit) = size.split_at(
            size.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(size.len()),
        );
        let n: usize = digits.parse().ok()?;
        return Some(match unit {
            "K" => n << 10,
            "M" => n << 20,
            _ => n,
        });
    }
    None
}

/// The L1 data and L2 cache sizes in bytes read from sysfs, where it says (`erato --cpu-info`).
pub fn detected() -> (Option<usize>, Option<usize>) {
    (sysfs_cache(1), sysfs_cache(2))
}

/// The sieve configuration for this machine: L1 chunks the size of the L1 data cache and segments
/// sized from the work, at most the L2 cache and 512 KiB ([`SieveConfig::for_caches`]), unless
/// `segment_kib` fixes the segment size.
pub fn detect(segment_kib: Option<usize>) -> SieveConfig {
    let default = SieveConfig::default();
    let l1 = sysfs_cache(1).unwrap_or(default.l1_bytes());
    match segment_kib {
        Some(kib) => SieveConfig::new(l1, kib << 10),
        None => SieveConfig::for_caches(l1, sysfs_cache(2).unwrap_or(2 * default.segment_bytes())),
    }
}
