//! The C allocator's settings for tensor work on the CPU.
//!
//! A training step allocates and frees tensors of tens of MB thousands of times. glibc's malloc
//! serves blocks over its `mmap` threshold with fresh mappings and gives free memory at the top
//! of its heap back to the system once it exceeds its trim threshold (dynamically twice the
//! largest freed mapping), so the next tensor of that size faults in pages the kernel has to
//! zero first. On a flex training step of all-MiniLM-L6-v2 (batch 32 × 128) that zeroing
//! (`clear_page_erms`) took 18 % of the CPU time under `perf`; with a 32 MiB `mmap` threshold
//! and no trimming, 4.7 %. glibc caps that threshold at 32 MiB, and bert-base's word-embedding
//! gradient and AdamW states (94 MB each) are over it: with them still mapped fresh each step,
//! page zeroing and faults took 19 % of a bert-base training step. With `mmap` off as well, every
//! block comes from the heap and is reused: bert-base training (batch 8) went from 2.25 to 2.98
//! samples/s and MiniLM's from 21.5 to 22.4, for 1–4 % more peak RSS.
//!
//! burnbert's binaries and examples call [`tune`] first; a program using burnbert as a library
//! may do the same, or set `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=2147483647:glibc.malloc.mmap_max=0`.

/// Largest block glibc still serves from its heap (its maximum on 64-bit targets).
pub const MMAP_THRESHOLD: i32 = 32 << 20;

/// Free memory glibc keeps at the top of its heap instead of returning it.
pub const TRIM_THRESHOLD: i32 = i32::MAX;

/// Blocks glibc may serve with their own `mmap`: none, so that large tensors come from the heap
/// too (a thread's arena hands a block too large for it to the main arena).
pub const MMAP_MAX: i32 = 0;

/// Keeps freed tensor memory for reuse (see the module docs). Returns whether the allocator
/// took the settings: `false` where the C library is not glibc.
pub fn tune() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes malloc's parameters; it is called before the
        // allocations it affects and takes plain integers.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
                && libc::mallopt(libc::M_MMAP_MAX, MMAP_MAX) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_settings() {
        assert!(super::tune());
    }
}
