//! A check whose reference is missing skips on a developer's machine and fails in CI
//! (`common::missing_reference`): run one golden-reading test in a child process of the
//! suite's binary with the golden file pointed nowhere, with and without `CI=true`.

use std::process::Command;

fn run_without_the_golden(ci: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "explore::forward_trace_matches_the_golden_activations",
        "--exact",
        "--nocapture",
    ])
    .env("CNN_TUTOR_GOLDEN", "/nonexistent/golden.safetensors")
    .env_remove("CI");
    if let Some(v) = ci {
        cmd.env("CI", v);
    }
    let o = cmd.output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(out.contains("running 1 test"), "{out}");
    (o.status.success(), out)
}

#[test]
fn a_missing_reference_skips_here_and_fails_in_ci() {
    let (ok, out) = run_without_the_golden(None);
    assert!(ok, "{out}");
    assert!(
        out.contains("skipped: no golden file at /nonexistent/golden.safetensors"),
        "{out}"
    );
    for ci in ["true", "1"] {
        let (ok, out) = run_without_the_golden(Some(ci));
        assert!(!ok, "CI={ci}: {out}");
        assert!(
            out.contains("no golden file at /nonexistent/golden.safetensors: CI must have it"),
            "{out}"
        );
    }
    // `CI=false` is not CI
    let (ok, out) = run_without_the_golden(Some("false"));
    assert!(ok, "{out}");
}
