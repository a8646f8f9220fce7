//! Helpers shared by integration tests.
pub mod emu;
pub mod fake_cuda;
pub mod parity;
pub mod ssh;
pub mod worker;

/// What `app` draws on a `w` x `h` terminal, as text (no styles).
pub fn screen(app: &cnn_tutor::tui::App, w: u16, h: u16) -> String {
    cnn_tutor::tui::buffer_text(&cnn_tutor::tui::render_to_buffer(app, w, h))
}

/// A module's path as the test harness names its tests: `module_path!()` without the
/// crate (`suite::gpu_cuda` is `gpu_cuda`), for a test that runs its own file's tests in a
/// child process of the suite's binary.
pub fn test_module(module_path: &str) -> &str {
    module_path.split_once("::").map_or(module_path, |(_, m)| m)
}
