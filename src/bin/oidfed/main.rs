//! `oidfed` — the operator's command line for OpenID Federation: resolve an entity and see
//! who vouches for it, check one statement or a whole chain, run the policy engine on
//! files, and serve a demo federation to try it all. Every line printed lives here, never in
//! the library.
//!
//! The command tree is one clap `Subcommand` enum ([`Command`]); each subcommand is a module
//! with its own `Args` and a `run` returning an [`Exit`]. Options shared by commands that
//! reach the network ([`net::NetworkArgs`]) and trust anchors ([`anchors::AnchorArgs`]) are
//! flattened into each of them.
#![forbid(unsafe_code)]

/// `println!` that ignores a closed stdout (`oidfed … | head`): the exit code still tells.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!`, likewise.
macro_rules! out_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod anchors;
mod chain_cmd;
mod demo;
mod graph;
mod net;
mod output;
mod policy_cmd;
mod registry_cmd;
mod report;
mod resolve;
mod statement_cmd;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// How a command ended; the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: trusted, valid, done.
    Ok = 0,
    /// 1: not trusted — a definitive failure (a rule broken, no valid chain).
    NotTrusted = 1,
    /// 2: bad usage — wrong arguments, unreadable input, unusable configuration.
    Usage = 2,
    /// 3: could not check — a transient failure (network, timeout, 5xx): retry later.
    Transient = 3,
}

const EXIT_CODES: &str = "\
Exit codes:
  0  trusted / valid / done
  1  not trusted: a definitive failure (a rule broken, no valid trust chain)
  2  bad usage: wrong arguments, unreadable input, unusable configuration
  3  could not check: a transient failure (network, timeout, HTTP 5xx); retry later";

/// OpenID Federation 1.0 from the terminal: resolve trust chains, check statements and
/// chains, run metadata policy, serve a demo federation.
#[derive(Debug, Parser)]
#[command(name = "oidfed", version, after_help = EXIT_CODES, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Resolve an entity to a trust anchor: the chain as a tree, its organization, trust
    /// marks and resolved metadata.
    #[command(after_help = EXIT_CODES)]
    Resolve(resolve::ResolveArgs),
    /// Decode one entity statement (a URL or a file) and say which rules it breaks.
    #[command(after_help = EXIT_CODES)]
    Statement(statement_cmd::StatementArgs),
    /// Validate a trust chain handed over whole: a `trust_chain` header value (a JSON array
    /// or one JWS per line) or an explicit-registration request body.
    #[command(after_help = EXIT_CODES)]
    ValidateChain(chain_cmd::ValidateChainArgs),
    /// Run the metadata policy engine (§6.1) on files.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// The client registry: organizations, clients, audit trail, access review,
    /// offboarding, one sweep.
    #[command(after_help = EXIT_CODES)]
    Registry(registry_cmd::RegistryArgs),
    /// Serve the demo federation on loopback and print how to resolve against it.
    Demo(demo::DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(Exit::Usage as u8);
        }
    };
    let exit = runtime.block_on(async {
        match cli.command {
            Command::Resolve(args) => resolve::run(args).await,
            Command::Statement(args) => statement_cmd::run(args).await,
            Command::ValidateChain(args) => chain_cmd::run(args).await,
            Command::Policy(cmd) => policy_cmd::run(cmd),
            Command::Registry(args) => registry_cmd::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Completions { shell } => {
                let mut cmd = Cli::command();
                clap_complete::generate(shell, &mut cmd, "oidfed", &mut std::io::stdout());
                Exit::Ok
            }
        }
    });
    ExitCode::from(exit as u8)
}
