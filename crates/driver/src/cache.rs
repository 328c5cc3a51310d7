//! Cache sizes of this machine, read from Linux sysfs; the sieve's defaults elsewhere.

use sieve_core::SieveConfig;

/// A cache level as sysfs describes it for CPU 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cache {
    /// Size in bytes.
    pub bytes: usize,
    /// Logical CPUs that share it (1 where sysfs does not say), so at least 1.
    pub shared_by: usize,
}

impl Cache {
    /// The share of one logical CPU, in bytes: two hardware threads of a core split its L2.
    pub fn per_thread(&self) -> usize {
        self.bytes / self.shared_by
    }
}

/// The first cache of `level` whose type is data or unified, per sysfs.
fn sysfs_cache(level: u32) -> Option<Cache> {
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
        let bytes = match unit {
            "K" => n << 10,
            "M" => n << 20,
            _ => n,
        };
        let shared_by = read("shared_cpu_list")
            .and_then(|list| cpu_list_len(&list))
            .unwrap_or(1);
        return Some(Cache { bytes, shared_by });
    }
    None
}

/// The number of CPUs in a Linux CPU list such as `0`, `0,64` or `0-3,8-11`; `None` if it does
/// not parse or is empty.
fn cpu_list_len(list: &str) -> Option<usize> {
    let mut n = 0usize;
    for part in list.split(',') {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<usize>().ok()?,
                b.trim().parse::<usize>().ok()?,
            ),
            None => {
                let a = part.trim().parse::<usize>().ok()?;
                (a, a)
            }
        };
        n = n.checked_add(b.checked_sub(a)?.checked_add(1)?)?;
    }
    (n > 0).then_some(n)
}

/// The L1 data and L2 caches read from sysfs, where it says (`erato --cpu-info`).
pub fn detected() -> (Option<Cache>, Option<Cache>) {
    (sysfs_cache(1), sysfs_cache(2))
}

/// The sieve configuration for this machine: L1 chunks the size of the L1 data cache and segments
/// sized from the work, at most one logical CPU's share of the L2 cache and 512 KiB
/// ([`SieveConfig::for_caches`]), unless `segment_kib` fixes the segment size.
///
/// Where two hardware threads share a core's L2 (sysfs lists both CPUs), each thread's sieve
/// gets half of it, as primesieve divides the L2 by the threads sharing it (K. Walisch,
/// primesieve `src/api.cpp`, `get_sieve_size`). Every SMT core measured so far thus keeps the
/// segment it had under the earlier rule of half the L2 (1 MiB shared: 512 KiB; 512 KiB shared:
/// 256 KiB), and only a core whose L2 is its own and under 1 MiB gets the larger segment
/// measured to be faster there.
pub fn detect(segment_kib: Option<usize>) -> SieveConfig {
    let default = SieveConfig::default();
    let (l1, l2) = detected();
    let l1 = l1.map_or(default.l1_bytes(), |c| c.bytes);
    match segment_kib {
        Some(kib) => SieveConfig::new(l1, kib << 10),
        None => SieveConfig::for_caches(
            l1,
            l2.map_or(2 * default.segment_bytes(), |c| c.per_thread()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::cpu_list_len;

    #[test]
    fn cpu_lists_are_counted() {
        assert_eq!(cpu_list_len("0"), Some(1));
        assert_eq!(cpu_list_len("0,64"), Some(2));
        assert_eq!(cpu_list_len("0-1"), Some(2));
        assert_eq!(cpu_list_len("0-3,8-11"), Some(8));
        assert_eq!(cpu_list_len(" 5 "), Some(1));
        // Malformed or empty lists say nothing: the cache counts as unshared.
        assert_eq!(cpu_list_len(""), None);
        assert_eq!(cpu_list_len("3-1"), None);
        assert_eq!(cpu_list_len("a"), None);
        assert_eq!(cpu_list_len("0,,1"), None);
    }
}
