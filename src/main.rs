use clap::Parser;

fn main() {
    let cli = cnn_tutor::cli::Cli::parse();
    if let Err(err) = cnn_tutor::cli::run(cli) {
        eprintln!("error: {err}");
        std::process::exit(err.exit_code());
    }
}
