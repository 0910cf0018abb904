//! The allocator, and how soon it gives freed memory back.

/// mimalloc returns freed memory to the system promptly (each argon2 hash briefly holds 19 MiB)
/// and allocates faster than the system allocator under many small JSON allocations. Version 2
/// (the `v2` feature): v3 waits a second before giving freed pages back, and only does so on a
/// later allocation.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Freed pages go back to the system at once instead of after mimalloc's default 10 ms. A
/// delayed purge runs only when the thread that owns the pages allocates again, so runtime
/// threads that went idle after a burst (a batch import: 500 records parsed and answered at a
/// time) held their pages until the next request. Measured after importing 10k records through
/// `/api/batch`, idle: 34-38 MB of anonymous memory before, 18-21 MB after (a fresh server
/// holds 4 MB); under wrk, CPU per request and req/s unchanged within this box's noise (view,
/// create, list, update at 256 connections, batch of 10), peak RSS 1-3 MB lower.
pub fn return_freed_memory_promptly() {
    // `mi_option_purge_delay` in mimalloc.h's `mi_option_e` (v2), which the -sys crate does not
    // name: the 16th option, after `mi_option_eager_commit_delay` (14, which it does name).
    const PURGE_DELAY: libmimalloc_sys::mi_option_t =
        libmimalloc_sys::mi_option_eager_commit_delay + 1;
    // SAFETY: setting an option takes no pointers and mimalloc allows it at any time; the purge
    // code reads the option on each use.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}
