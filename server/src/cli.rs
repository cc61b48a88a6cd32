//! The `tessera` command line, an edge like the HTTP API: every user, client and key
//! subcommand parses its arguments and calls the same operation of [`crate::admin`] as
//! the admin API (audited with the actor `cli`). They work against the same database as
//! `serve`, also while a server is running: user changes take effect at once, client
//! changes within a second (the server's client cache), keys within
//! `key_reload_interval`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use tessera_migration::{Migrator, MigratorTrait};

use crate::admin::clients::ClientSettings;
use crate::admin::{self, Actor, PageRequest};
use crate::clock::Clock;
use crate::config::{Overrides, Settings, config_path};
use crate::crypto::keys::SigningAlg;
use crate::domain::{ClientSecret, GrantType, RefreshTokenDelivery};
use crate::state::AppState;
use crate::store::{self, Db};
use crate::{app, telemetry};

#[derive(Parser)]
#[command(name = "tessera", version, about = "Tessera authorization server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Args, Clone, Default)]
struct ServeArgs {
    /// Address to listen on [env: TESSERA_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, global = true)]
    listen: Option<String>,
    /// Database URL [env: TESSERA_DATABASE_URL] [default: sqlite://tessera.db?mode=rwc]
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Issuer URL [env: TESSERA_ISSUER] [default: http:// + listen address]
    #[arg(long, global = true)]
    issuer: Option<String>,
    /// TOML configuration file [env: TESSERA_CONFIG]
    #[arg(long, global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default)
    Serve,
    /// Apply or inspect database migrations
    Migrate {
        #[arg(value_enum, default_value = "up")]
        action: MigrateAction,
    },
    /// Manage users
    #[command(subcommand)]
    User(UserCmd),
    /// Manage clients
    #[command(subcommand)]
    Client(ClientCmd),
    /// Manage signing keys
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Print the OpenAPI document (JSON)
    Openapi,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum MigrateAction {
    Up,
    Down,
    Status,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user
    Add {
        name: String,
        /// Make the user an administrator
        #[arg(long)]
        admin: bool,
        /// Read the password from one line of standard input
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users
    List,
    /// Set a user's password (ends all their sessions)
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user (ends all their sessions)
    Disable { name: String },
    /// Enable a disabled user
    Enable { name: String },
}

#[derive(Subcommand)]
enum ClientCmd {
    /// Register a client; a confidential client's secret is generated and printed once
    /// unless given with --secret-stdin
    Add {
        client_id: String,
        /// A public client (no secret)
        #[arg(long)]
        public: bool,
        #[arg(long)]
        secret_stdin: bool,
        /// Grant types, comma-separated [default: client_credentials, or
        /// password,refresh_token for --public]
        #[arg(long)]
        grant: Option<String>,
        /// Scopes the client may request, space-separated
        #[arg(long, default_value = "")]
        scope: String,
        #[arg(long = "redirect-uri")]
        redirect_uri: Vec<String>,
        /// Access-token lifetime in seconds
        #[arg(long)]
        access_ttl: Option<i64>,
        /// Refresh-token idle lifetime in seconds
        #[arg(long)]
        refresh_idle_ttl: Option<i64>,
        /// Refresh-family absolute lifetime in seconds
        #[arg(long)]
        refresh_absolute_ttl: Option<i64>,
        /// Seconds after a refresh during which a retry with the old token is allowed
        #[arg(long)]
        reuse_leeway: Option<i64>,
        /// A browser origin allowed to call with credentials (CORS); repeatable.
        #[arg(long = "origin")]
        origin: Vec<String>,
        /// Deliver refresh tokens in an HttpOnly cookie instead of the response body
        /// (browser apps; needs --origin).
        #[arg(long = "refresh-cookie")]
        refresh_cookie: bool,
        /// A third-party client: users are asked to allow its scopes.
        #[arg(long)]
        consent: bool,
    },
    /// List clients
    List,
    /// Remove a client (revokes its sessions)
    Remove { client_id: String },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// List signing keys
    List,
    /// Create a new signing key; the current one stops signing when it activates
    Rotate {
        #[arg(long, default_value = "ES256", value_parser = ["ES256", "EdDSA", "RS256"])]
        alg: String,
    },
    /// Retire a key at once: it stops signing and leaves the JWKS
    Retire {
        /// A key id is base64url, so it may begin with `-`.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen: cli.serve.listen.clone(),
        database_url: cli.serve.database_url.clone(),
        issuer: cli.serve.issuer.clone(),
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        println!("{}", crate::api::spec_json());
        return Ok(());
    }
    let settings = Settings::load(config_path(cli.serve.config).as_deref(), &overrides)
        .map_err(anyhow::Error::msg)
        .context("invalid configuration")?;
    telemetry::init(settings.log_format);
    let clock = Clock::default();
    match command {
        Command::Serve => serve(settings, clock).await,
        Command::Openapi => Ok(()),
        Command::Migrate { action } => migrate(&settings, action).await,
        Command::User(cmd) => user(&settings, &clock, cmd).await,
        Command::Client(cmd) => client(&settings, &clock, cmd).await,
        Command::Keys(cmd) => keys_cmd(&settings, &clock, cmd).await,
    }
}

async fn serve(settings: Settings, clock: Clock) -> anyhow::Result<()> {
    let server = app::spawn(
        settings,
        app::SpawnOptions {
            clock,
            shutdown_signal: Some(Box::pin(shutdown_signal())),
            admin_password: None,
        },
    )
    .await?;
    server.wait().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}

async fn open(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url, 2)
        .await
        .with_context(|| {
            format!(
                "cannot open database {}",
                store::redact_url(&settings.database_url)
            )
        })?;
    db.migrate_up().await.context("database migration failed")?;
    Ok(db)
}

async fn migrate(settings: &Settings, action: MigrateAction) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url, 2).await?;
    match action {
        MigrateAction::Up => {
            Migrator::up(&db.write, None).await?;
            println!("migrations applied");
        }
        MigrateAction::Down => {
            Migrator::down(&db.write, Some(1)).await?;
            println!("rolled back the last migration");
        }
        MigrateAction::Status => {
            for m in Migrator::get_pending_migrations(&db.write).await? {
                println!("pending  {}", m.name());
            }
            for m in Migrator::get_applied_migrations(&db.write).await? {
                println!("applied  {}", m.name());
            }
        }
    }
    Ok(())
}

