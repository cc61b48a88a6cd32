//! Settings: defaults, then an optional TOML file, then `TESSERA_*` environment variables,
//! then command-line flags. Unknown keys in the file are an error naming the key and the file;
//! `TESSERA_*` variables that name no setting belong to other programs and are ignored.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::crypto::kek::{Kek, KekError};
use crate::crypto::password::Argon2Cost;
use crate::domain::{Lifetime, LockoutPolicy};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub listen: String,
    /// `sqlite://FILE?mode=rwc` (the embedded default) or `postgres://...`.
    pub database_url: String,
    /// The `iss` of every token; defaults to `http://` + the listen address.
    pub issuer: Option<String>,
    /// The `aud` of access tokens; defaults to the issuer.
    pub audience: Option<String>,
    /// Default access-token lifetime in seconds (clients may override).
    pub access_ttl: i64,
    /// Default refresh-token idle lifetime in seconds.
    pub refresh_idle_ttl: i64,
    /// Default refresh-family absolute lifetime in seconds.
    pub refresh_absolute_ttl: i64,
    /// Default reuse leeway in seconds (0: every reuse is a replay).
    pub reuse_leeway: i64,
    /// argon2id cost for new password hashes.
    pub argon2: Argon2Cost,
    /// Password hashes running at once (default: number of CPUs).
    pub hash_concurrency: Option<usize>,
    /// Password hashes allowed to wait; beyond that the server answers 503.
    pub hash_queue: usize,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// Seconds a client has to send a request's headers, and again its body; also how
    /// long an idle keep-alive connection stays open.
    pub read_timeout: u64,
    /// Client connections open at once; past this, new ones wait to be accepted.
    pub max_connections: usize,
    /// Database pool size (readers on SQLite; the whole pool on PostgreSQL).
    pub db_max_connections: u32,
    /// How often the key ring is reloaded from the database, in seconds.
    pub key_reload_interval: u64,
    /// A new signing key is published this many seconds before it signs. Unset: 0 on
    /// SQLite, twice `key_reload_interval` on PostgreSQL ([`Settings::prepublish_secs`]).
    pub key_prepublish: Option<i64>,
    /// `text` (default) or `json`.
    pub log_format: LogFormat,
    /// Brute-force protection for password sign-ins.
    pub lockout: LockoutPolicy,
    /// A file holding the key-encryption key (32 bytes, hex or base64) that encrypts
    /// private signing keys at rest.
    pub key_encryption_key_file: Option<PathBuf>,
    /// The key-encryption key itself, usually from `TESSERA_KEY_ENCRYPTION_KEY`.
    pub key_encryption_key: Option<SecretString>,
    /// Origins allowed to call the API from a browser (CORS); empty: none.
    pub cors_origins: Vec<String>,
    /// Write a `token_refreshed` audit event for every refresh (one more insert in the
    /// refresh transaction; turn off to trade the trail for throughput).
    pub audit_refreshes: bool,
    /// Reverse proxies in front of the server that append to `X-Forwarded-For` (0: use
    /// the TCP peer address, the default). Sets which address throttling and the audit
    /// trail see.
    pub trusted_proxy_hops: usize,
    /// Browser cookies carry `Secure` and the `__Host-` prefix. Turn off only for
    /// plain-http development away from localhost.
    pub cookie_secure: bool,
    /// How long a browser sign-in session lasts, in seconds.
    pub sso_session_ttl: i64,
}

/// A string that never prints.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretString(pub String);

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://tessera.db?mode=rwc";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: DEFAULT_LISTEN.into(),
            database_url: DEFAULT_DATABASE_URL.into(),
            issuer: None,
            audience: None,
            access_ttl: 300,
            refresh_idle_ttl: 14 * 24 * 3600,
            refresh_absolute_ttl: 30 * 24 * 3600,
            reuse_leeway: 0,
            argon2: Argon2Cost::default(),
            hash_concurrency: None,
            hash_queue: 64,
            body_limit: 64 * 1024,
            read_timeout: 10,
            max_connections: 8192,
            db_max_connections: 8,
            key_reload_interval: 10,
            key_prepublish: None,
            log_format: LogFormat::Text,
            lockout: LockoutPolicy::default(),
            key_encryption_key_file: None,
            key_encryption_key: None,
            cors_origins: Vec::new(),
            trusted_proxy_hops: 0,
            audit_refreshes: true,
            cookie_secure: true,
            sso_session_ttl: 8 * 3600,
        }
    }
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub issuer: Option<String>,
}

