//! The `thumbs` binary: parses the command line and runs the command.

use std::process::ExitCode;

fn main() -> ExitCode {
    keep_large_buffers();
    thumbs::commands::main()
}

/// glibc hands every allocation over its mmap threshold (which it moves, up to 32 MB)
/// back to the kernel when it is freed, so each large decode (a progressive JPEG's
/// coefficients are tens of MB) starts on fresh pages that the kernel faults in and
/// zeroes: 3 % of the time at 1024 px. With the threshold fixed at 256 MB and the heap
/// trimmed only past 512 MB free, the buffers are reused from one image to the next,
/// within the peak a worker already reaches (BENCHMARKS.md, thumbs).
fn keep_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code, reason = "mallopt, glibc's documented call to set allocator parameters")]
    // SAFETY: `mallopt` only sets two tuning parameters; it runs before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}
