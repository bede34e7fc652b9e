//! How the process hands memory back. glibc raises its mmap threshold each
//! time a large block is freed, up to 32 MB; after that, the model build's
//! temporary per-CPU arrays come from its heap and stay resident after they
//! are dropped (on a 1 GB trace about 900 MB: 90 instead of 55 bytes per
//! event). A fixed threshold keeps every large block an mmap of its own,
//! given back to the system when freed; the build is no slower for it.

/// Blocks of this size and more are mapped on their own: glibc's initial threshold.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Call once at start-up, before the trace loads. Other platforms' allocators
/// give large blocks back already; there it does nothing.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; any value is valid to pass.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}
