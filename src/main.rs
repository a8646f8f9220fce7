use clap::Parser;

fn main() {
    let cli = cnn_tutor::cli::Cli::parse();
    if let Err(err) = cnn_tutor::cli::run(cli) {
        // messages quote file names and contents: no control character reaches the terminal
        eprintln!("error: {}", cnn_tutor::text::escaped(&err.to_string()));
        std::process::exit(err.exit_code());
    }
}