impl Settings {
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Settings, String> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(format!("config file {} does not exist", path.display()));
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        // Only `TESSERA_*` variables that name a setting are read: others with the prefix
        // belong to other programs (`TESSERA_ADMIN_PASSWORD`, the desktop admin's, tests').
        let known: Vec<String> = match serde_json::to_value(Settings::default()) {
            Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        fig = fig.merge(
            Env::prefixed("TESSERA_")
                .filter(move |k| {
                    let k = k.as_str().to_ascii_lowercase();
                    let top = k.split("__").next().unwrap_or("");
                    known.iter().any(|n| n == top)
                })
                .split("__"),
        );
        let mut s: Settings = fig.extract().map_err(|e| {
            e.into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        if let Some(v) = &overrides.listen {
            s.listen = v.clone();
        }
        if let Some(v) = &overrides.database_url {
            s.database_url = v.clone();
        }
        if let Some(v) = &overrides.issuer {
            s.issuer = Some(v.clone());
        }
        s.validate()?;
        Ok(s)
    }

    pub fn validate(&self) -> Result<(), String> {
        // The same bounds as a client registration's.
        let lifetimes = [
            self.access_ttl,
            self.refresh_idle_ttl,
            self.refresh_absolute_ttl,
            self.reuse_leeway,
        ];
        for (l, v) in Lifetime::ALL.into_iter().zip(lifetimes) {
            l.check(v).map_err(|e| format!("{}: {e}", l.field()))?;
        }
        if self
            .key_prepublish
            .is_some_and(|p| !(0..=30 * 86_400).contains(&p))
        {
            return Err("key_prepublish must be between 0 and 30 days".into());
        }
        if !(1..=3600).contains(&self.key_reload_interval) {
            return Err("key_reload_interval must be between 1 and 3600 seconds".into());
        }
        if !(60..=31_536_000).contains(&self.sso_session_ttl) {
            return Err("sso_session_ttl must be between 60 s and 365 days".into());
        }
        if self.body_limit < 1024 {
            return Err("body_limit must be at least 1024 bytes".into());
        }
        if !(1..=3600).contains(&self.read_timeout) {
            return Err("read_timeout must be between 1 and 3600 seconds".into());
        }
        if self.max_connections < 16 {
            return Err("max_connections must be at least 16".into());
        }
        Ok(())
    }

    /// Seconds a rotated key is published before it signs. On PostgreSQL several
    /// instances may serve, and each loads a new key only at its next reload, which comes
    /// a little later than `key_reload_interval` and may fail once: by default the key
    /// signs after twice that, once every instance publishes it and verifies with it.
    /// SQLite is one server, which reloads at once, so there it signs at once.
    pub fn prepublish_secs(&self) -> i64 {
        self.key_prepublish.unwrap_or(if self.is_postgres() {
            2 * self.key_reload_secs()
        } else {
            0
        })
    }

    /// `key_reload_interval` as a signed count of seconds (validated to at most an hour).
    pub fn key_reload_secs(&self) -> i64 {
        i64::try_from(self.key_reload_interval).unwrap_or(3600)
    }

    /// Several instances may share the database.
    pub fn is_postgres(&self) -> bool {
        crate::store::is_postgres_url(&self.database_url)
    }

    /// The key-encryption key, from the file if one is named, else from the setting.
    pub fn kek(&self) -> Result<Option<Kek>, KekError> {
        if let Some(path) = &self.key_encryption_key_file {
            return Kek::from_file(path).map(Some);
        }
        self.key_encryption_key
            .as_ref()
            .map(|s| Kek::parse(&s.0))
            .transpose()
    }

    /// The issuer for a server that ended up listening on `bound`.
    pub fn issuer_for(&self, bound: &str) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
            .trim_end_matches('/')
            .to_owned()
    }
}

/// The config file named by `--config` or `TESSERA_CONFIG`.
pub fn config_path(flag: Option<PathBuf>) -> Option<PathBuf> {
    flag.or_else(|| std::env::var_os("TESSERA_CONFIG").map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_key_waits_for_every_instance_only_where_several_can_serve() {
        let sqlite = Settings::default();
        assert_eq!(sqlite.prepublish_secs(), 0);
        let mut pg = Settings {
            database_url: "postgresql://db/tessera".into(),
            key_reload_interval: 7,
            ..Settings::default()
        };
        assert_eq!(pg.prepublish_secs(), 14);
        pg.key_prepublish = Some(3);
        assert_eq!(pg.prepublish_secs(), 3, "an explicit setting wins");
        assert!(pg.validate().is_ok());
        pg.key_prepublish = Some(-1);
        assert!(pg.validate().is_err());
        pg.key_prepublish = None;
        pg.key_reload_interval = 0;
        assert!(pg.validate().is_err());
    }

    #[test]
    fn unknown_keys_are_named() {
        let dir = tempfile_dir();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "access_ttl = 60\nacess_ttl = 5\n").unwrap();
        let err = Settings::load(Some(&path), &Overrides::default()).unwrap_err();
        assert!(err.contains("acess_ttl"), "{err}");
        assert!(err.contains("bad.toml"), "{err}");
    }

    #[test]
    fn file_values_and_overrides_apply() {
        let dir = tempfile_dir();
        let path = dir.path().join("ok.toml");
        std::fs::write(
            &path,
            "access_ttl = 60\n[argon2]\nmemory_kib = 1024\niterations = 1\nparallelism = 1\n",
        )
        .unwrap();
        let s = Settings::load(
            Some(&path),
            &Overrides {
                listen: Some("127.0.0.1:9".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(s.access_ttl, 60);
        assert_eq!(s.argon2.memory_kib, 1024);
        assert_eq!(s.listen, "127.0.0.1:9");
    }

    fn tempfile_dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }
}
