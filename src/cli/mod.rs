//! The command line: argument types (clap) and one `run` per subcommand.
//! `main.rs` parses, calls [`run`], prints the error on one line and exits with its code.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::backend::DeviceChoice;
use crate::Result;

pub mod data;
pub mod evaluate;
pub mod explain;
pub mod explore;
pub mod export;
pub mod lessons;
pub mod out;
pub mod predict;
pub mod replay;
pub mod runs;
pub mod serve;
pub mod train;
pub mod verify;

pub use crate::data::DEFAULT_DATA_DIR;
pub use crate::nn::checkpoint::DEFAULT_MODEL_PATH;

#[derive(Debug, Parser)]
#[command(
    name = "cnn-tutor",
    version,
    about = "Learn how a convolutional neural network works, one cell at a time, then train one live.",
    long_about = "With no subcommand, opens the lesson menu in the terminal."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct GlobalOpts {
    /// Draw with plain ASCII only (also chosen automatically in a non-UTF-8 locale).
    #[arg(long, global = true)]
    pub ascii: bool,
    /// Load lessons from this folder instead of the built-in ones.
    #[arg(long, global = true, value_name = "DIR")]
    pub lessons: Option<PathBuf>,
    // data (issue 15): the app's image folder and memory budget
    /// The app trains on this image folder (one sub-folder per class) instead of data/shapes.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Most megabytes of decoded images the app keeps in memory while training (the rest
    /// are streamed from disk).
    #[arg(long, value_name = "N")]
    pub cache_mb: Option<usize>,
    /// Record the session as an asciicast v2 file (asciinema's format, a marker at every
    /// lesson step); play it with `cnn-tutor replay FILE.cast` or asciinema. An existing
    /// recording is appended to.
    #[arg(long, value_name = "FILE.cast")]
    pub record: Option<PathBuf>,
    /// Open in presenter mode (for the screen at the front of the class): bigger matrix
    /// cells, high contrast, no side panels, and the next value hidden until `v` reveals it.
    #[arg(long)]
    pub present: bool,
}