/// Reads one line from stdin and drops its line ending.
fn read_line_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// The password for a new or changed user: stdin, a hidden prompt, or `None` for the
/// operation to generate one.
fn obtain_password(from_stdin: bool) -> anyhow::Result<Option<String>> {
    if from_stdin {
        return Ok(Some(read_line_stdin()?));
    }
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Repeat: ")?;
        if p != again {
            bail!("the passwords differ");
        }
        return Ok(Some(p));
    }
    Ok(None)
}

/// The operations' state for the CLI, on the migrated database.
async fn offline(settings: &Settings, clock: &Clock) -> anyhow::Result<AppState> {
    let db = open(settings).await?;
    AppState::offline(db, settings.clone(), clock.clone())
}

async fn user(settings: &Settings, clock: &Clock, cmd: UserCmd) -> anyhow::Result<()> {
    use admin::users;
    let state = offline(settings, clock).await?;
    let cli = Actor::Cli;
    match cmd {
        UserCmd::Add {
            name,
            admin,
            password_stdin,
        } => {
            let password = obtain_password(password_stdin)?;
            let (u, generated) = users::create(&state, &cli, &name, password, admin).await?;
            println!("created user {} ({})", u.username, u.id);
            if let Some(p) = generated {
                println!("password: {p}");
            }
        }
        UserCmd::List => {
            println!(
                "{:<36}  {:<24}  {:<5}  {:<8}  {:<8}",
                "ID", "USERNAME", "ADMIN", "DISABLED", "SESSIONS"
            );
            let mut page = PageRequest {
                cursor: None,
                limit: Some(admin::MAX_LIMIT),
            };
            loop {
                let p = users::list(&state, None, &page).await?;
                for u in &p.items {
                    println!(
                        "{:<36}  {:<24}  {:<5}  {:<8}  {:<8}",
                        u.id, u.username, u.is_admin, u.disabled, u.live_sessions
                    );
                }
                match p.next_cursor {
                    Some(c) => page.cursor = Some(c),
                    None => break,
                }
            }
        }
        UserCmd::Passwd {
            name,
            password_stdin,
        } => {
            let u = users::by_name(&state, &name).await?;
            let password = obtain_password(password_stdin)?;
            let (n, generated) = users::set_password(&state, &cli, &u.id, password).await?;
            println!("password changed for {name}; {n} session(s) ended");
            if let Some(p) = generated {
                println!("password: {p}");
            }
        }
        UserCmd::Disable { name } => {
            let u = users::by_name(&state, &name).await?;
            let (_, n) = users::update(&state, &cli, &u.id, None, Some(true)).await?;
            println!("disabled {name}; {n} session(s) ended");
        }
        UserCmd::Enable { name } => {
            let u = users::by_name(&state, &name).await?;
            users::update(&state, &cli, &u.id, None, Some(false)).await?;
            println!("enabled {name}");
        }
    }
    state.db.clone().close().await;
    Ok(())
}

