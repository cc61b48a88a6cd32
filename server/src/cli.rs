//! The `tessera` command line. Every subcommand works against the same database as
//! `serve`, also while a server is running; users and clients are read per request, so
//! changes take effect at once, and keys within `key_reload_interval`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Args, Parser, Subcommand};
use tessera_migration::{Migrator, MigratorTrait};

use crate::clock::Clock;
use crate::config::{Overrides, Settings, config_path};
use crate::crypto::keys::SigningAlg;
use crate::crypto::password::PasswordHasher;
use crate::domain::{
    ClientId, ClientSecret, GrantType, NewPassword, RevokeReason, Scope, Username,
};
use crate::store::audit::{self, AuditEvent, kind};
use crate::store::clients::{self, NewClient};
use crate::store::families::{self, Owner};
use crate::store::{self, Db, is_unique_violation, users};
use crate::{admin, app, telemetry};

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
    Retire { kid: String },
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

/// The password for a new or changed user: stdin, a hidden prompt, or generated.
fn obtain_password(from_stdin: bool) -> anyhow::Result<(NewPassword, bool)> {
    if from_stdin {
        return Ok((
            NewPassword::parse(read_line_stdin()?).map_err(anyhow::Error::msg)?,
            false,
        ));
    }
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Repeat: ")?;
        if p != again {
            bail!("the passwords differ");
        }
        return Ok((NewPassword::parse(p).map_err(anyhow::Error::msg)?, false));
    }
    let generated = URL_SAFE_NO_PAD.encode(crate::crypto::random::bytes::<18>());
    Ok((
        NewPassword::parse(generated).map_err(anyhow::Error::msg)?,
        true,
    ))
}

async fn find_user(db: &Db, name: &str) -> anyhow::Result<crate::store::entities::user::Model> {
    users::find_by_username(&db.read, name)
        .await?
        .with_context(|| format!("no user named `{name}`"))
}

async fn user(settings: &Settings, clock: &Clock, cmd: UserCmd) -> anyhow::Result<()> {
    let db = open(settings).await?;
    let hasher = || PasswordHasher::new(settings.argon2, 1, 0);
    match cmd {
        UserCmd::Add {
            name,
            admin,
            password_stdin,
        } => {
            let name = Username::parse(&name).map_err(anyhow::Error::msg)?;
            let (password, generated) = obtain_password(password_stdin)?;
            let hash = hasher()?.hash(password.expose()).await?;
            let now = clock.now_ms();
            let user = match users::insert(&db.write, &name, hash, admin, now).await {
                Err(e) if is_unique_violation(&e) => bail!("a user named `{name}` already exists"),
                other => other?,
            };
            audit::record(
                &db.write,
                now,
                AuditEvent {
                    kind: kind::USER_CREATED,
                    actor: Some("cli".into()),
                    user_id: Some(user.id.clone()),
                    detail: Some(serde_json::json!({"username": name.as_str(), "admin": admin})),
                    ..Default::default()
                },
            )
            .await?;
            println!("created user {name} ({})", user.id);
            if generated {
                println!("password: {}", password.expose());
            }
        }
        UserCmd::List => {
            println!(
                "{:<36}  {:<24}  {:<5}  {:<8}",
                "ID", "USERNAME", "ADMIN", "DISABLED"
            );
            for u in users::list(&db.read).await? {
                println!(
                    "{:<36}  {:<24}  {:<5}  {:<8}",
                    u.id, u.username, u.is_admin, u.disabled
                );
            }
        }
        UserCmd::Passwd {
            name,
            password_stdin,
        } => {
            let u = find_user(&db, &name).await?;
            let (password, generated) = obtain_password(password_stdin)?;
            let hash = hasher()?.hash(password.expose()).await?;
            let now = clock.now_ms();
            users::set_password(&db.write, &u.id, hash, now).await?;
            let n = families::revoke_all(
                &db.write,
                Owner::User(&u.id),
                RevokeReason::PasswordChanged,
                "cli",
                now,
            )
            .await?;
            audit_user_updated(&db, &u.id, "password_changed", now).await?;
            println!("password changed for {name}; {n} session(s) ended");
            if generated {
                println!("password: {}", password.expose());
            }
        }
        UserCmd::Disable { name } => {
            let u = find_user(&db, &name).await?;
            let now = clock.now_ms();
            users::set_disabled(&db.write, &u.id, true, now).await?;
            let n = families::revoke_all(
                &db.write,
                Owner::User(&u.id),
                RevokeReason::UserDisabled,
                "cli",
                now,
            )
            .await?;
            audit_user_updated(&db, &u.id, "disabled", now).await?;
            println!("disabled {name}; {n} session(s) ended");
        }
        UserCmd::Enable { name } => {
            let u = find_user(&db, &name).await?;
            let now = clock.now_ms();
            users::set_disabled(&db.write, &u.id, false, now).await?;
            audit_user_updated(&db, &u.id, "enabled", now).await?;
            println!("enabled {name}");
        }
    }
    db.close().await;
    Ok(())
}

