//! Tessera: an OAuth2-style authorization server with rotating refresh tokens and
//! family-wide reuse detection.
//!
//! Data flows one way (docs/architecture.md): the edges ([`api`] over HTTP, [`web`] for
//! browsers, [`cli`] on the command line) parse raw input into [`domain`] types and call one function of the
//! flows ([`oauth`] for the protocol, [`admin`] for operations on users, clients, keys
//! and sessions), which apply the rules and persist through the [`store`]. The binary's
//! entry point is [`cli::main`]; tests build the same application with [`app::spawn`].

/// The operations layer: every change to users, clients, keys and sessions, written
/// once for the CLI, the admin API, `/me` and the OAuth endpoints.
pub mod admin;
/// The HTTP edge, declared with poem-openapi so the spec is generated from the code.
pub mod api;
/// The application: build the routes, bind, serve, shut down gracefully.
pub mod app;
/// First start on an empty database: signing key, admin client, admin user.
pub mod bootstrap;
/// The command-line edge (serve, migrate, user, client, keys, openapi).
pub mod cli;
/// The time source. Injected so that expiry can be tested without sleeping.
pub mod clock;
/// Settings with their defaults, from a file, `TESSERA_*` variables and flags.
pub mod config;
/// Password hashing, JWT signing and verification, key generation, randomness.
pub mod crypto;
/// Newtypes, rules and the wire vocabulary, with no I/O.
pub mod domain;
/// Prometheus metrics.
pub mod metrics;
/// The OAuth flows: client and bearer authentication, the grants, revocation,
/// introspection.
pub mod oauth;
/// Connections: the bound on how many, header and idle timeouts, graceful close.
pub mod serve;
/// What the handlers share: database, key ring, password hasher, clock, settings.
pub mod state;
/// Queries over SeaORM entities; every function takes `&impl ConnectionTrait`.
pub mod store;
/// Logging setup.
pub mod telemetry;
/// The browser edge: sign-in, consent and signed-out pages, the SDK, cookies, CORS.
pub mod web;