async fn client(settings: &Settings, clock: &Clock, cmd: ClientCmd) -> anyhow::Result<()> {
    use admin::clients;
    let state = offline(settings, clock).await?;
    let cli = Actor::Cli;
    match cmd {
        ClientCmd::Add {
            client_id,
            public,
            secret_stdin,
            grant,
            scope,
            redirect_uri,
            access_ttl,
            refresh_idle_ttl,
            refresh_absolute_ttl,
            reuse_leeway,
            origin,
            refresh_cookie,
            consent,
        } => {
            if public && secret_stdin {
                bail!("a public client has no secret; drop --secret-stdin");
            }
            let grant_types = match grant {
                Some(g) => GrantType::parse_list(&g).map_err(anyhow::Error::msg)?,
                None if public => vec![GrantType::Password, GrantType::RefreshToken],
                None => vec![GrantType::ClientCredentials],
            };
            let secret = if secret_stdin {
                Some(ClientSecret::parse(read_line_stdin()?).map_err(anyhow::Error::msg)?)
            } else {
                None
            };
            let settings = ClientSettings {
                grant_types,
                scopes: scope.split_whitespace().map(str::to_owned).collect(),
                redirect_uris: redirect_uri,
                allowed_origins: origin,
                refresh_token_delivery: if refresh_cookie {
                    RefreshTokenDelivery::Cookie
                } else {
                    RefreshTokenDelivery::Body
                },
                require_consent: consent,
                access_ttl,
                refresh_idle_ttl,
                refresh_absolute_ttl,
                reuse_leeway,
            };
            let (c, secret) =
                clients::create(&state, &cli, &client_id, public, settings, secret).await?;
            println!(
                "created {} client {} (grants: {})",
                if public { "public" } else { "confidential" },
                c.client_id,
                GrantType::join(&c.grant_types)
            );
            if let Some(s) = secret {
                println!("client_secret: {s}");
                eprintln!("(shown once; only its hash is stored)");
            }
        }
        ClientCmd::List => {
            println!(
                "{:<32}  {:<12}  {:<40}  SCOPES",
                "CLIENT_ID", "TYPE", "GRANTS"
            );
            let mut page = PageRequest {
                cursor: None,
                limit: Some(admin::MAX_LIMIT),
            };
            loop {
                let p = clients::list(&state, &page).await?;
                for c in &p.items {
                    println!(
                        "{:<32}  {:<12}  {:<40}  {}",
                        c.client_id,
                        if c.public { "public" } else { "confidential" },
                        GrantType::join(&c.grant_types),
                        c.scopes.join(" ")
                    );
                }
                match p.next_cursor {
                    Some(c) => page.cursor = Some(c),
                    None => break,
                }
            }
        }
        ClientCmd::Remove { client_id } => {
            let n = clients::remove(&state, &cli, &client_id).await?;
            println!("removed {client_id}; {n} session(s) ended");
        }
    }
    state.db.clone().close().await;
    Ok(())
}

async fn keys_cmd(settings: &Settings, clock: &Clock, cmd: KeysCmd) -> anyhow::Result<()> {
    use admin::keys;
    let state = offline(settings, clock).await?;
    let cli = Actor::Cli;
    match cmd {
        KeysCmd::List => {
            println!(
                "{:<44}  {:<6}  {:<9}  {:<13}  {:<13}",
                "KID", "ALG", "STATE", "ACTIVATES", "RETIRES"
            );
            for k in keys::list(&state).await? {
                println!(
                    "{:<44}  {:<6}  {:<9}  {:<13}  {:<13}",
                    k.kid,
                    k.alg.as_str(),
                    k.state.as_str(),
                    k.activate_at,
                    k.retired_at
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "-".into())
                );
            }
        }
        KeysCmd::Rotate { alg } => {
            let alg = SigningAlg::parse(&alg).context("unknown algorithm")?;
            let k = keys::rotate(&state, &cli, alg).await?;
            println!("new {alg} signing key {}", k.kid);
        }
        KeysCmd::Retire { kid } => {
            keys::retire(&state, &cli, &kid).await?;
            println!("retired {kid}");
        }
    }
    std::io::stdout().flush()?;
    state.db.clone().close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command, KeysCmd};

    #[test]
    fn a_key_id_may_begin_with_a_hyphen() {
        let cli = Cli::try_parse_from(["tessera", "keys", "retire", "-yVd3kQ"]);
        match cli.map(|c| c.command) {
            Ok(Some(Command::Keys(KeysCmd::Retire { kid }))) => assert_eq!(kid, "-yVd3kQ"),
            Ok(_) => panic!("parsed as another command"),
            Err(e) => panic!("{e}"),
        }
    }
}