impl GlobalOpts {
    /// The app's options from these flags, opening at `start_lesson` (or the menu).
    pub fn tui_options(&self, start_lesson: Option<String>) -> crate::tui::Options {
        crate::tui::Options {
            start_lesson,
            ascii: self.ascii,
            start_step: None,
            lessons_dir: self.lessons.clone(),
            data_dir: self.data.clone(),
            cache_mb: self.cache_mb,
            record: self.record.clone(),
            present: self.present,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train the shapes CNN headless and save a checkpoint.
    Train(TrainArgs),
    /// Measure a checkpoint on a folder of images: accuracy, confusion matrix, precision, recall.
    Evaluate(EvaluateArgs),
    /// Classify images (or a freshly drawn random shape) with a checkpoint.
    Predict(PredictArgs),
    /// Check the network against a PyTorch reference dump (see shared/golden).
    Verify(VerifyArgs),
    /// Look inside a trained model for one image: any cell's products, pools, the decision.
    Explore(explore::ExploreArgs),
    /// Write the model's network as a short PyTorch file that loads the checkpoint and
    /// classifies images (`python FILE.py MODEL IMAGE...`), to go on in the course's notebook.
    Export(ExportArgs),
    /// List the lessons: ids and titles.
    Lessons,
    /// Open one lesson (in the app, or as plain text with --plain).
    Lesson(LessonArgs),
    /// Make or inspect the shapes images.
    #[command(subcommand)]
    Data(DataCommand),
    /// The runs kept in the state folder (every `train` and every run in the app): list,
    /// `show ID`, `compare ID ID...`.
    Runs(runs::RunsArgs),
    /// Teach a classroom over SSH: every student who connects gets their own lesson app.
    Serve(ServeArgs),
    /// Play a recording (`--record FILE.cast`, or asciinema's v2) in this terminal: Space
    /// pauses, +/- change the speed, n/p jump to the next/previous lesson step, q quits.
    Replay(ReplayArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "0.0.0.0:2222", value_name = "ADDR:PORT")]
    pub listen: String,
    /// File whose first line is the class code (students type it as the SSH password).
    /// Without it, the code comes from CNN_TUTOR_CODE.
    #[arg(long, value_name = "FILE")]
    pub code_file: Option<PathBuf>,
    /// An authorized_keys file: these public keys may log in.
    #[arg(long, value_name = "FILE")]
    pub authorized_keys: Option<PathBuf>,
    /// Most students at once; later ones are told the class is full (the teacher's place is
    /// kept apart).
    #[arg(long, default_value_t = 40)]
    pub max_sessions: usize,
    /// Most trainings at once (default: one per core); the rest wait in line.
    #[arg(long)]
    pub max_trainings: Option<usize>,
    /// End a session after this long without a key press (e.g. 90s, 30m, 1h).
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub idle_timeout: std::time::Duration,
    /// On the console, a student on one lesson step this long is stuck (e.g. 5m, 90s).
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub stuck_after: std::time::Duration,
    /// Close a connection that has not logged in and started the app this long after
    /// connecting (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub login_grace: std::time::Duration,
    /// Most connections waiting to log in at once; one more closes the oldest of them.
    #[arg(long, default_value_t = crate::serve::DEFAULT_MAX_UNAUTHENTICATED, value_name = "N")]
    pub max_unauthenticated: usize,
    /// Show the class view (the teacher's console) on this terminal while serving; the
    /// server's log goes to serve.log in the state folder. q or Ctrl-C stops the server.
    #[arg(long)]
    pub console: bool,
    /// This user name leads the class: students press `f` on the menu to follow the
    /// teacher's lesson and step (and `f` again to take the controls back). With
    /// --authorized-keys the teacher must log in by key.
    #[arg(long, value_name = "NAME")]
    pub teacher: Option<String>,
    /// The shared training images (made once at start when it is the default and missing).
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    pub data: PathBuf,
    /// Most megabytes of decoded images each training keeps in memory; the rest are
    /// streamed from disk (at most --max-trainings trainings run at once).
    #[arg(long, default_value_t = crate::data::DEFAULT_CACHE_MB, value_name = "N")]
    pub cache_mb: usize,
    /// The class roster, CSV with a header row: a `login` column (the name students log in
    /// with), an optional `code` column (a personal code instead of the class code), and
    /// any columns the school's system knows them by (copied into the gradebook). Only its
    /// names log in (and the teacher), one session each.
    #[arg(long, value_name = "FILE.csv")]
    pub roster: Option<PathBuf>,
    /// The gradebook written with the class report follows these import conventions.
    #[arg(long, value_enum, default_value_t = crate::serve::gradebook::GradebookFormat::Plain)]
    pub gradebook: crate::serve::gradebook::GradebookFormat,
    /// A lab for the whole class: every student's training screen opens with its settings
    /// and cannot change those it locks. A lab file (the settings of an experiment lesson,
    /// an optional `title` and `lock = ["arch", "epochs", ...]`; without `lock`, every
    /// setting it gives is locked) or an experiment lesson (its first run, all locked).
    #[arg(long, value_name = "FILE")]
    pub lab: Option<PathBuf>,
    /// Record the teacher's session (--teacher) as an asciicast v2 file, a marker at every
    /// lesson step; a teacher who reconnects goes on in the same file (an existing
    /// recording is appended to). Play it with `cnn-tutor replay FILE.cast` or asciinema.
    #[arg(long, value_name = "FILE.cast", requires = "teacher")]
    pub record: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Image folder, one sub-folder per class. The default folder is generated when missing.
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    pub data: PathBuf,
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    #[arg(long, default_value_t = 50)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0.001)]
    pub lr: f32,
    /// Seed for initialisation, the split, dropout and shuffling.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    /// Where to save the trained model.
    #[arg(long, default_value = DEFAULT_MODEL_PATH)]
    pub out: PathBuf,
    /// Print one JSON object per line instead of progress bars.
    #[arg(long)]
    pub json: bool,
    /// CPU threads (default: one per core; more than the cores are not used).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Most megabytes of decoded images kept in memory; the rest are streamed from disk,
    /// decoded ahead of each batch on a worker thread (the numbers are the same).
    #[arg(long, default_value_t = crate::data::DEFAULT_CACHE_MB, value_name = "N")]
    pub cache_mb: usize,
    /// The network, one line: layers separated by spaces or `->`, from conv(OUT,K[,stride=S][,pad=P]),
    /// maxpool(K[,stride=S]), avgpool(K[,stride=S]), relu, tanh, sigmoid, leakyrelu[(SLOPE)],
    /// batchnorm, dropout2d(P), dropout(P), flatten, linear(N) and linear (one output per
    /// class, last); log-softmax and the loss follow. Default: the course's net,
    /// "conv(12,3) maxpool(2) relu conv(12,3) maxpool(2) relu conv(24,3) dropout2d(0.2) relu dropout(0.5) flatten linear".
    #[arg(long, value_name = "TEXT", conflicts_with = "arch_file")]
    pub arch: Option<String>,
    /// The network from a file (the same text as --arch; lines starting with # are skipped).
    #[arg(long, value_name = "FILE")]
    pub arch_file: Option<PathBuf>,
    /// How the weights are updated: adam (the course's) or sgd (with --momentum).
    #[arg(long, value_enum, default_value_t = OptimizerArg::Adam)]
    pub optimizer: OptimizerArg,
    /// SGD's momentum (with --optimizer sgd).
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,
    /// L2 penalty added to every gradient (PyTorch's weight_decay).
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f64,
    /// Vary the training images every epoch: each is flipped upside down, mirrored and
    /// slightly skewed at random (from the seed); validation images are left as they are.
    #[arg(long)]
    pub augment: bool,
    /// The share of the training split trained on, above 0 and at most 1 (e.g. 0.1 to
    /// make overfitting easy to see); the validation images are all kept.
    #[arg(long, default_value_t = 1.0, value_name = "SHARE")]
    pub train_share: f64,
    /// Refuse a network whose training would need more than this many megabytes (the
    /// estimate is printed).
    #[arg(long, default_value_t = crate::train::estimate::DEFAULT_MEMORY_LIMIT_MB, value_name = "MB")]
    pub memory_limit_mb: usize,
}

/// The optimizers `train --optimizer` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OptimizerArg {
    /// Adam (lr 0.001 by default).
    Adam,
    /// SGD with momentum.
    Sgd,
}

