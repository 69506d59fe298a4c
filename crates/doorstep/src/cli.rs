//! Subcommands.

use crate::settings::{Database, DatabaseUrl, read_file};
use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use doorstep_app::demo::{DEMO_ESTATE, DEMO_PASSWORD, DEMO_USERS};
use doorstep_app::{App, AppError, parse_date, today};
use doorstep_domain::{Period, Role};
use doorstep_store::NewUser;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Doorstep (门口收费): property-fee collection that comes to the owner's door.
#[derive(Parser, Debug)]
#[command(name = "doorstep", version, about)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct Global {
    /// Folder for the SQLite database (used unless a database URL is given).
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Database URL: postgres://… (several instances may share it) or sqlite:…
    /// [env: DOORSTEP_DATABASE_URL, used when neither --database nor --data is given]
    #[arg(long, global = true, value_name = "URL")]
    database: Option<String>,
    /// Settings file (TOML: listen, database_url, data_dir).
    #[arg(long, global = true, env = "DOORSTEP_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the demo company (estate `demo`) if absent, then serve it.
    Demo {
        /// Port to listen on (127.0.0.1).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Seed and exit without serving.
        #[arg(long)]
        seed_only: bool,
        /// Port of the payment simulator the demo starts (127.0.0.1).
        #[arg(long, default_value_t = 8090)]
        paysim_port: u16,
    },
    /// Run the server for production.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "DOORSTEP_LISTEN", value_name = "ADDR")]
        listen: Option<String>,
        /// The address owners' and providers' requests reach this server at
        /// (payment notifications go to {public_url}/pay/notify/…).
        #[arg(long, env = "DOORSTEP_PUBLIC_URL", value_name = "URL")]
        public_url: Option<String>,
        /// Proxies whose X-Forwarded-For/-Proto/-Host are believed
        /// (addresses or CIDR blocks, comma-separated; default loopback).
        #[arg(
            long,
            env = "DOORSTEP_TRUSTED_PROXIES",
            value_name = "LIST",
            value_delimiter = ','
        )]
        trusted_proxies: Option<Vec<String>>,
    },
    /// Simulate WeChat Pay and Alipay on localhost (for trying Doorstep
    /// without merchant accounts): writes merchant settings that point at it.
    Paysim {
        /// Port to listen on (127.0.0.1).
        #[arg(long, default_value_t = 8090)]
        port: u16,
        /// Folder to write wechat.json and alipay.json (merchant settings) to.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
    },
    /// Merchant accounts at WeChat Pay and Alipay (money settles there).
    Merchant {
        #[command(subcommand)]
        command: MerchantCommand,
    },
    /// The double-entry ledger.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Verify a receipt (PDF, signed note, or number) or an evidence bundle
    /// (ZIP, offline: needs no database). Says valid, void or invalid and why;
    /// exits 1 unless valid.
    Verify {
        #[command(subcommand)]
        command: VerifyCommand,
    },
    /// The evidence log: signed checkpoints and the tamper audit.
    Evidence {
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// Receipts: sign those still pending; the company's signing keys.
    Receipt {
        #[command(subcommand)]
        command: ReceiptCommand,
    },
    /// Create or migrate the database, then exit.
    Migrate,
    /// Create a company and its first admin (first-time setup).
    Setup {
        /// Company name.
        #[arg(long)]
        company: String,
        /// Unified social credit code (18 characters, GB 32100 check character).
        #[arg(long)]
        credit_code: String,
        /// Admin username.
        #[arg(long, default_value = "admin")]
        username: String,
        /// Admin password (or env DOORSTEP_ADMIN_PASSWORD).
        #[arg(long, env = "DOORSTEP_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Route planning.
    Route {
        #[command(subcommand)]
        command: RouteCommand,
    },
    /// Billing.
    Bill {
        #[command(subcommand)]
        command: BillCommand,
    },
    /// Every owed line with its late fee as of a date.
    Arrears {
        /// Estate code.
        #[arg(long)]
        estate: String,
        /// Date (YYYY-MM-DD); default today at the estate.
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Write to this file instead of standard output (required for xlsx on a terminal).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Messages waiting in the outbox (SMS codes, visit reminders), newest first.
    Outbox {
        /// Only messages to this phone number.
        #[arg(long)]
        recipient: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import rooms, spaces and owners from .xlsx, .xls or .csv (UTF-8 or GBK).
    Import {
        /// Estate code.
        #[arg(long)]
        estate: String,
        /// The file.
        file: PathBuf,
        /// Import the valid rows even if some rows are invalid.
        #[arg(long)]
        skip_invalid: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum MerchantCommand {
    /// Store a merchant account from a settings file (JSON: provider, ids,
    /// keys; see `doorstep paysim` for examples). Keys are checked first.
    Set {
        /// Company name.
        #[arg(long)]
        company: String,
        /// Only for this estate (default: every estate of the company).
        #[arg(long)]
        estate: Option<String>,
        /// The settings file.
        #[arg(long)]
        file: PathBuf,
    },
    /// List a company's merchant accounts (ids only; keys are never shown).
    List {
        /// Company name.
        #[arg(long)]
        company: String,
    },
}

#[derive(Subcommand, Debug)]
enum LedgerCommand {
    /// Verify that every entry balances, every reversal mirrors what it
    /// reverses, every payment has its entry and every receivable matches
    /// the bills. Exits 1 if anything disagrees.
    Check {
        /// Only this estate.
        #[arg(long)]
        estate: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum VerifyCommand {
    /// A receipt: a PDF file, a file with the signed note, or a receipt
    /// number (with --company when the database holds several companies).
    Receipt {
        /// File or number.
        what: String,
        /// Company id (for a number).
        #[arg(long)]
        company: Option<i64>,
        /// The server's public URL, as `serve` is given it: a PDF's QR code
        /// holds it, so its pages are compared with it in place.
        #[arg(long, env = "DOORSTEP_PUBLIC_URL", value_name = "URL")]
        public_url: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// An evidence bundle (ZIP) exported for a dispute, offline.
    Bundle {
        /// The ZIP.
        file: PathBuf,
        /// The company's published verifier key (`name+hash+base64`); without
        /// it the keys inside the bundle are used, which only shows the
        /// bundle is consistent with itself.
        #[arg(long)]
        key: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
enum EvidenceCommand {
    /// Sign a checkpoint of every log that grew.
    Checkpoint,
    /// Audit the stored log(s): each record against its leaf hash, gaps,
    /// swaps, and every signed checkpoint recomputed from the records.
    /// Exits 1 if anything was tampered with.
    Check {
        /// Only this company.
        #[arg(long)]
        company: Option<i64>,
    },
}

#[derive(Subcommand, Debug)]
enum ReceiptCommand {
    /// Sign every receipt still pending (the server does this on its own).
    Issue,
    /// Rotate a company's signing key (the old one still verifies what it signed).
    RotateKey {
        /// Company id.
        #[arg(long)]
        company: i64,
    },
    /// List a company's signing keys.
    Keys {
        /// Company id.
        #[arg(long)]
        company: i64,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Add a staff user to a company, scoped to some of its estates.
    Add {
        /// Company name.
        #[arg(long)]
        company: String,
        /// Login name.
        #[arg(long)]
        username: String,
        /// Name shown on screens (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// admin, finance, dispatcher or collector.
        #[arg(long)]
        role: String,
        /// Estate codes in scope, comma-separated (admins see all).
        #[arg(long, value_delimiter = ',')]
        estates: Vec<String>,
        /// Password (or env DOORSTEP_USER_PASSWORD).
        #[arg(long, env = "DOORSTEP_USER_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Subcommand, Debug)]
enum RouteCommand {
    /// Show an estate's stored walking model, or replace it with `--set FILE` (checked first).
    Model {
        /// Estate code.
        #[arg(long)]
        estate: String,
        /// The model file to store (format: see `doorstep_routing::estate`).
        #[arg(long, value_name = "FILE")]
        set: Option<PathBuf>,
    },
    /// Draw an estate's site plan as SVG, with a route over it and each leg's walking time.
    SitePlan {
        /// The estate walking model (default: the demo estate's).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Stops in visiting order: BUILDING/FLOOR for a room (3/2), a code for a parking space (B007).
        #[arg(long, value_delimiter = ',')]
        stops: Vec<String>,
        /// Where to write the SVG.
        #[arg(long)]
        out: PathBuf,
    },
    /// Solve a VRPTW instance (Solomon or VRPLIB file); every solution is checked before it is printed.
    Solve {
        /// The instance file.
        file: PathBuf,
        /// Seconds to spend improving.
        #[arg(long, default_value_t = 1.0)]
        time_limit: f64,
        /// Random seed (same seed and budget, same routes).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Independent searches run in parallel (seeds seed, seed+1, …); the best is kept.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum BillCommand {
    /// Create a period's bill lines (running it again creates nothing new).
    Run {
        /// Estate code.
        #[arg(long)]
        estate: String,
        /// Period, YYYY-MM.
        #[arg(long)]
        period: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
    Xlsx,
}

fn database(g: &Global, file_db: Option<DatabaseUrl>, file_dir: Option<PathBuf>) -> Database {
    if let Some(url) = &g.database {
        return Database::Url(DatabaseUrl(url.clone()));
    }
    if let Some(dir) = &g.data {
        return Database::SqliteDir(dir.clone());
    }
    // The environment counts after what was typed on the command line.
    if let Some(url) = std::env::var("DOORSTEP_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return Database::Url(DatabaseUrl(url));
    }
    if let Some(url) = file_db {
        return Database::Url(url);
    }
    Database::SqliteDir(file_dir.unwrap_or_else(|| PathBuf::from("./doorstep-data")))
}

impl Cli {
    /// Whether the command runs a server (and so logs at info).
    pub fn is_server(&self) -> bool {
        matches!(
            self.command,
            Command::Demo {
                seed_only: false,
                ..
            } | Command::Serve { .. }
                | Command::Paysim { .. }
        )
    }
}

/// Runs the command line.
pub async fn run(cli: Cli) -> Result<()> {
    if let Command::Route {
        command: RouteCommand::SitePlan { model, stops, out },
    } = cli.command
    {
        return site_plan(model.as_deref(), &stops, &out);
    }
    // Route solving needs no database.
    if let Command::Route {
        command:
            RouteCommand::Solve {
                file,
                time_limit,
                seed,
                threads,
                json,
            },
    } = cli.command
    {
        return route_solve(&file, time_limit, seed, threads, json);
    }
    if let Command::Paysim { port, out } = &cli.command {
        return paysim(*port, out).await;
    }
    // A bundle is verified offline.
    if let Command::Verify {
        command: VerifyCommand::Bundle { file, key },
    } = &cli.command
    {
        return verify_bundle(file, key);
    }
    let file = match &cli.global.config {
        Some(p) => read_file(p)?,
        None => Default::default(),
    };
    let db = database(
        &cli.global,
        file.database_url.clone(),
        file.data_dir.clone(),
    );
    let mut app = App::new(db.open().await?);
    match cli.command {
        Command::Demo {
            port,
            seed_only,
            paysim_port,
        } => demo(&mut app, &db, port, seed_only, paysim_port).await,
        Command::Serve {
            listen,
            public_url,
            trusted_proxies,
        } => {
            let public_url = public_url.or(file.public_url.clone());
            let front = crate::settings::front_config(&file, public_url.clone(), trusted_proxies)?;
            let addr = listen
                .or(file.listen)
                .unwrap_or_else(|| "0.0.0.0:8080".into());
            app.pay.public_url = public_url.unwrap_or_else(|| format!("http://{addr}"));
            serve(app, &addr, &db, front).await
        }
        Command::Paysim { .. } => Ok(()),
        Command::Merchant {
            command:
                MerchantCommand::Set {
                    company,
                    estate,
                    file,
                },
        } => merchant_set(&app, &company, estate.as_deref(), &file).await,
        Command::Merchant {
            command: MerchantCommand::List { company },
        } => merchant_list(&app, &company).await,
        Command::Ledger {
            command: LedgerCommand::Check { estate, json },
        } => ledger_check(&app, estate.as_deref(), json).await,
        Command::Verify {
            command:
                VerifyCommand::Receipt {
                    what,
                    company,
                    public_url,
                    json,
                },
        } => {
            // The URL `serve` would print in QR codes, by the same rule.
            app.pay.public_url = public_url.or(file.public_url.clone()).unwrap_or_else(|| {
                format!(
                    "http://{}",
                    file.listen.as_deref().unwrap_or("0.0.0.0:8080")
                )
            });
            verify_receipt(&app, &what, company, json).await
        }
        Command::Verify { .. } => Ok(()),
        Command::Evidence {
            command: EvidenceCommand::Checkpoint,
        } => {
            let n = app
                .run_checkpointer(&format!("cli-{}", std::process::id()))
                .await?;
            println!("{n} checkpoint(s) signed");
            Ok(())
        }
        Command::Evidence {
            command: EvidenceCommand::Check { company },
        } => evidence_check(&app, company).await,
        Command::Receipt {
            command: ReceiptCommand::Issue,
        } => {
            let n = app
                .issue_pending_receipts(&format!("cli-{}", std::process::id()))
                .await?;
            println!("{n} receipt(s) issued");
            Ok(())
        }
        Command::Receipt {
            command: ReceiptCommand::RotateKey { company },
        } => {
            let k = app.rotate_company_key(company).await?;
            println!(
                "new signing key {} (id {}); the previous key is retired",
                k.vkey, k.id
            );
            Ok(())
        }
        Command::Receipt {
            command: ReceiptCommand::Keys { company },
        } => {
            for k in app.store.signing_keys(company).await? {
                let state = match k.retired_at {
                    Some(_) => "retired",
                    None => "active",
                };
                println!("{}\t{state}\t{}", k.id, k.vkey);
            }
            Ok(())
        }
        Command::Route {
            command:
                RouteCommand::Solve {
                    file,
                    time_limit,
                    seed,
                    threads,
                    json,
                },
        } => route_solve(&file, time_limit, seed, threads, json),
        Command::Route {
            command: RouteCommand::SitePlan { model, stops, out },
        } => site_plan(model.as_deref(), &stops, &out),
        Command::Route {
            command: RouteCommand::Model { estate, set },
        } => route_model(&app, &estate, set.as_deref()).await,
        Command::Outbox {
            recipient,
            limit,
            json,
        } => outbox(&app, recipient.as_deref(), limit, json).await,
        Command::Migrate => {
            eprintln!("database ready: {}", db.describe());
            Ok(())
        }
        Command::Setup {
            company,
            credit_code,
            username,
            password,
        } => setup(&app, &company, &credit_code, &username, &password).await,
        Command::User {
            command:
                UserCommand::Add {
                    company,
                    username,
                    display_name,
                    role,
                    estates,
                    password,
                },
        } => {
            user_add(
                &app,
                &company,
                &username,
                display_name.as_deref(),
                &role,
                &estates,
                &password,
            )
            .await
        }
        Command::Bill {
            command:
                BillCommand::Run {
                    estate,
                    period,
                    json,
                },
        } => bill_run(&app, &estate, &period, json).await,
        Command::Arrears {
            estate,
            as_of,
            format,
            out,
        } => arrears(&app, &estate, as_of.as_deref(), format, out).await,
        Command::Import {
            estate,
            file,
            skip_invalid,
            json,
        } => import(&app, &estate, &file, skip_invalid, json).await,
    }
}

fn app_err(e: AppError) -> anyhow::Error {
    anyhow!(e)
}

/// Progress on a terminal only; machine-readable output stays clean.
fn progress_line(done: u64, total: u64) {
    if std::io::stderr().is_terminal() && total > 0 {
        eprint!("\r  {done}/{total} ({}%)   ", done * 100 / total);
        if done == total {
            eprintln!();
        }
    }
}

async fn demo(
    app: &mut App,
    db: &Database,
    port: u16,
    seed_only: bool,
    paysim_port: u16,
) -> Result<()> {
    eprintln!("Doorstep demo — database: {}", db.describe());
    let summary = app
        .seed_demo(&mut |step| {
            eprintln!("  seeding: {step}");
        })
        .await
        .map_err(app_err)?;
    let s = &summary.stats;
    if summary.existed {
        eprintln!(
            "demo estate `{DEMO_ESTATE}` already exists: {} rooms, {} spaces, {} owners, {} bill lines",
            s.rooms, s.spaces, s.owners, s.bill_lines
        );
    } else {
        eprintln!(
            "created demo estate `{DEMO_ESTATE}`: {} buildings, {} rooms, {} spaces, {} owners, {} bill lines, {} payments",
            s.buildings, s.rooms, s.spaces, s.owners, s.bill_lines, summary.payments
        );
    }
    if seed_only {
        return Ok(());
    }
    let addr = format!("127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("listening on {addr} (is the port taken? try --port)"))?;
    let base = format!("http://{}", listener.local_addr()?);
    // The payment simulator stands in for WeChat Pay and Alipay.
    let (_sim, sim_base, wechat, alipay) = doorstep_paysim::kit::start(paysim_port, |_| {})
        .await
        .with_context(|| {
        format!("starting the payment simulator on 127.0.0.1:{paysim_port} (try --paysim-port)")
    })?;
    app.pay.public_url = base.clone();
    doorstep_app::demo::seed_collecting(app, DEMO_ESTATE, &wechat, &alipay)
        .await
        .map_err(app_err)?;
    let route_day = plan_demo_evening(app).await;
    println!("\nDoorstep is running.");
    println!("  Staff console:  {base}/console");
    println!("  Arrears:        {base}/console/{DEMO_ESTATE}/arrears");
    println!("  API (OpenAPI):  {base}/api/openapi.json");
    println!("  Health:         {base}/healthz");
    println!("  Demo logins (password {DEMO_PASSWORD}):");
    for (u, role, name) in DEMO_USERS {
        println!("    {u:<11} {:<11} {name}", role.code());
    }
    if let Some(e) = app.store.estate_by_code(DEMO_ESTATE).await?
        && let Some(o) = app
            .store
            .list_owners(e.id, "", 1, 0)
            .await?
            .into_iter()
            .find(|o| !o.phones.is_empty())
    {
        println!(
            "  Owners book at: {base}/o   (try {} — {})",
            o.phones[0], o.name
        );
        println!(
            "    the SMS code is printed here (the demo's phone); staff see it redacted in the outbox"
        );
    }
    match route_day {
        Some(day) => println!(
            "  Collector app:  {base}/c/{DEMO_ESTATE}/today?date={day}   (sign in as collector: the route, cash, QR, signature)"
        ),
        None => println!("  Collector app:  {base}/c   (sign in as collector)"),
    }
    println!(
        "  Payment simulator (WeChat Pay + Alipay): {sim_base}/sim — scan a QR code there, or make a 付款码 at {sim_base}/sim/wallet"
    );
    println!(
        "  E-receipts:     {base}/console/{DEMO_ESTATE}/receipts (the history's receipts are signed in the background)\n  Verify one:     {base}/verify   Invoice queue: {base}/console/invoices"
    );
    println!("Press Ctrl-C to stop.");
    if app.gateways.is_empty() {
        app.gateways
            .push(std::sync::Arc::new(doorstep_app::notify::TerminalPhone));
    }
    doorstep_web::serve(listener, app.clone())
        .await
        .context("serving HTTP")
}

/// Plans the demo's next booked evening once (as the dispatcher would), so
/// that collectors have a route to open; returns its date. Planning again
/// from the dispatch board is always possible.
async fn plan_demo_evening(app: &App) -> Option<doorstep_domain::Date> {
    let (user, _) = app.store.user_credentials("dispatcher").await.ok()??;
    let estate = app.estate(DEMO_ESTATE).await.ok()?;
    let list = app
        .store
        .bookings(&doorstep_store::BookingQuery {
            estate_id: Some(estate.id),
            from: Some(doorstep_app::now()),
            statuses: vec![
                doorstep_domain::BookingStatus::Requested,
                doorstep_domain::BookingStatus::Confirmed,
            ],
            ..Default::default()
        })
        .await
        .ok()?;
    let day = list.iter().map(|b| b.day).min();
    match day {
        Some(day) => {
            let board = app
                .dispatch_board(&user, DEMO_ESTATE, day, None)
                .await
                .ok()?;
            if board.planned_at.is_none()
                && let Err(e) = app.plan_dispatch(&user, DEMO_ESTATE, day, None, 1000).await
            {
                tracing::warn!("planning the demo evening: {e}");
            }
            Some(day)
        }
        // Planned already (or nothing booked): the first scheduled day.
        None => app
            .store
            .bookings(&doorstep_store::BookingQuery {
                estate_id: Some(estate.id),
                from: Some(doorstep_app::now()),
                statuses: vec![doorstep_domain::BookingStatus::Scheduled],
                ..Default::default()
            })
            .await
            .ok()?
            .iter()
            .map(|b| b.day)
            .min(),
    }
}

async fn paysim(port: u16, out: &Path) -> Result<()> {
    let (_sim, base, wechat, alipay) = doorstep_paysim::kit::start(port, |_| {})
        .await
        .with_context(|| format!("starting the simulator on 127.0.0.1:{port}"))?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (name, v) in [("wechat.json", &wechat), ("alipay.json", &alipay)] {
        let path = out.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(v)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("merchant settings: {}", path.display());
    }
    println!("WeChat Pay and Alipay simulated at {base} (tester pages: {base}/sim)");
    println!("use them: doorstep merchant set --company NAME --file wechat.json (and alipay.json)");
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}

async fn company_named(app: &App, name: &str) -> Result<doorstep_store::Company> {
    app.store
        .company_by_name(name)
        .await?
        .ok_or_else(|| anyhow!("--company: no company named {name:?}"))
}

async fn merchant_set(app: &App, company: &str, estate: Option<&str>, file: &Path) -> Result<()> {
    let c = company_named(app, company).await?;
    let scope = match estate {
        Some(code) => {
            let e = app
                .estate(code)
                .await
                .map_err(|e| anyhow!("--estate: {e}"))?;
            if e.company_id != c.id {
                bail!("--estate: {code} belongs to another company");
            }
            e.id
        }
        None => 0,
    };
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let settings: doorstep_app::pay::MerchantSettings = serde_json::from_str(&text)
        .with_context(|| format!("{} is not merchant settings", file.display()))?;
    let m = app
        .set_merchant(c.id, scope, &settings)
        .await
        .map_err(|e| anyhow!("{}: {e}", file.display()))?;
    println!(
        "{} merchant {} (app {}) stored for {} (id {})",
        m.provider,
        m.merchant_id,
        m.app_id,
        estate.unwrap_or("every estate"),
        m.id
    );
    if let Some(w) = cert_warning_line(&m) {
        eprintln!("{w}");
    }
    Ok(())
}

/// A warning about a platform certificate that expires within 30 days.
fn cert_warning_line(m: &doorstep_store::Merchant) -> Option<String> {
    let now = doorstep_app::now();
    doorstep_app::pay::cert_warning(m, now).map(|c| {
        format!(
            "warning: platform certificate {} expires on {} ({} days left); \
             download the new one from WeChat Pay and run merchant set again",
            c.serial,
            c.date,
            c.days_left(now)
        )
    })
}

async fn merchant_list(app: &App, company: &str) -> Result<()> {
    let c = company_named(app, company).await?;
    for m in app.store.merchants(c.id).await? {
        let scope = if m.estate_scope == 0 {
            "every estate".to_string()
        } else {
            app.store.estate_by_id(m.estate_scope).await?.code
        };
        println!(
            "{:<3} {:<7} {:<20} {:<24} {scope}",
            m.id, m.provider, m.merchant_id, m.app_id
        );
        if let Some(w) = cert_warning_line(&m) {
            println!("    {w}");
        }
    }
    Ok(())
}

fn verify_bundle(file: &Path, keys: &[String]) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let trusted = (!keys.is_empty()).then_some(keys);
    let report = doorstep_evidence::bundle::verify_bundle(&bytes, trusted)
        .map_err(|e| anyhow!("{}: {e}", file.display()))?;
    print!("{report}");
    if !report.ok {
        bail!("the bundle did not verify");
    }
    Ok(())
}

async fn verify_receipt(app: &App, what: &str, company: Option<i64>, json: bool) -> Result<()> {
    let path = Path::new(what);
    let v = if path.is_file() {
        let bytes = std::fs::read(path).with_context(|| format!("reading {what}"))?;
        if bytes.starts_with(b"%PDF") {
            app.verify_receipt_pdf(&bytes).await?
        } else {
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow!("{what} is neither a PDF nor a signed receipt note"))?;
            app.verify_receipt_note(&text).await?
        }
    } else {
        let digits = what.trim().trim_start_matches("No.").trim();
        let number: i64 = digits
            .parse()
            .map_err(|_| anyhow!("{what:?} is not a file or a receipt number"))?;
        let company = match company {
            Some(c) => c,
            None => {
                let logs = app.store.all_signing_keys().await?;
                let mut ids: Vec<i64> = logs.iter().map(|k| k.company_id).collect();
                ids.sort();
                ids.dedup();
                match ids.as_slice() {
                    [one] => *one,
                    [] => bail!("no receipt has been issued here yet"),
                    _ => bail!("several companies issue receipts here: give --company ID"),
                }
            }
        };
        app.verify_receipt_number(company, number).await?
    };
    if json {
        // The operator sees the stored receipt too (the public answer never
        // carries it).
        let mut out = serde_json::to_value(&v)?;
        if let Some(r) = &v.receipt {
            out["receipt"] = serde_json::to_value(r)?;
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let word = match v.verdict {
            "valid" => "VALID 有效",
            "void" => "VOID 已作废",
            _ => "INVALID 无效",
        };
        println!("{word}: {}", v.why);
        println!("  {}", v.why_zh);
        if let Some(c) = &v.content {
            println!(
                "  No. {}  {}  {}  ¥{}  {}",
                doorstep_receipt::number_display(c.number),
                c.company,
                c.payer,
                doorstep_domain::Fen(c.total_fen).yuan_string(),
                c.issued_at
            );
        }
        if let Some(r) = &v.receipt
            && let Some(i) = r.leaf_index
        {
            println!("  evidence record #{i}");
        }
    }
    if v.verdict != "valid" {
        std::process::exit(1);
    }
    Ok(())
}

async fn evidence_check(app: &App, company: Option<i64>) -> Result<()> {
    let logs = app.store.evidence_logs().await?;
    let mut bad = 0;
    for (c, _) in logs.iter().filter(|(c, _)| company.is_none_or(|x| x == *c)) {
        let r = app.audit_evidence(*c).await?;
        println!(
            "company {}: {} records, {} checkpoints",
            r.company_id, r.size, r.checkpoints
        );
        if r.findings.is_empty() {
            println!("  intact: every record matches its leaf hash and every checkpoint");
        }
        for f in &r.findings {
            println!("  {f}");
        }
        bad += r.findings.len();
    }
    if bad > 0 {
        bail!("the evidence log check found {bad} problem(s)");
    }
    Ok(())
}

async fn ledger_check(app: &App, estate: Option<&str>, json: bool) -> Result<()> {
    let estate_id = match estate {
        Some(code) => Some(
            app.estate(code)
                .await
                .map_err(|e| anyhow!("--estate: {e}"))?
                .id,
        ),
        None => None,
    };
    let r = doorstep_store::check_ledger(app.store.as_ref(), estate_id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "{} entries, {} postings, {} accounts, {} payments, {} receivables checked",
            r.entries, r.postings, r.accounts, r.payments, r.receivables
        );
        for p in &r.problems {
            println!("  problem: {p}");
        }
        for o in &r.open {
            println!("  open: {o}");
        }
        if r.ok() {
            println!("ledger OK: every entry balances and every balance matches the bills");
        }
    }
    if !r.ok() {
        bail!("the ledger check found {} problems", r.problems.len());
    }
    Ok(())
}

async fn route_model(app: &App, estate: &str, set: Option<&Path>) -> Result<()> {
    let e = app
        .estate(estate)
        .await
        .map_err(|e| anyhow!("--estate: {e}"))?;
    match set {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            doorstep_routing::estate::EstateModel::parse(&text)
                .map_err(|err| anyhow!("{}: {err}", path.display()))?;
            app.store
                .set_estate_model(e.id, &text, doorstep_app::now())
                .await?;
            eprintln!(
                "stored the walking model of estate {estate} ({} lines)",
                text.lines().count()
            );
        }
        None => match app.store.estate_model(e.id).await? {
            Some(m) => print!("{m}"),
            None => bail!("estate {estate} has no walking model yet; store one with --set FILE"),
        },
    }
    Ok(())
}

async fn outbox(app: &App, recipient: Option<&str>, limit: i64, json: bool) -> Result<()> {
    let list = app
        .store
        .outbox(
            recipient.map(str::trim).filter(|r| !r.is_empty()),
            limit.clamp(1, 1000),
        )
        .await?;
    if json {
        println!("{}", serde_json::to_string(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        eprintln!("the outbox is empty");
    }
    for m in &list {
        let when = jiff::Timestamp::from_second(m.created_at)
            .map(|t| {
                t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                    .strftime("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_default();
        let state = if m.cancelled_at.is_some() {
            "withdrawn"
        } else if m.sent_at.is_some() {
            "sent"
        } else {
            "queued"
        };
        println!(
            "{when}  {:<6} {:<12} {:<9} {state:<9} {}",
            m.channel, m.recipient, m.kind, m.body
        );
    }
    Ok(())
}

async fn serve(
    app: App,
    addr: &str,
    db: &Database,
    front: doorstep_web::FrontConfig,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    tracing::info!(listen = %listener.local_addr()?, database = %db.describe(), "doorstep serving");
    doorstep_web::serve_with(listener, app, front)
        .await
        .context("serving HTTP")
}

async fn setup(
    app: &App,
    company: &str,
    credit_code: &str,
    username: &str,
    password: &str,
) -> Result<()> {
    let credit_code = doorstep_domain::cn::CreditCode::parse(credit_code).map_err(
        |doorstep_domain::DomainError::Invalid { message, .. }| {
            anyhow!("--credit-code: {credit_code:?} is not a valid unified social credit code: {message}")
        },
    )?;
    if password.chars().count() < 8 {
        bail!("--password: use at least 8 characters");
    }
    let c = match app.store.company_by_name(company).await? {
        Some(c) => c,
        None => {
            app.store
                .create_company(company, credit_code.as_str())
                .await?
        }
    };
    let hash = doorstep_app::auth::hash_password(password).map_err(app_err)?;
    let u = app
        .store
        .create_user(&NewUser {
            company_id: c.id,
            username: username.into(),
            display_name: username.into(),
            password_hash: hash,
            role: Role::Admin,
            estate_ids: vec![],
        })
        .await?;
    println!("company {} (id {}) with admin {}", c.name, c.id, u.username);
    Ok(())
}

async fn user_add(
    app: &App,
    company: &str,
    username: &str,
    display_name: Option<&str>,
    role: &str,
    estates: &[String],
    password: &str,
) -> Result<()> {
    let role = Role::from_code(role)
        .map_err(|e| anyhow!("--role: {e} (use admin, finance, dispatcher or collector)"))?;
    if password.chars().count() < 8 {
        bail!("--password: use at least 8 characters");
    }
    let c = app
        .store
        .company_by_name(company)
        .await?
        .ok_or_else(|| anyhow!("--company: no company named {company:?}"))?;
    let mut ids = Vec::new();
    for code in estates.iter().filter(|c| !c.trim().is_empty()) {
        let e = app
            .estate(code.trim())
            .await
            .map_err(|e| anyhow!("--estates: {e}"))?;
        if e.company_id != c.id {
            bail!("--estates: estate {code:?} belongs to another company");
        }
        ids.push(e.id);
    }
    if ids.is_empty() && role != Role::Admin {
        bail!("--estates: a {} needs at least one estate", role.code());
    }
    let hash = doorstep_app::auth::hash_password(password).map_err(app_err)?;
    let u = app
        .store
        .create_user(&NewUser {
            company_id: c.id,
            username: username.trim().into(),
            display_name: display_name.unwrap_or(username).trim().into(),
            password_hash: hash,
            role,
            estate_ids: ids,
        })
        .await?;
    println!(
        "user {} ({}) added to {}",
        u.username,
        u.role.code(),
        c.name
    );
    Ok(())
}

async fn bill_run(app: &App, estate: &str, period: &str, json: bool) -> Result<()> {
    let period = Period::parse(period).map_err(|e| anyhow!("--period: {e}"))?;
    let e = app
        .estate(estate)
        .await
        .map_err(|e| anyhow!("--estate: {e}"))?;
    if !json {
        eprintln!("billing {} for {period}…", e.name);
    }
    let s = app
        .run_billing(&e, period, None, &mut |d, t| {
            if !json {
                progress_line(d, t)
            }
        })
        .await
        .map_err(app_err)?;
    if json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "{} {}: {} lines created, {} already existed",
            s.estate, s.period, s.created, s.existing
        );
    }
    Ok(())
}

async fn arrears(
    app: &App,
    estate: &str,
    as_of: Option<&str>,
    format: Format,
    out: Option<PathBuf>,
) -> Result<()> {
    let e = app
        .estate(estate)
        .await
        .map_err(|e| anyhow!("--estate: {e}"))?;
    let as_of = match as_of {
        Some(d) => parse_date("as_of", d).map_err(|e| anyhow!("--as-of: {e}"))?,
        None => today(&e),
    };
    let a = app.arrears(&e, as_of, "").await.map_err(app_err)?;
    let bytes = match format {
        Format::Json => {
            let mut v = serde_json::to_vec_pretty(&a)?;
            v.push(b'\n');
            v
        }
        Format::Csv => doorstep_app::export::arrears_csv(&a).map_err(app_err)?,
        Format::Xlsx => doorstep_app::export::arrears_xlsx(&a).map_err(app_err)?,
    };
    match out {
        Some(path) => {
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "{} owed lines, total {} (principal {}, late fees {}) as of {} → {}",
                a.rows.len(),
                a.total_owed,
                a.principal_owed,
                a.late_fee_owed,
                a.as_of,
                path.display()
            );
        }
        None => {
            if format == Format::Xlsx && std::io::stdout().is_terminal() {
                bail!("--format xlsx writes a binary file: add --out FILE.xlsx");
            }
            match std::io::stdout().write_all(&bytes) {
                // `… | head` closing the pipe early is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
    }
    Ok(())
}

async fn import(
    app: &App,
    estate: &str,
    file: &std::path::Path,
    skip_invalid: bool,
    json: bool,
) -> Result<()> {
    let e = app
        .estate(estate)
        .await
        .map_err(|e| anyhow!("--estate: {e}"))?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("import.csv");
    if !json {
        eprintln!("importing {} into {}…", file.display(), e.name);
    }
    let r = app
        .import_file(&e, name, &bytes, skip_invalid)
        .await
        .map_err(app_err)?;
    if json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        eprintln!(
            "read {} data rows ({}), {} valid",
            r.rows, r.encoding, r.valid_rows
        );
        for err in &r.errors {
            eprintln!("  {}", err.text);
        }
        match &r.outcome {
            Some(o) => println!(
                "imported: {} rooms, {} parking spaces, {} new owners ({} already on file), {} new buildings{}",
                o.rooms_created,
                o.spaces_created,
                o.owners_created,
                o.owners_matched,
                o.buildings_created,
                if r.errors.is_empty() {
                    String::new()
                } else {
                    format!("; {} invalid rows skipped", r.errors.len())
                }
            ),
            None => println!(
                "nothing imported: fix the rows above, or pass --skip-invalid to import the valid rows only"
            ),
        }
    }
    if !r.applied && !r.errors.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}

fn route_solve(
    file: &std::path::Path,
    time_limit: f64,
    seed: u64,
    threads: usize,
    json: bool,
) -> Result<()> {
    if !(time_limit.is_finite() && time_limit > 0.0) {
        bail!("--time-limit: give a positive number of seconds");
    }
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let inst = doorstep_routing::parse(&text).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let started = std::time::Instant::now();
    let params = doorstep_routing::Params {
        seed,
        time_limit: std::time::Duration::from_secs_f64(time_limit),
        max_iterations: None,
    };
    let sol = if threads > 1 {
        doorstep_routing::solve_parallel(&inst, &params, threads)
    } else {
        doorstep_routing::solve(&inst, &params)
    };
    let seconds = started.elapsed().as_secs_f64();
    // Never print a solution the independent checker rejects.
    let checked = doorstep_routing::check(&inst, &sol.routes, &sol.unassigned)
        .map_err(|v| anyhow!("internal error: the solver produced an infeasible solution: {v}"))?;
    let ids = |route: &[usize]| {
        route
            .iter()
            .map(|&c| inst.ids[c].clone())
            .collect::<Vec<_>>()
    };
    if json {
        let out = serde_json::json!({
            "instance": inst.name,
            "vehicles": checked.vehicles,
            "distance": (checked.distance * 100.0).round() / 100.0,
            "routes": sol.routes.iter().map(|r| ids(r)).collect::<Vec<_>>(),
            "unassigned": ids(&sol.unassigned),
            "dropped": sol.unassigned.iter().map(|&c| serde_json::json!({"id": inst.ids[c], "reason": doorstep_routing::why_dropped(&inst, c)})).collect::<Vec<_>>(),
            "iterations": sol.iterations,
            "seconds": seconds,
            "seed": seed,
        });
        println!("{out}");
    } else {
        for (i, r) in sol.routes.iter().enumerate() {
            println!("Route #{}: {}", i + 1, ids(r).join(" "));
        }
        for &c in &sol.unassigned {
            println!(
                "Not served: {} — {}",
                inst.ids[c],
                doorstep_routing::why_dropped(&inst, c).describe()
            );
        }
        println!(
            "{}: {} vehicles, distance {:.2} ({} iterations in {:.2} s, seed {seed})",
            inst.name, checked.vehicles, checked.distance, sol.iterations, seconds
        );
    }
    Ok(())
}

fn site_plan(
    model: Option<&std::path::Path>,
    stops: &[String],
    out: &std::path::Path,
) -> Result<()> {
    use doorstep_routing::estate::{EstateModel, Stop};
    let text = match model {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        }
        None => doorstep_app::demo::demo_estate_model(),
    };
    let m = EstateModel::parse(&text).map_err(|e| {
        anyhow!(
            "{}: {e}",
            model
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "demo model".into())
        )
    })?;
    let mut route = Vec::new();
    for s in stops.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        route.push(match s.split_once('/') {
            Some((b, f)) => Stop::Room {
                building: b.to_string(),
                floor: f
                    .parse()
                    .map_err(|_| anyhow!("--stops: {s:?}: the floor after / must be a number"))?,
            },
            None => Stop::Space(s.to_string()),
        });
    }
    let mut prev = Stop::Office;
    let mut total = 0.0;
    for st in route.iter().chain(std::iter::once(&Stop::Office)) {
        let t = m.seconds(&prev, st).map_err(|e| anyhow!("--stops: {e}"))?;
        total += t;
        println!(
            "{:>6.0} s  → {}",
            t,
            match st {
                Stop::Office => "office".to_string(),
                Stop::Room { building, floor } => format!("building {building}, floor {floor}"),
                Stop::Space(code) => format!("parking space {code}"),
            }
        );
        prev = st.clone();
    }
    std::fs::write(out, m.svg(&route)).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "walking {:.0} min in all; site plan written to {}",
        total / 60.0,
        out.display()
    );
    Ok(())
}
