#![forbid(unsafe_code)]
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// mimalloc instead of glibc's malloc, as in the `locket` CLI: the endpoint's writer thread and the HTTP
/// workers allocate and free each other's memory at every redemption, and glibc's arena locks made that a
/// measured bottleneck (`cargo bench --bench endpoint`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    locket_desktop_lib::run();
}
