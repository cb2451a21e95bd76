//! `jumpgate`: serves the OpenStack APIs, handing every endpoint to a driver `.so`.
//! Commands: `serve` (the default), `endpoints`, `check-config`, `bootstrap`,
//! `migrate-store`.

mod app;
mod catalog;
mod commands;
mod config;
mod dispatcher;
mod gateway;
mod hooks;
mod limits;
mod loader;
mod router;
mod server;
mod state;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{layer::SubscriberExt, reload, util::SubscriberInitExt, EnvFilter, Layer};

use crate::config::Config;
use crate::state::State;

#[derive(Parser)]
#[command(
    name = "jumpgate",
    version,
    about = "Makes any cloud speak the OpenStack APIs."
)]
struct Cli {
    /// jumpgate.conf to use (else JUMPGATE_CONFIG, ./jumpgate.conf, /etc/jumpgate/jumpgate.conf).
    #[arg(long, global = true)]
    config: Option<PathBuf>,

    /// How log lines are written.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the configured services (the default).
    Serve,
    /// Print every endpoint: nickname, methods answered, driver, path.
    Endpoints {
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// Only endpoints no driver handles (they answer 501).
        #[arg(long)]
        unused: bool,
        /// Markdown tables, one per service, for docs.
        #[arg(long)]
        markdown: bool,
    },
    /// Load the configuration and its drivers; exit 1 with the reason on any error.
    CheckConfig,
    /// Set up every configured driver once and exit: on an empty store the identity driver
    /// creates the Default domain, the admin project and user (as `serve` would).
    Bootstrap,
    /// Copy the local driver's SQLite store (data_dir/jumpgate.db) into a new PostgreSQL
    /// database, all or nothing; the image and volume files stay in data_dir. Afterwards set
    /// `[local] database` to the URL and restart.
    MigrateStore {
        /// The destination: postgresql://user@host/db, holding no cloud yet.
        #[arg(long)]
        to: String,
    },
}

/// Requests allocate and free many small strings across worker threads; glibc's arenas
/// contend on that (measured: malloc and free were the top user-space costs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type FilterHandle = reload::Handle<EnvFilter, tracing_subscriber::Registry>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let path = config::locate(cli.config.as_deref());
    // The log level comes from the file; read it first, the full load happens below.
    let level = path
        .as_ref()
        .ok()
        .and_then(|p| Config::load(p).ok())
        .map(|c| c.log_level)
        .unwrap_or_else(|| "info".into());
    let (filter, _flush_on_exit) = init_logging(cli.log_format, &level);
    let path = match path {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(path, filter),
        Command::Endpoints {
            service,
            unused,
            markdown,
        } => match State::start(path) {
            Ok(state) => {
                let gw = state.current();
                if let Some(s) = service.as_deref() {
                    if gw.services.iter().all(|svc| svc.name() != s) {
                        return fail(&format!(
                            "service '{s}' is not enabled in this configuration"
                        ));
                    }
                }
                print!(
                    "{}",
                    commands::endpoints(&gw, service.as_deref(), unused, markdown)
                );
                state.teardown_all();
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Command::Bootstrap => match State::start(path) {
            Ok(state) => {
                state.teardown_all();
                println!("bootstrap complete");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Command::MigrateStore { to } => migrate_store(path, &to),
        Command::CheckConfig => match State::start(path.clone()) {
            Ok(state) => {
                let gw = state.current();
                let drivers: Vec<String> = gw
                    .drivers()
                    .iter()
                    .map(|d| format!("{} {}", d.name, d.version))
                    .collect();
                println!(
                    "{}: OK: {} services, drivers: {}",
                    path.display(),
                    gw.services.len(),
                    drivers.join(", ")
                );
                state.teardown_all();
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
    }
}

/// The host knows no driver's store: it hands the destination to the `local` driver as
/// `[local] migrate_store_to`, whose setup copies the store and logs what it copied (or
/// fails the setup with the reason), and exits.
fn migrate_store(path: PathBuf, to: &str) -> ExitCode {
    let mut config = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    config.set("local", "migrate_store_to", to);
    let state = match State::with_config(path, config) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let copied = state.current().drivers().iter().any(|d| d.name == "local");
    state.teardown_all();
    if !copied {
        return fail("migrate-store: no service of this configuration uses the local driver");
    }
    println!("migrate-store complete: set [local] database to the new database and restart");
    ExitCode::SUCCESS
}

fn fail(reason: &str) -> ExitCode {
    eprintln!("jumpgate: {reason}");
    ExitCode::FAILURE
}

/// Logging to stderr, text or JSON; `RUST_LOG` overrides the configured level. Lines are
/// written by a thread of their own, so an access line costs a request no system call;
/// the guard flushes what is queued when it drops.
fn init_logging(format: LogFormat, level: &str) -> (FilterHandle, WorkerGuard) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(level));
    let (filter, handle) = reload::Layer::new(filter);
    use std::io::IsTerminal;
    // Not lossy: with the queue full, requests wait rather than lose their access lines.
    // Buffered: under load the writer thread sends many lines per system call; it flushes
    // whenever its queue runs dry.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(colour);
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
    };
    tracing_subscriber::registry().with(filter).with(fmt).init();
    (handle, guard)
}

fn serve(path: PathBuf, filter: FilterHandle) -> ExitCode {
    let state = match State::start(path) {
        Ok(s) => Arc::new(s),
        Err(e) => return fail(&e),
    };
    let max_threads = state.current().config.max_threads;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(max_threads)
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let code = runtime.block_on(run(state.clone(), filter));
    // Requests are drained; the runtime's blocking threads may still hold driver objects.
    runtime.shutdown_timeout(Duration::from_secs(5));
    state.teardown_all();
    code
}

async fn run(state: Arc<State>, filter: FilterHandle) -> ExitCode {
    use tokio::signal::unix::{signal, SignalKind};
    let listen = state.current().config.listen;
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => return fail(&format!("cannot listen on {listen}: {e}")),
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| listen.to_string());
    let gw = state.current();
    let drivers: Vec<String> = gw.drivers().iter().map(|d| d.name.clone()).collect();
    tracing::info!(
        "listening on {}://{addr} (services: {}; drivers: {})",
        if gw.tls.is_some() { "https" } else { "http" },
        gw.services
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", "),
        drivers.join(", ")
    );
    drop(gw);

    let (mut hup, mut term, mut int) = match (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(h), Ok(t), Ok(i)) => (h, t, i),
        _ => return fail("cannot install signal handlers"),
    };
    let reloader = {
        let state = state.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let s = state.clone();
                match tokio::task::spawn_blocking(move || s.reload()).await {
                    Ok(Ok(())) => {
                        let gw = state.current();
                        let _ = filter.reload(EnvFilter::new(&gw.config.log_level));
                        tracing::info!("reloaded {}", gw.config.path.display());
                    }
                    Ok(Err(e)) => tracing::error!(
                        "reload failed, still serving the previous configuration: {e}"
                    ),
                    Err(e) => tracing::error!(
                        "reload failed, still serving the previous configuration: {e}"
                    ),
                }
                // Builds the old gateway used are torn down once its last request is done.
                let s = state.clone();
                tokio::spawn(async move {
                    while s.sweep() {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                });
            }
        })
    };
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = int.recv() => tracing::info!("SIGINT"),
        }
    };
    server::serve(state, listener, shutdown).await;
    reloader.abort();
    ExitCode::SUCCESS
}
