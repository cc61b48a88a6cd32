//! Network calls off the UI thread. The UI sends a [`Request`](crate::worker::Request), a
//! background tokio runtime runs it against the [`Api`](crate::api::Api), and the
//! [`Reply`](crate::worker::Reply) comes back on a channel; a repaint callback wakes the
//! UI. Requests run in order, so a sign-in is done before the call that follows it.
//!
//! A request is an envelope: sign-in and sign-out belong to the app, every other request
//! is one screen's `Ask` in that screen's variant, and its reply comes back in the same
//! variant, so the app hands it to the screen that asked. What each ask does on the
//! server is written next to the screen (`Ask::run`); this module only carries them.
//! No egui here.

use std::sync::mpsc;

use crate::api::{Api, ApiError};
use crate::screens::{audit, clients, dashboard, keys, sessions, users};

/// One request, tagged with who asked.
#[derive(Debug, Clone)]
pub enum Request {
    SignIn {
        url: String,
        username: String,
        password: String,
    },
    SignOut,
    Dashboard(dashboard::Ask),
    Users(users::Ask),
    Clients(clients::Ask),
    Keys(keys::Ask),
    Sessions(sessions::Ask),
    Audit(audit::Ask),
}

/// A screen's request that failed: the ask itself, so the screen can tell which, and
/// `what` naming it for a banner ("Could not {what}: ...").
#[derive(Debug, Clone, PartialEq)]
pub struct Failure<A> {
    pub what: &'static str,
    pub ask: A,
    pub error: ApiError,
}

impl<A> std::fmt::Display for Failure<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Could not {}: {}", self.what, self.error)
    }
}

/// The answer to one [`Request`], in the variant of the one who asked.
#[derive(Debug, Clone)]
pub enum Reply {
    SignedIn(Result<(), ApiError>),
    /// Signed out here; an error if the server did not confirm the session ended.
    SignedOut(Result<(), ApiError>),
    Dashboard(Result<dashboard::Answer, Failure<dashboard::Ask>>),
    Users(Result<users::Answer, Failure<users::Ask>>),
    Clients(Result<clients::Answer, Failure<clients::Ask>>),
    Keys(Result<keys::Answer, Failure<keys::Ask>>),
    Sessions(Result<sessions::Answer, Failure<sessions::Ask>>),
    Audit(Result<audit::Answer, Failure<audit::Ask>>),
}

impl Reply {
    /// The error of a screen's request, if it failed.
    pub fn error(&self) -> Option<&ApiError> {
        fn err<T, A>(r: &Result<T, Failure<A>>) -> Option<&ApiError> {
            r.as_ref().err().map(|f| &f.error)
        }
        match self {
            Reply::SignedIn(_) | Reply::SignedOut(_) => None,
            Reply::Dashboard(r) => err(r),
            Reply::Users(r) => err(r),
            Reply::Clients(r) => err(r),
            Reply::Keys(r) => err(r),
            Reply::Sessions(r) => err(r),
            Reply::Audit(r) => err(r),
        }
    }
}

/// Runs one screen's ask into that screen's reply variant; a failure keeps the ask.
macro_rules! attempt {
    ($variant:ident, $ask:expr, $api:expr) => {{
        let ask = $ask;
        let what = ask.what();
        let kept = ask.clone();
        Reply::$variant(ask.run($api).await.map_err(|error| Failure {
            what,
            ask: kept,
            error,
        }))
    }};
}

/// A screen's ask refused without a call, in that screen's reply variant.
macro_rules! refuse {
    ($variant:ident, $ask:expr, $error:expr) => {{
        let ask = $ask;
        Reply::$variant(Err(Failure {
            what: ask.what(),
            ask,
            error: $error,
        }))
    }};
}

async fn run(slot: &mut Option<Api>, req: Request) -> Reply {
    let req = match req {
        Request::SignIn {
            url,
            username,
            password,
        } => {
            let mut api = Api::new(&url);
            let r = api.sign_in(&username, &password).await;
            if r.is_ok() {
                *slot = Some(api);
            }
            return Reply::SignedIn(r);
        }
        Request::SignOut => {
            let r = match slot.take() {
                Some(mut api) => api.sign_out().await,
                None => Ok(()),
            };
            return Reply::SignedOut(r);
        }
        other => other,
    };
    let reply = match slot.as_mut() {
        Some(api) => dispatch(api, req).await,
        None => not_signed_in(req),
    };
    if matches!(reply.error(), Some(ApiError::SessionEnded(_))) {
        *slot = None;
    }
    reply
}

async fn dispatch(api: &mut Api, req: Request) -> Reply {
    match req {
        Request::SignIn { .. } => Reply::SignedIn(Ok(())),
        Request::SignOut => Reply::SignedOut(Ok(())),
        Request::Dashboard(a) => attempt!(Dashboard, a, api),
        Request::Users(a) => attempt!(Users, a, api),
        Request::Clients(a) => attempt!(Clients, a, api),
        Request::Keys(a) => attempt!(Keys, a, api),
        Request::Sessions(a) => attempt!(Sessions, a, api),
        Request::Audit(a) => attempt!(Audit, a, api),
    }
}

/// A screen's request made with no session (after it ended): refused in its variant.
fn not_signed_in(req: Request) -> Reply {
    let no = || ApiError::SessionEnded("not signed in".into());
    match req {
        Request::SignIn { .. } => Reply::SignedIn(Err(no())),
        Request::SignOut => Reply::SignedOut(Ok(())),
        Request::Dashboard(a) => refuse!(Dashboard, a, no()),
        Request::Users(a) => refuse!(Users, a, no()),
        Request::Clients(a) => refuse!(Clients, a, no()),
        Request::Keys(a) => refuse!(Keys, a, no()),
        Request::Sessions(a) => refuse!(Sessions, a, no()),
        Request::Audit(a) => refuse!(Audit, a, no()),
    }
}

/// The UI's handle on the background runtime.
pub struct Worker {
    tx: tokio::sync::mpsc::UnboundedSender<Request>,
    rx: mpsc::Receiver<Reply>,
    in_flight: usize,
}

impl Worker {
    /// Starts the runtime on its own thread; `wake` is called after every reply.
    pub fn start(wake: impl Fn() + Send + 'static) -> Worker {
        let (tx, mut req_rx) = tokio::sync::mpsc::unbounded_channel::<Request>();
        let (reply_tx, rx) = mpsc::channel::<Reply>();
        std::thread::Builder::new()
            .name("tessera-admin-net".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    let mut api: Option<Api> = None;
                    while let Some(req) = req_rx.recv().await {
                        let reply = run(&mut api, req).await;
                        if reply_tx.send(reply).is_err() {
                            break;
                        }
                        wake();
                    }
                });
            })
            .ok();
        Worker {
            tx,
            rx,
            in_flight: 0,
        }
    }

    pub fn send(&mut self, req: Request) {
        if self.tx.send(req).is_ok() {
            self.in_flight += 1;
        }
    }

    /// Replies that have arrived since the last call.
    pub fn poll(&mut self) -> Vec<Reply> {
        let out: Vec<Reply> = self.rx.try_iter().collect();
        self.in_flight = self.in_flight.saturating_sub(out.len());
        out
    }

    pub fn busy(&self) -> bool {
        self.in_flight > 0
    }
}
