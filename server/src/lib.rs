//! Tessera: an OAuth2-style authorization server with rotating refresh tokens and
//! family-wide reuse detection.
//!
//! Data flows one way: the HTTP edge ([`api`]) parses raw input into [`domain`] types, a
//! grant ([`grants`]) applies the rules, and the [`store`] persists. The binary's entry
//! point is [`cli::main`]; tests build the same application with [`app::spawn`].

/// Administrative operations behind the admin API, each audited.
pub mod admin;
/// The HTTP surface, declared with poem-openapi so the spec is generated from the code.
pub mod api;
/// The application: build the routes, bind, serve, shut down gracefully.
pub mod app;
/// First start on an empty database: signing key, admin client, admin user.
pub mod bootstrap;
/// The `tessera` command line (serve, migrate, user, client, keys, openapi).
pub mod cli;
/// The time source. Injected so that expiry can be tested without sleeping.
pub mod clock;
/// Settings with their defaults, from flags and `TESSERA_*` environment variables.
pub mod config;
/// Password hashing, JWT signing and verification, key generation, randomness.
pub mod crypto;
/// Newtypes and rules with no I/O: scopes, grant types, names, token formats.
pub mod domain;
/// The token grants; each module is one RFC 6749 flow.
pub mod grants;
/// Revocation and introspection.
pub mod lifecycle;
/// Prometheus metrics.
pub mod metrics;
/// What the handlers share: database, key ring, password hasher, clock, settings.
pub mod state;
/// SeaORM entities and query functions; every function takes `&impl ConnectionTrait`.
pub mod store;
/// Logging setup.
pub mod telemetry;