async fn audit_user_updated(db: &Db, user_id: &str, what: &str, now: i64) -> anyhow::Result<()> {
    audit::record(
        &db.write,
        now,
        AuditEvent {
            kind: kind::USER_UPDATED,
            actor: Some("cli".into()),
            user_id: Some(user_id.to_owned()),
            detail: Some(serde_json::json!({ "change": what })),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

fn non_negative(name: &str, v: Option<i64>, positive: bool) -> anyhow::Result<Option<i64>> {
    match v {
        Some(x) if x < 0 || (positive && x == 0) => {
            bail!(
                "--{name} must be a {} number of seconds",
                if positive { "positive" } else { "non-negative" }
            )
        }
        other => Ok(other),
    }
}

async fn client(settings: &Settings, clock: &Clock, cmd: ClientCmd) -> anyhow::Result<()> {
    let db = open(settings).await?;
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
        } => {
            let id = ClientId::parse(&client_id).map_err(anyhow::Error::msg)?;
            if public && secret_stdin {
                bail!("a public client has no secret; drop --secret-stdin");
            }
            let grants = match grant {
                Some(g) => GrantType::parse_list(&g).map_err(anyhow::Error::msg)?,
                None if public => vec![GrantType::Password, GrantType::RefreshToken],
                None => vec![GrantType::ClientCredentials],
            };
            if public && grants.contains(&GrantType::ClientCredentials) {
                bail!("a public client cannot use the client_credentials grant");
            }
            let scopes = Scope::parse(&scope).map_err(anyhow::Error::msg)?;
            let secret = if public {
                None
            } else if secret_stdin {
                Some((
                    ClientSecret::parse(read_line_stdin()?).map_err(anyhow::Error::msg)?,
                    false,
                ))
            } else {
                Some((ClientSecret::generate(), true))
            };
            let new = NewClient {
                client_id: id.clone(),
                secret_hash: secret.as_ref().map(|(s, _)| s.hash()),
                grant_types: grants.clone(),
                scopes,
                redirect_uris: redirect_uri,
                access_ttl: non_negative("access-ttl", access_ttl, true)?,
                refresh_idle_ttl: non_negative("refresh-idle-ttl", refresh_idle_ttl, true)?,
                refresh_absolute_ttl: non_negative(
                    "refresh-absolute-ttl",
                    refresh_absolute_ttl,
                    true,
                )?,
                reuse_leeway: non_negative("reuse-leeway", reuse_leeway, false)?,
            };
            let now = clock.now_ms();
            match clients::insert(&db.write, new, now).await {
                Err(e) if is_unique_violation(&e) => bail!("client `{id}` already exists"),
                other => other?,
            }
            audit::record(
                &db.write,
                now,
                AuditEvent {
                    kind: kind::CLIENT_CREATED,
                    actor: Some("cli".into()),
                    client_id: Some(id.to_string()),
                    detail: Some(serde_json::json!({
                        "public": public,
                        "grant_types": GrantType::join(&grants),
                    })),
                    ..Default::default()
                },
            )
            .await?;
            println!(
                "created {} client {id} (grants: {})",
                if public { "public" } else { "confidential" },
                GrantType::join(&grants)
            );
            if let Some((s, true)) = &secret {
                println!("client_secret: {}", s.expose());
                eprintln!("(shown once; only its hash is stored)");
            }
        }
        ClientCmd::List => {
            println!(
                "{:<32}  {:<12}  {:<40}  SCOPES",
                "CLIENT_ID", "TYPE", "GRANTS"
            );
            for c in clients::list(&db.read).await? {
                println!(
                    "{:<32}  {:<12}  {:<40}  {}",
                    c.client_id,
                    if c.is_public {
                        "public"
                    } else {
                        "confidential"
                    },
                    c.grant_types,
                    c.scopes
                );
            }
        }
        ClientCmd::Remove { client_id } => {
            let now = clock.now_ms();
            if !clients::delete(&db.write, &client_id).await? {
                bail!("no client `{client_id}`");
            }
            let n = families::revoke_all(
                &db.write,
                Owner::Client(&client_id),
                RevokeReason::ClientRemoved,
                "cli",
                now,
            )
            .await?;
            audit::record(
                &db.write,
                now,
                AuditEvent {
                    kind: kind::CLIENT_REMOVED,
                    actor: Some("cli".into()),
                    client_id: Some(client_id.clone()),
                    ..Default::default()
                },
            )
            .await?;
            println!("removed {client_id}; {n} session(s) ended");
        }
    }
    db.close().await;
    Ok(())
}

async fn keys_cmd(settings: &Settings, clock: &Clock, cmd: KeysCmd) -> anyhow::Result<()> {
    let db = open(settings).await?;
    let now = clock.now_ms();
    match cmd {
        KeysCmd::List => {
            println!(
                "{:<44}  {:<6}  {:<9}  {:<13}  {:<13}",
                "KID", "ALG", "STATE", "ACTIVATES", "RETIRES"
            );
            for k in store::keys::list(&db.read).await? {
                let state = if k.publish_until.is_some_and(|u| u <= now) {
                    "expired"
                } else if k.retired_at.is_some_and(|r| r <= now) {
                    "retired"
                } else if k.activate_at > now {
                    "pending"
                } else {
                    "active"
                };
                println!(
                    "{:<44}  {:<6}  {:<9}  {:<13}  {:<13}",
                    k.kid,
                    k.alg,
                    state,
                    k.activate_at,
                    k.retired_at
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "-".into())
                );
            }
        }
        KeysCmd::Rotate { alg } => {
            let alg = SigningAlg::parse(&alg).context("unknown algorithm")?;
            let kid = admin::rotate_signing_key(&db, settings, now, alg, "cli").await?;
            println!("new {alg} signing key {kid}");
        }
        KeysCmd::Retire { kid } => {
            admin::retire_signing_key(&db, &kid, "cli", None, now).await?;
            println!("retired {kid}");
        }
    }
    std::io::stdout().flush()?;
    db.close().await;
    Ok(())
}
