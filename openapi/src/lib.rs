//! A typed client for Tessera, generated at compile time by progenitor from the committed
//! `openapi.json` (so the spec is proven usable by a real generator). Shared by the
//! end-to-end tests and the desktop admin.
//!
//! progenitor ignores security schemes: build the `reqwest::Client` with the bearer
//! header yourself ([`with_bearer`]) and pass it to [`Client::new_with_client`].

#![allow(clippy::all, missing_docs, unused_imports)]

progenitor::generate_api!(spec = "openapi.json", interface = Builder, tags = Merged);

/// A reqwest client that sends `Authorization: Bearer <token>` on every request.
pub fn with_bearer(token: &str) -> Result<reqwest::Client, reqwest::Error> {
    let mut headers = reqwest::header::HeaderMap::new();
    let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static(""));
    value.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(std::time::Duration::from_secs(30))
        .build()
}
