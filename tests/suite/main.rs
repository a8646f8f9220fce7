//! Every integration test, in one test binary: one link instead of one per file, and the
//! shared helpers (`common`) compiled once. Each file is a module named as the file; run
//! one with `cargo test --test suite MODULE::` (e.g. `cargo test --test suite serve_ssh::`).

mod common;

mod arch;
mod cli_errors;
mod data_check;
mod data_generate;
mod data_loader;
mod data_stream;
mod explore;
mod export_pytorch;
mod filters_growth;
mod golden;
mod gpu_arch;
mod gpu_cuda;
mod gpu_emu;
mod gpu_fake_driver;
mod hostile_files;
mod lesson_backprop;
mod lesson_cli;
mod lesson_engine;
mod lesson_errors;
mod lesson_files;
mod lesson_hostile;
mod lesson_occlusion;
mod lesson_seed;
mod nn_gradcheck;
mod quiz;
mod record_replay;
mod references;
mod runs;
mod serve_console;
mod serve_console_views;
mod serve_hostile;
mod serve_lab;
mod serve_roster;
mod serve_ssh;
mod train_full;
mod train_settings;
mod train_short;
mod tui_behaviour;
mod tui_inspector;
mod tui_keys;
mod tui_present;
mod tui_progress;
mod tui_snapshots;
mod tui_training;
mod tui_training_classes;
mod tui_training_data;
mod tui_training_snapshots;
mod tui_why;
mod why;