impl TrainArgs {
    /// The architecture of `--arch` or `--arch-file` (the course's net when neither).
    pub fn arch(&self) -> Result<crate::nn::arch::Arch> {
        use crate::nn::arch::Arch;
        match (&self.arch, &self.arch_file) {
            (Some(text), _) => Arch::parse(text),
            (None, Some(path)) => {
                let text = crate::fsutil::read_capped(path, 64 * 1024).map_err(|e| {
                    crate::Error::Usage(format!("--arch-file {}: {e}", crate::text::path(path)))
                })?;
                let lines: Vec<&str> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .collect();
                Arch::parse(&lines.join(" "))
                    .map_err(|e| crate::Error::Usage(format!("{}: {e}", crate::text::path(path))))
            }
            (None, None) => Ok(Arch::course()),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct EvaluateArgs {
    #[arg(long, default_value = DEFAULT_MODEL_PATH)]
    pub model: PathBuf,
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    pub data: PathBuf,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    pub device: DeviceChoice,
    #[arg(long)]
    pub json: bool,
    /// Most megabytes of decoded images kept in memory; the rest are streamed from disk.
    #[arg(long, default_value_t = crate::data::DEFAULT_CACHE_MB, value_name = "N")]
    pub cache_mb: usize,
    /// Which images to count: `validation` or `train` (the model's own split of the folder
    /// it trained on), `all`, or `auto` (default: the validation split when the folder is
    /// the one the model trained on, else every image).
    #[arg(long, value_enum, default_value_t = SplitChoice::Auto)]
    pub split: SplitChoice,
}

/// The images `evaluate` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitChoice {
    /// The validation split when the folder is the model's own, else every image.
    Auto,
    /// Every image of the folder.
    All,
    /// The images the model was validated on (never trained on).
    Validation,
    /// The images the model was trained on.
    Train,
}

#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    #[arg(long, default_value = DEFAULT_MODEL_PATH)]
    pub model: PathBuf,
    /// Images to classify.
    #[arg(value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// Draw a new random shape (the seed's create_image), show it and classify it.
    #[arg(long, conflicts_with = "images")]
    pub random: bool,
    /// Seed for --random (default: a fresh random shape every time).
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The model to export.
    #[arg(long, default_value = DEFAULT_MODEL_PATH)]
    pub model: PathBuf,
    /// Write a PyTorch module (the course's `Net` style) for the model's network here.
    #[arg(long, value_name = "FILE.py")]
    pub pytorch: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// A reference dump in the layout of shared/golden/*.safetensors.
    #[arg(long)]
    pub reference: PathBuf,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
}

#[derive(Debug, Clone, Args)]
pub struct LessonArgs {
    /// Lesson id, as `cnn-tutor lessons` lists them (e.g. convolution).
    pub id: String,
    /// Print the lesson's frames as plain text instead of opening the app.
    #[arg(long)]
    pub plain: bool,
    /// Start at this step (1-based): the app opens there; with --plain, print only it.
    #[arg(long, conflicts_with = "json")]
    pub step: Option<usize>,
    /// Print the whole lesson as one JSON document (every step's text, formula and
    /// panels, numbers at full precision) instead of opening the app.
    #[arg(long, conflicts_with = "plain")]
    pub json: bool,
    /// With --plain: a worksheet, every value to work out left blank (`____`), the
    /// answers at the end.
    #[arg(long, requires = "plain")]
    pub worksheet: bool,
    /// Record the session as an asciicast v2 file (see `cnn-tutor --help`).
    #[arg(long, value_name = "FILE.cast", conflicts_with_all = ["plain", "json"])]
    pub record: Option<PathBuf>,
    /// Open in presenter mode (see `cnn-tutor --help`).
    #[arg(long, conflicts_with_all = ["plain", "json"])]
    pub present: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// An asciicast v2 recording (`--record`, or made by asciinema).
    #[arg(value_name = "FILE.cast")]
    pub file: PathBuf,
    /// Play this many times faster (0.25 to 16).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Longest pause played, in seconds: longer idle gaps are cut to it.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub idle_limit: f64,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Draw the seed's random circles, squares and triangles into class folders.
    Generate(GenerateArgs),
    /// Report on an image folder before training on it: counts per class, sizes, modes,
    /// broken files, duplicates and warnings; exit 1 when training on it would fail.
    Check(CheckArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The image folder (one sub-folder per class).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 400)]
    pub per_class: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => crate::tui::run(cli.global.tui_options(None)),
        Some(Command::Train(args)) => train::run(&args),
        Some(Command::Evaluate(args)) => evaluate::run(&args),
        Some(Command::Predict(args)) => predict::run(&args),
        Some(Command::Verify(args)) => verify::run(&args),
        Some(Command::Explore(args)) => explore::run(&args, &cli.global),
        Some(Command::Export(args)) => export::run(&args),
        Some(Command::Lessons) => lessons::list(&cli.global),
        Some(Command::Lesson(args)) => {
            if args.json {
                lessons::json(&cli.global, &args)
            } else if args.plain {
                lessons::plain(&cli.global, &args)
            } else {
                let mut options = cli.global.tui_options(Some(args.id));
                options.start_step = args.step;
                options.present |= args.present;
                if args.record.is_some() {
                    options.record = args.record;
                }
                crate::tui::run(options)
            }
        }
        Some(Command::Data(DataCommand::Generate(args))) => data::generate(&args),
        Some(Command::Data(DataCommand::Check(args))) => data::check(&args),
        Some(Command::Serve(args)) => serve::run(&args, &cli.global),
        Some(Command::Runs(args)) => runs::run(&args),
        Some(Command::Replay(args)) => replay::run(&args),
    }
}
