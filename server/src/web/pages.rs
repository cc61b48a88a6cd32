//! The pages, as askama templates (`server/templates/`): compile-time checked, HTML
//! escaped by default. One layout; the authorize parameters travel as hidden fields.

use askama::Template;

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignIn<'a> {
    pub client: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    pub hidden: &'a [(&'a str, &'a str)],
    pub csrf: &'a str,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct Consent<'a> {
    pub client: &'a str,
    pub username: &'a str,
    pub scopes: Vec<&'a str>,
    pub hidden: &'a [(&'a str, &'a str)],
    pub csrf: &'a str,
}

/// An error page, or the signed-out page.
#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub alert: bool,
}

/// Renders a page; a template that fails to render is a fault, answered plainly.
pub fn render(t: &impl Template) -> String {
    t.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "a page failed to render");
        "<!DOCTYPE html><title>Error</title><p>An internal error occurred.</p>".to_owned()
    })
}
