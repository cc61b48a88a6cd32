//! `tessera-admin`: the administrator's desktop program. It reaches a Tessera server only
//! through the HTTP admin API, with the client generated from the server's OpenAPI spec.

/// Sign-in, token refresh and typed calls; no egui.
pub mod api;
/// The application shell: settings, sign-in, screens, banners, confirmations.
pub mod app;
/// One module per screen: its state, its requests and answers, its drawing.
pub mod screens;
/// The server's vocabularies (the generated enums), each variant listed once.
pub mod vocab;
/// Small shared widgets and formatting.
pub mod widgets;
/// The background runtime that runs network calls off the UI thread.
pub mod worker;

pub use app::{AdminApp, Autostart, Persisted, Screen};
