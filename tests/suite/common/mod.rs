//! Helpers shared by integration tests.
pub mod emu;
pub mod fake_cuda;
pub mod parity;
#[cfg(target_os = "linux")]
pub mod pty;
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

/// Whether this run is CI's (`CI` set to `true` or `1`, as CI services set it).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// A test's reference is missing (PyTorch's golden file, the course's images, a C++
/// compiler for the GPU emulator or the fake driver): on a developer's machine the test
/// says so and skips; in CI ([`in_ci`]) the run fails, because a check that silently did
/// not run is a check CI does not have. A machine without a GPU is not a missing
/// reference: CI never has one, and those tests skip everywhere.
pub fn missing_reference(what: impl std::fmt::Display) {
    if in_ci() {
        panic!("{what}: CI must have it (CI is set), so this is a failure, not a skip");
    }
    eprintln!("skipped: {what}");
}

/// `shared/REL` (the course's seed, PyTorch's golden dumps, the course's images): in the
/// first folder above the checkout that has it (`../shared` on a developer's machine; a
/// CI checkout may sit deeper), else `../shared/REL` for the message that it is absent.
pub fn shared(rel: &str) -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    root.ancestors()
        .skip(1)
        .map(|a| a.join("shared").join(rel))
        .find(|p| p.exists())
        .unwrap_or_else(|| root.join("..").join("shared").join(rel))
}

/// A state folder for the whole test binary (a temporary folder, made once): a `train`
/// run by a test keeps its run there (`CNN_TUTOR_STATE_DIR`), never in the developer's own
/// state folder. Tests that read the runs back make a folder of their own.
pub fn scratch_state() -> &'static std::path::Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary state folder"))
        .path()
}
