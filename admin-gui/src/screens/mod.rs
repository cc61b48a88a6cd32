//! One module per screen. Each keeps its own state, draws itself, and asks for data by
//! sending requests; responses are routed back by the app.

pub mod audit;
pub mod clients;
pub mod dashboard;
pub mod keys;
pub mod sessions;
pub mod users;

use crate::worker::{Request, Worker};

/// What a screen may do besides drawing: send requests, ask for confirmation.
pub struct Net<'a> {
    pub worker: &'a mut Worker,
    pub confirm: &'a mut Option<Confirm>,
    /// Set when a screen wants another screen opened (e.g. a user's sessions).
    pub goto: &'a mut Option<Goto>,
}

impl Net<'_> {
    pub fn send(&mut self, r: Request) {
        self.worker.send(r);
    }

    pub fn confirm(&mut self, title: &str, message: String, request: Request) {
        *self.confirm = Some(Confirm {
            title: title.to_owned(),
            message,
            request,
        });
    }
}

/// A destructive action waiting for the administrator's yes.
pub struct Confirm {
    pub title: String,
    pub message: String,
    pub request: Request,
}

/// Navigation asked for by a screen.
pub enum Goto {
    SessionsOfUser(String),
}
