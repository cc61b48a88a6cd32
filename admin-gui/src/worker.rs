//! Network calls off the UI thread: the UI sends a [`Request`], a background tokio
//! runtime runs it against the [`Api`], and the [`Response`] comes back on a channel; a
//! repaint callback wakes the UI. Requests run in order, so a sign-in is done before the
//! call that follows it. No egui here.

use std::sync::mpsc;

use tessera_client::types;

use crate::api::{Api, ApiError, call};

/// Filters for the sessions screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FamilyQuery {
    pub user_id: String,
    pub client_id: String,
    pub state: String,
    pub reason: String,
    pub cursor: Option<String>,
}

/// Filters for the audit screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    pub kind: String,
    pub user_id: String,
    pub client_id: String,
    pub family_id: String,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Request {
    SignIn {
        url: String,
        username: String,
        password: String,
    },
    SignOut,
    Stats {
        range: String,
    },
    Users {
        search: String,
        cursor: Option<String>,
    },
    CreateUser {
        username: String,
        password: Option<String>,
        admin: bool,
    },
    UpdateUser {
        id: String,
        admin: Option<bool>,
        disabled: Option<bool>,
    },
    SetPassword {
        id: String,
        password: Option<String>,
    },
    DeleteUser {
        id: String,
    },
    RevokeUserSessions {
        id: String,
    },
    RevokeClientSessions {
        id: String,
    },
    Clients,
    CreateClient(types::CreateClient),
    RotateSecret {
        id: String,
    },
    RemoveClient {
        id: String,
    },
    Keys,
    RotateKey {
        alg: String,
    },
    RetireKey {
        kid: String,
    },
    Families(FamilyQuery),
    Family {
        id: String,
    },
    RevokeFamily {
        id: String,
    },
    Audit(AuditQuery),
}

#[derive(Debug, Clone)]
pub enum Response {
    SignedIn,
    SignedOut,
    Stats(types::Stats),
    Users(types::UserPage),
    UserCreated(types::UserCreated),
    UserChanged(String),
    PasswordSet {
        generated: Option<String>,
    },
    Clients(types::ClientPage),
    ClientCreated(types::ClientCreated),
    SecretRotated {
        client_id: String,
        secret: String,
    },
    ClientChanged(String),
    Keys(types::KeyList),
    KeyChanged(String),
    Families(types::FamilyPage),
    Family(Box<types::FamilyDetail>),
    FamilyRevoked(types::FamilyView),
    Audit(types::AuditPage),
    /// A request failed; `what` names it for the banner.
    Failed {
        what: &'static str,
        error: ApiError,
    },
}

fn opt(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

async fn run(api: &mut Option<Api>, req: Request) -> Response {
    let what = name(&req);
    match execute(api, req).await {
        Ok(r) => r,
        Err(error) => Response::Failed { what, error },
    }
}

fn name(req: &Request) -> &'static str {
    match req {
        Request::SignIn { .. } => "sign in",
        Request::SignOut => "sign out",
        Request::Stats { .. } => "load statistics",
        Request::Users { .. } => "load users",
        Request::CreateUser { .. } => "create user",
        Request::UpdateUser { .. } => "update user",
        Request::SetPassword { .. } => "set password",
        Request::DeleteUser { .. } => "delete user",
        Request::RevokeUserSessions { .. } => "end the user's sessions",
        Request::RevokeClientSessions { .. } => "end the client's sessions",
        Request::Clients => "load clients",
        Request::CreateClient(_) => "create client",
        Request::RotateSecret { .. } => "rotate secret",
        Request::RemoveClient { .. } => "remove client",
        Request::Keys => "load keys",
        Request::RotateKey { .. } => "rotate key",
        Request::RetireKey { .. } => "retire key",
        Request::Families(_) => "load sessions",
        Request::Family { .. } => "load session",
        Request::RevokeFamily { .. } => "revoke session",
        Request::Audit(_) => "load audit events",
    }
}

async fn execute(slot: &mut Option<Api>, req: Request) -> Result<Response, ApiError> {
    if let Request::SignIn {
        url,
        username,
        password,
    } = &req
    {
        let mut api = Api::new(url);
        api.sign_in(username, password).await?;
        *slot = Some(api);
        return Ok(Response::SignedIn);
    }
    let Some(api) = slot.as_mut() else {
        return Err(ApiError::SessionEnded("not signed in".into()));
    };
    let result = dispatch(api, req).await;
    if matches!(result, Err(ApiError::SessionEnded(_))) || matches!(result, Ok(Response::SignedOut))
    {
        *slot = None;
    }
    result
}

