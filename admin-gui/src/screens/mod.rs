//! One module per screen. A screen owns its state, its requests and its answers: it
//! draws itself, asks the server through its [`Net`](crate::screens::Net) with its own `Ask` type (what each
//! ask does on the server is its `Ask::run`, run on the worker thread), and the app
//! hands every answer back to the screen that asked ([`ScreenState::on_answer`](crate::screens::ScreenState::on_answer)),
//! whichever screen is shown by then. App-wide effects (banners, confirmations, opening
//! another screen) go through the same `Net`; signing in and out and an ended session
//! stay with the app.

pub mod audit;
pub mod clients;
pub mod dashboard;
pub mod keys;
pub mod sessions;
pub mod users;

use eframe::egui;

use crate::app::{Banner, Shell};
use crate::widgets::error_text;
use crate::worker::{Failure, Request};

/// What every screen does.
pub trait ScreenState {
    /// What this screen asks the server.
    type Ask;
    /// What comes back.
    type Answer;

    /// Asks for what the screen shows (when it is opened, after sign-in, on "Refresh").
    fn load(&mut self, net: &mut Net<'_, Self::Ask>);

    fn show(&mut self, ui: &mut egui::Ui, net: &mut Net<'_, Self::Ask>);

    /// The answer to one of this screen's asks. A failure the screen does not show
    /// itself (e.g. at a form field) goes to [`Net::failed`], a banner.
    fn on_answer(
        &mut self,
        answer: Result<Self::Answer, Failure<Self::Ask>>,
        net: &mut Net<'_, Self::Ask>,
    );
}

/// What a screen may do besides drawing: ask (its answers come back to it), ask after
/// a confirmation, show a banner, open another screen.
pub struct Net<'a, A> {
    shell: &'a mut Shell,
    /// Puts this screen's ask into the request envelope (its variant names the screen).
    wrap: fn(A) -> Request,
}

impl<'a, A> Net<'a, A> {
    pub fn new(shell: &'a mut Shell, wrap: fn(A) -> Request) -> Self {
        Net { shell, wrap }
    }

    pub fn send(&mut self, ask: A) {
        self.shell.send((self.wrap)(ask));
    }

    /// Sends `ask` once the administrator confirms.
    pub fn confirm(&mut self, title: &str, message: String, ask: A) {
        self.shell.confirm = Some(Confirm {
            title: title.to_owned(),
            message,
            request: (self.wrap)(ask),
        });
    }

    pub fn info(&mut self, message: impl Into<String>) {
        self.shell.banner = Some(Banner::Info(message.into()));
    }

    /// A failure shown in the banner.
    pub fn failed(&mut self, f: Failure<A>) {
        self.shell.banner = Some(Banner::Error(f.to_string()));
    }

    pub fn goto(&mut self, g: Goto) {
        self.shell.goto = Some(g);
    }
}

/// A destructive action waiting for the administrator's yes; the request still names
/// the screen that asked, so the answer goes back to it.
pub struct Confirm {
    pub title: String,
    pub message: String,
    pub request: Request,
}

/// Navigation asked for by a screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Goto {
    /// The Sessions screen, filtered to one user.
    SessionsOfUser { id: String, username: String },
}

/// A problem with one field of a form, shown next to that field; `field` is the
/// request member's name (what the server names in an error's `field`), or `"form"`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }

    /// A server refusal: at the field it names when the form has it, else `"form"`.
    pub fn at(field: Option<&str>, fields: &[&'static str], message: &str) -> Self {
        let f = field
            .and_then(|f| fields.iter().find(|x| **x == f).copied())
            .unwrap_or("form");
        FieldError::new(f, message)
    }

    /// Draws the error if it is about `field`.
    pub fn show(error: &Option<FieldError>, ui: &mut egui::Ui, field: &str) {
        match error {
            Some(e) if e.field == field && field == "form" => error_text(ui, &e.message),
            Some(e) if e.field == field => error_text(ui, &format!("{}: {}", e.field, e.message)),
            _ => {}
        }
    }
}

/// How a user filter's text names the user: input shaped like a UUID (what user ids
/// are) is an id, anything else a user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Anyone,
    Id(String),
    Name(String),
}

impl UserRef {
    pub fn parse(text: &str) -> UserRef {
        let t = text.trim();
        if t.is_empty() {
            UserRef::Anyone
        } else if looks_like_uuid(t) {
            UserRef::Id(t.to_ascii_lowercase())
        } else {
            UserRef::Name(t.to_owned())
        }
    }

    /// The filter text that names this user: the name, unless it could be taken for
    /// an id (then the id).
    pub fn text_for(id: &str, username: &str) -> String {
        if username.is_empty() || looks_like_uuid(username) {
            id.to_owned()
        } else {
            username.to_owned()
        }
    }

    /// (`user_id`, `username`) query parameters.
    pub fn params(&self) -> (Option<&str>, Option<&str>) {
        match self {
            UserRef::Anyone => (None, None),
            UserRef::Id(id) => (Some(id), None),
            UserRef::Name(n) => (None, Some(n)),
        }
    }
}

/// `8-4-4-4-12` hexadecimal digits.
fn looks_like_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The trimmed text, or nothing when it is blank (an unset filter).
pub(crate) fn opt(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::UserRef;

    #[test]
    fn a_uuid_is_an_id_anything_else_a_name() {
        assert_eq!(UserRef::parse("  "), UserRef::Anyone);
        assert_eq!(UserRef::parse(" ivy "), UserRef::Name("ivy".into()));
        assert_eq!(
            UserRef::parse("0190C5A4-7B2E-7C3D-8E4F-123456789ABC"),
            UserRef::Id("0190c5a4-7b2e-7c3d-8e4f-123456789abc".into())
        );
        // Almost a UUID is a name.
        assert_eq!(
            UserRef::parse("0190c5a4-7b2e-7c3d-8e4f-12345678"),
            UserRef::Name("0190c5a4-7b2e-7c3d-8e4f-12345678".into())
        );
        assert_eq!(UserRef::parse("ivy").params(), (None, Some("ivy")));
        assert_eq!(UserRef::text_for("id-1", "ivy"), "ivy");
        assert_eq!(
            UserRef::text_for("id-1", "0190c5a4-7b2e-7c3d-8e4f-123456789abc"),
            "id-1"
        );
    }
}