async fn dispatch(api: &mut Api, req: Request) -> Result<Response, ApiError> {
    Ok(match req {
        Request::SignIn { .. } => Response::SignedIn,
        Request::SignOut => {
            api.sign_out().await;
            Response::SignedOut
        }
        Request::Stats { range } => {
            Response::Stats(call!(api, |c| c.admin_stats().range(range.clone()).send())?)
        }
        Request::Users { search, cursor } => Response::Users(call!(api, |c| {
            let mut b = c.admin_list_users().limit(100u64);
            if let Some(s) = opt(&search) {
                b = b.search(s);
            }
            if let Some(cur) = &cursor {
                b = b.cursor(cur.clone());
            }
            b.send()
        })?),
        Request::CreateUser {
            username,
            password,
            admin,
        } => {
            let body = types::CreateUser {
                username: username.clone(),
                password: password.clone(),
                is_admin: admin,
            };
            Response::UserCreated(call!(api, |c| c
                .admin_create_user()
                .body(body.clone())
                .send())?)
        }
        Request::UpdateUser {
            id,
            admin,
            disabled,
        } => {
            let body = types::UpdateUser {
                is_admin: admin,
                disabled,
            };
            let u = call!(api, |c| c
                .admin_update_user()
                .id(id.clone())
                .body(body.clone())
                .send())?;
            Response::UserChanged(format!("Updated {}", u.username))
        }
        Request::SetPassword { id, password } => {
            let body = types::SetPassword {
                password: password.clone(),
            };
            let r = call!(api, |c| c
                .admin_set_password()
                .id(id.clone())
                .body(body.clone())
                .send())?;
            Response::PasswordSet {
                generated: r.generated_password,
            }
        }
        Request::DeleteUser { id } => {
            let d = call!(api, |c| c.admin_delete_user().id(id.clone()).send())?;
            Response::UserChanged(format!(
                "Deleted the user; {} session(s) ended",
                d.sessions_ended
            ))
        }
        Request::RevokeUserSessions { id } => {
            let r = call!(api, |c| c
                .admin_revoke_user_sessions()
                .id(id.clone())
                .send())?;
            Response::UserChanged(format!("{} session(s) ended", r.revoked))
        }
        Request::RevokeClientSessions { id } => {
            let r = call!(api, |c| c
                .admin_revoke_client_sessions()
                .id(id.clone())
                .send())?;
            Response::ClientChanged(format!("{} session(s) of {id} ended", r.revoked))
        }
        Request::Clients => {
            Response::Clients(call!(api, |c| c.admin_list_clients().limit(500u64).send())?)
        }
        Request::CreateClient(body) => Response::ClientCreated(call!(api, |c| c
            .admin_create_client()
            .body(body.clone())
            .send())?),
        Request::RotateSecret { id } => {
            let s = call!(api, |c| c
                .admin_rotate_client_secret()
                .id(id.clone())
                .send())?;
            Response::SecretRotated {
                client_id: id,
                secret: s.client_secret,
            }
        }
        Request::RemoveClient { id } => {
            let d = call!(api, |c| c.admin_remove_client().id(id.clone()).send())?;
            Response::ClientChanged(format!(
                "Removed {id}; {} session(s) ended",
                d.sessions_ended
            ))
        }
        Request::Keys => Response::Keys(call!(api, |c| c.admin_list_keys().send())?),
        Request::RotateKey { alg } => {
            let body = types::RotateKey {
                alg: Some(alg.clone()),
            };
            let k = call!(api, |c| c.admin_rotate_key().body(body.clone()).send())?;
            Response::KeyChanged(format!("New {} key {}", k.alg, k.kid))
        }
        Request::RetireKey { kid } => {
            let k = call!(api, |c| c.admin_retire_key().kid(kid.clone()).send())?;
            Response::KeyChanged(format!("Retired {}", k.kid))
        }
        Request::Families(q) => Response::Families(call!(api, |c| {
            let mut b = c.admin_list_families().limit(100u64);
            if let Some(v) = opt(&q.user_id) {
                b = b.user_id(v);
            }
            if let Some(v) = opt(&q.client_id) {
                b = b.client_id(v);
            }
            if let Some(v) = opt(&q.state) {
                b = b.state(v);
            }
            if let Some(v) = opt(&q.reason) {
                b = b.reason(v);
            }
            if let Some(cur) = &q.cursor {
                b = b.cursor(cur.clone());
            }
            b.send()
        })?),
        Request::Family { id } => Response::Family(Box::new(call!(api, |c| c
            .admin_get_family()
            .id(id.clone())
            .send())?)),
        Request::RevokeFamily { id } => Response::FamilyRevoked(call!(api, |c| c
            .admin_revoke_family()
            .id(id.clone())
            .send())?),
        Request::Audit(q) => Response::Audit(call!(api, |c| {
            let mut b = c.admin_list_audit().limit(100u64);
            if let Some(v) = opt(&q.kind) {
                b = b.kind(v);
            }
            if let Some(v) = opt(&q.user_id) {
                b = b.user_id(v);
            }
            if let Some(v) = opt(&q.client_id) {
                b = b.client_id(v);
            }
            if let Some(v) = opt(&q.family_id) {
                b = b.family_id(v);
            }
            if let Some(cur) = &q.cursor {
                b = b.cursor(cur.clone());
            }
            b.send()
        })?),
    })
}

/// The UI's handle on the background runtime.
pub struct Worker {
    tx: tokio::sync::mpsc::UnboundedSender<Request>,
    rx: mpsc::Receiver<Response>,
    in_flight: usize,
}

impl Worker {
    /// Starts the runtime on its own thread; `wake` is called after every response.
    pub fn start(wake: impl Fn() + Send + 'static) -> Worker {
        let (tx, mut req_rx) = tokio::sync::mpsc::unbounded_channel::<Request>();
        let (resp_tx, rx) = mpsc::channel::<Response>();
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
                        let resp = run(&mut api, req).await;
                        if resp_tx.send(resp).is_err() {
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

    /// Responses that have arrived since the last call.
    pub fn poll(&mut self) -> Vec<Response> {
        let out: Vec<Response> = self.rx.try_iter().collect();
        self.in_flight = self.in_flight.saturating_sub(out.len());
        out
    }

    pub fn busy(&self) -> bool {
        self.in_flight > 0
    }
}
