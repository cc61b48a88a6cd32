use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};
use tessera_client::types::{self, GrantType, RefreshTokenDelivery};

pub use super::FieldError;
use super::{Net, ScreenState};
use crate::api::{Api, ApiError, call};
use crate::vocab::{Vocab, join};
use crate::widgets::{choose_labelled, field, shown_once, span};
use crate::worker::Failure;

/// What the clients screen asks the server.
#[derive(Debug, Clone)]
pub enum Ask {
    List,
    Create(types::CreateClient),
    /// Only the fields that changed (absent fields stay as they are).
    Update {
        id: String,
        body: types::UpdateClient,
    },
    RotateSecret {
        id: String,
    },
    Remove {
        id: String,
    },
    EndSessions {
        id: String,
    },
}

#[derive(Debug, Clone)]
pub enum Answer {
    Page(types::ClientPage),
    Created(types::ClientCreated),
    Updated(types::ClientView),
    SecretRotated {
        client_id: String,
        secret: String,
    },
    Removed {
        client_id: String,
        sessions_ended: u64,
    },
    SessionsEnded {
        client_id: String,
        revoked: u64,
    },
}

impl Ask {
    pub fn what(&self) -> &'static str {
        match self {
            Ask::List => "load clients",
            Ask::Create(_) => "create client",
            Ask::Update { .. } => "update client",
            Ask::RotateSecret { .. } => "rotate secret",
            Ask::Remove { .. } => "remove client",
            Ask::EndSessions { .. } => "end the client's sessions",
        }
    }

    pub(crate) async fn run(self, api: &mut Api) -> Result<Answer, ApiError> {
        Ok(match self {
            Ask::List => Answer::Page(call!(api, |c| c.admin_list_clients().limit(500u64).send())?),
            Ask::Create(body) => Answer::Created(call!(api, |c| c
                .admin_create_client()
                .body(body.clone())
                .send())?),
            Ask::Update { id, body } => Answer::Updated(call!(api, |c| c
                .admin_update_client()
                .id(id.clone())
                .body(body.clone())
                .send())?),
            Ask::RotateSecret { id } => {
                let s = call!(api, |c| c
                    .admin_rotate_client_secret()
                    .id(id.clone())
                    .send())?;
                Answer::SecretRotated {
                    client_id: id,
                    secret: s.client_secret,
                }
            }
            Ask::Remove { id } => {
                let d = call!(api, |c| c.admin_remove_client().id(id.clone()).send())?;
                Answer::Removed {
                    client_id: id,
                    sessions_ended: d.sessions_ended,
                }
            }
            Ask::EndSessions { id } => {
                let r = call!(api, |c| c
                    .admin_revoke_client_sessions()
                    .id(id.clone())
                    .send())?;
                Answer::SessionsEnded {
                    client_id: id,
                    revoked: r.revoked,
                }
            }
        })
    }
}

/// The client form (new client, or the editor of one), checked before anything is
/// sent. The checks here are about each field's own shape; the rules that tie fields
/// together (authorization_code needs a redirect URI, cookie delivery needs an origin
/// and the refresh_token grant) are the server's, which names the field it refuses.
#[derive(Clone)]
pub struct ClientForm {
    pub client_id: String,
    pub public: bool,
    /// The grants ticked, in the order the spec lists them.
    pub grants: Vec<GrantType>,
    pub scopes: String,
    /// One per line.
    pub redirect_uris: String,
    /// One per line.
    pub allowed_origins: String,
    pub refresh_token_delivery: RefreshTokenDelivery,
    pub require_consent: bool,
    pub access_ttl: String,
    pub refresh_idle_ttl: String,
    pub refresh_absolute_ttl: String,
    pub reuse_leeway: String,
}

impl Default for ClientForm {
    fn default() -> Self {
        ClientForm {
            client_id: String::new(),
            public: false,
            grants: Vec::new(),
            scopes: String::new(),
            redirect_uris: String::new(),
            allowed_origins: String::new(),
            refresh_token_delivery: RefreshTokenDelivery::Body,
            require_consent: false,
            access_ttl: String::new(),
            refresh_idle_ttl: String::new(),
            refresh_absolute_ttl: String::new(),
            reuse_leeway: String::new(),
        }
    }
}

/// The lifetimes, as the request names them, with the least value each takes.
const LIFETIMES: [(&str, i64); 4] = [
    ("access_ttl", 1),
    ("refresh_idle_ttl", 1),
    ("refresh_absolute_ttl", 1),
    ("reuse_leeway", 0),
];

fn seconds(field: &'static str, text: &str, min: i64) -> Result<Option<i64>, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<i64>() {
        Ok(v) if v >= min => Ok(Some(v)),
        _ => Err(FieldError {
            field,
            message: format!("a whole number of seconds, at least {min}"),
        }),
    }
}

/// The non-blank lines, trimmed.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `scheme://host[:port]`: http(s), and nothing after the authority.
fn looks_like_origin(o: &str) -> bool {
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.contains(['/', '?', '#', '@', ' ']))
}

/// What creating and editing a client both send, checked.
#[derive(Debug, Clone, PartialEq)]
struct Checked {
    grant_types: Vec<GrantType>,
    scopes: Vec<String>,
    redirect_uris: Vec<String>,
    allowed_origins: Vec<String>,
    /// In the order of [`LIFETIMES`].
    lifetimes: [Option<i64>; 4],
}

impl ClientForm {
    /// The editor's form for a registered client.
    pub fn of(c: &types::ClientView) -> ClientForm {
        let secs = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        ClientForm {
            client_id: c.client_id.clone(),
            public: c.public,
            grants: c.grant_types.clone(),
            scopes: c.scopes.join(" "),
            redirect_uris: c.redirect_uris.join("\n"),
            allowed_origins: c.allowed_origins.join("\n"),
            refresh_token_delivery: c.refresh_token_delivery,
            require_consent: c.require_consent,
            access_ttl: secs(c.access_ttl),
            refresh_idle_ttl: secs(c.refresh_idle_ttl),
            refresh_absolute_ttl: secs(c.refresh_absolute_ttl),
            reuse_leeway: secs(c.reuse_leeway),
        }
    }

    /// Ticks or unticks one grant.
    pub fn set_grant(&mut self, g: GrantType, on: bool) {
        self.grants.retain(|x| *x != g);
        if on {
            self.grants.push(g);
        }
    }

    fn lifetime_texts(&self) -> [&str; 4] {
        [
            &self.access_ttl,
            &self.refresh_idle_ttl,
            &self.refresh_absolute_ttl,
            &self.reuse_leeway,
        ]
    }

    /// Every field but the client id, checked; the first invalid field otherwise.
    fn check(&self) -> Result<Checked, FieldError> {
        let grant_types: Vec<GrantType> = GrantType::ALL
            .iter()
            .copied()
            .filter(|g| self.grants.contains(g))
            .collect();
        if grant_types.is_empty() {
            return Err(FieldError::new("grant_types", "choose at least one grant"));
        }
        if self.public && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(FieldError::new(
                "grant_types",
                format!(
                    "a public client cannot use {}",
                    GrantType::ClientCredentials
                ),
            ));
        }
        let redirect_uris = lines(&self.redirect_uris);
        if let Some(bad) = redirect_uris
            .iter()
            .find(|u| !(u.starts_with("https://") || u.starts_with("http://")) || u.contains('#'))
        {
            return Err(FieldError::new(
                "redirect_uris",
                format!("`{bad}` must be an absolute http(s) URI without a fragment"),
            ));
        }
        let allowed_origins = lines(&self.allowed_origins);
        if let Some(bad) = allowed_origins.iter().find(|o| !looks_like_origin(o)) {
            return Err(FieldError::new(
                "allowed_origins",
                format!(
                    "`{bad}` must be an origin, http(s)://host[:port], without a path or a trailing slash"
                ),
            ));
        }
        let mut lifetimes = [None; 4];
        for (slot, ((name, min), text)) in lifetimes
            .iter_mut()
            .zip(LIFETIMES.into_iter().zip(self.lifetime_texts()))
        {
            *slot = seconds(name, text, min)?;
        }
        Ok(Checked {
            grant_types,
            scopes: self.scopes.split_whitespace().map(str::to_owned).collect(),
            redirect_uris,
            allowed_origins,
            lifetimes,
        })
    }

    /// The request body of a new client, or the first invalid field.
    pub fn validate(&self) -> Result<types::CreateClient, FieldError> {
        let id = self.client_id.trim();
        if id.is_empty()
            || id.len() > 128
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b))
        {
            return Err(FieldError::new(
                "client_id",
                "1 to 128 characters from A-Z a-z 0-9 . _ ~ -",
            ));
        }
        let c = self.check()?;
        let [
            access_ttl,
            refresh_idle_ttl,
            refresh_absolute_ttl,
            reuse_leeway,
        ] = c.lifetimes;
        Ok(types::CreateClient {
            client_id: id.to_owned(),
            public: self.public,
            grant_types: c.grant_types,
            scopes: c.scopes,
            redirect_uris: c.redirect_uris,
            allowed_origins: c.allowed_origins,
            refresh_token_delivery: Some(self.refresh_token_delivery),
            require_consent: self.require_consent,
            access_ttl,
            refresh_idle_ttl,
            refresh_absolute_ttl,
            reuse_leeway,
        })
    }

    /// The changes to `was` as an update body (only what differs), `None` when nothing
    /// changed, or the first invalid field.
    pub fn changes(
        &self,
        was: &types::ClientView,
    ) -> Result<Option<types::UpdateClient>, FieldError> {
        let now = self.check()?;
        let old_lifetimes = [
            was.access_ttl,
            was.refresh_idle_ttl,
            was.refresh_absolute_ttl,
            was.reuse_leeway,
        ];
        let mut lifetimes = [None; 4];
        for (i, (name, _)) in LIFETIMES.into_iter().enumerate() {
            match (old_lifetimes[i], now.lifetimes[i]) {
                // The generated client leaves out a `None` member, so it cannot send the
                // `null` that returns a lifetime to the server default.
                (Some(_), None) => {
                    return Err(FieldError::new(
                        name,
                        "cannot be cleared from here (the admin API offers no way back to the \
                         server default); enter a number of seconds",
                    ));
                }
                (old, new) if old != new => lifetimes[i] = new,
                _ => {}
            }
        }
        let [
            access_ttl,
            refresh_idle_ttl,
            refresh_absolute_ttl,
            reuse_leeway,
        ] = lifetimes;
        // The grants are a set (the list keeps the order they were given in).
        let sorted = |g: &[GrantType]| {
            let mut g = g.to_vec();
            g.sort();
            g
        };
        let grant_types = if sorted(&was.grant_types) == sorted(&now.grant_types) {
            Vec::new()
        } else {
            now.grant_types
        };
        let scopes = changed_list(&was.scopes, now.scopes);
        let redirect_uris = changed_list(&was.redirect_uris, now.redirect_uris);
        let allowed_origins = changed_list(&was.allowed_origins, now.allowed_origins);
        let refresh_token_delivery = (was.refresh_token_delivery != self.refresh_token_delivery)
            .then_some(self.refresh_token_delivery);
        let require_consent =
            (was.require_consent != self.require_consent).then_some(self.require_consent);
        let unchanged = grant_types.is_empty()
            && scopes.is_none()
            && redirect_uris.is_none()
            && allowed_origins.is_none()
            && refresh_token_delivery.is_none()
            && require_consent.is_none()
            && lifetimes.iter().all(Option::is_none);
        let body = types::UpdateClient {
            grant_types,
            scopes,
            redirect_uris,
            allowed_origins,
            refresh_token_delivery,
            require_consent,
            access_ttl,
            refresh_idle_ttl,
            refresh_absolute_ttl,
            reuse_leeway,
            disabled: None,
        };
        Ok((!unchanged).then_some(body))
    }
}

/// A list member of an update: the new list when it changed (an empty one empties it),
/// else left out.
fn changed_list(was: &[String], now: Vec<String>) -> Option<Vec<String>> {
    (was != now.as_slice()).then_some(now)
}

/// The fields of the client form, as the request names them (what the server names
/// in an error's `field`).
const FORM_FIELDS: [&str; 11] = [
    "client_id",
    "grant_types",
    "scopes",
    "redirect_uris",
    "allowed_origins",
    "refresh_token_delivery",
    "require_consent",
    "access_ttl",
    "refresh_idle_ttl",
    "refresh_absolute_ttl",
    "reuse_leeway",
];

/// The editor open on one registered client.
#[derive(Clone)]
pub struct Editor {
    /// The client as it was when the editor opened (what the changes are against).
    pub client: types::ClientView,
    pub form: ClientForm,
    pub error: Option<FieldError>,
}

#[derive(Default)]
pub struct Clients {
    pub page: Option<types::ClientPage>,
    pub form: ClientForm,
    pub error: Option<FieldError>,
    pub secret: Option<(String, String)>,
    pub editor: Option<Editor>,
    /// Open the editor of this client when the list arrives (demos, screenshots).
    pub edit_on_load: Option<String>,
}

impl ScreenState for Clients {
    type Ask = Ask;
    type Answer = Answer;

    fn load(&mut self, net: &mut Net<'_, Ask>) {
        net.send(Ask::List);
    }

    fn on_answer(&mut self, answer: Result<Answer, Failure<Ask>>, net: &mut Net<'_, Ask>) {
        match answer {
            Ok(Answer::Page(p)) => {
                if let Some(id) = self.edit_on_load.take()
                    && let Some(c) = p.items.iter().find(|c| c.client_id == id)
                {
                    self.edit(c);
                }
                self.page = Some(p);
            }
            Ok(Answer::Created(c)) => {
                net.info(format!("Created client {}", c.client.client_id));
                self.created(&c);
                self.load(net);
            }
            Ok(Answer::Updated(c)) => {
                net.info(format!("Updated client {}", c.client_id));
                if self
                    .editor
                    .as_ref()
                    .is_some_and(|e| e.client.client_id == c.client_id)
                {
                    self.editor = None;
                }
                self.load(net);
            }
            Ok(Answer::SecretRotated { client_id, secret }) => {
                self.secret = Some((format!("New secret of {client_id}"), secret));
                self.load(net);
            }
            Ok(Answer::Removed {
                client_id,
                sessions_ended,
            }) => {
                net.info(format!(
                    "Removed {client_id}; {sessions_ended} session(s) ended"
                ));
                if self
                    .editor
                    .as_ref()
                    .is_some_and(|e| e.client.client_id == client_id)
                {
                    self.editor = None;
                }
                self.load(net);
            }
            Ok(Answer::SessionsEnded { client_id, revoked }) => {
                net.info(format!("{revoked} session(s) of {client_id} ended"));
                self.load(net);
            }
            Err(Failure {
                ask: Ask::Create(_),
                error: ApiError::Rejected { field, message, .. },
                ..
            }) => self.rejected(field.as_deref(), &message),
            Err(Failure {
                ask: Ask::Update { id, .. },
                error: ApiError::Rejected { field, message, .. },
                ..
            }) if self
                .editor
                .as_ref()
                .is_some_and(|e| e.client.client_id == id) =>
            {
                if let Some(e) = &mut self.editor {
                    e.error = Some(FieldError::at(field.as_deref(), &FORM_FIELDS, &message));
                }
            }
            Err(f) => net.failed(f),
        }
    }

    fn show(&mut self, ui: &mut egui::Ui, net: &mut Net<'_, Ask>) {
        ui.horizontal(|ui| {
            ui.heading("Clients");
            if ui.button("Refresh").clicked() {
                self.load(net);
            }
        });
        egui::CollapsingHeader::new("New client")
            .default_open(false)
            .show(ui, |ui| {
                form_ui(ui, &mut self.form, &self.error, None);
                if ui.button("Create client").clicked() {
                    match self.form.validate() {
                        Ok(body) => {
                            self.error = None;
                            net.send(Ask::Create(body));
                        }
                        Err(e) => self.error = Some(e),
                    }
                }
            });
        if let Some((what, secret)) = &self.secret
            && shown_once(ui, what, secret)
        {
            self.secret = None;
        }
        self.editor_ui(ui, net);
        ui.separator();
        let Some(page) = self.page.clone() else {
            ui.label("Loading...");
            return;
        };
        let mut confirm: Option<(String, Ask)> = None;
        let mut rotate: Option<String> = None;
        let mut revoke: Option<String> = None;
        let mut edit: Option<types::ClientView> = None;
        // One line per row: the columns take the width of what they hold.
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Extend);
        TableBuilder::new(ui)
            .id_salt("clients")
            .striped(true)
            .column(Column::auto().at_least(120.0))
            .column(Column::auto())
            .column(Column::auto().at_least(160.0))
            .column(Column::auto())
            .column(Column::auto().at_least(140.0))
            .column(Column::auto())
            .column(Column::remainder())
            .header(20.0, |mut h| {
                for t in [
                    "Client ID",
                    "Type",
                    "Grants",
                    "Scopes",
                    "Browser sign-in",
                    "Lifetimes",
                    "Actions",
                ] {
                    h.col(|ui| {
                        let r = ui.strong(t);
                        if t == "Lifetimes" {
                            r.on_hover_text(
                                "access token / refresh idle / refresh absolute / reuse leeway",
                            );
                        }
                    });
                }
            })
            .body(|mut body| {
                for c in &page.items {
                    body.row(22.0, |mut row| {
                        row.col(|ui| {
                            ui.label(&c.client_id);
                        });
                        row.col(|ui| {
                            let kind = if c.public { "public" } else { "confidential" };
                            ui.label(if c.disabled {
                                format!("{kind}, disabled")
                            } else {
                                kind.to_owned()
                            });
                        });
                        row.col(|ui| {
                            ui.label(join(&c.grant_types));
                        });
                        row.col(|ui| {
                            ui.label(c.scopes.join(" "));
                        });
                        row.col(|ui| {
                            ui.label(browser_summary(c))
                                .on_hover_text(browser_details(c));
                        });
                        row.col(|ui| {
                            ui.label(format!(
                                "{} / {} / {} / {}",
                                span(c.effective_access_ttl),
                                span(c.effective_refresh_idle_ttl),
                                span(c.effective_refresh_absolute_ttl),
                                span(c.effective_reuse_leeway)
                            ))
                            .on_hover_text(format!(
                                "access token {}s, refresh idle {}s, refresh absolute {}s, \
                                 reuse leeway {}s",
                                c.effective_access_ttl,
                                c.effective_refresh_idle_ttl,
                                c.effective_refresh_absolute_ttl,
                                c.effective_reuse_leeway
                            ));
                        });
                        row.col(|ui| {
                            ui.horizontal(|ui| {
                                if ui.small_button("Edit").clicked() {
                                    edit = Some(c.clone());
                                }
                                if !c.public && ui.small_button("Rotate secret").clicked() {
                                    rotate = Some(c.client_id.clone());
                                }
                                if ui.small_button("End sessions").clicked() {
                                    revoke = Some(c.client_id.clone());
                                }
                                if ui.small_button("Remove").clicked() {
                                    confirm = Some((
                                        format!(
                                            "Remove client {}? All its sessions end now.",
                                            c.client_id
                                        ),
                                        Ask::Remove {
                                            id: c.client_id.clone(),
                                        },
                                    ));
                                }
                            });
                        });
                    });
                }
            });
        if let Some(c) = edit {
            self.edit(&c);
        }
        if let Some(id) = rotate {
            net.confirm(
                "Rotate secret",
                format!("Rotate the secret of {id}? The current secret stops working at once."),
                Ask::RotateSecret { id },
            );
        }
        if let Some(id) = revoke {
            net.send(Ask::EndSessions { id });
        }
        if let Some((m, r)) = confirm {
            net.confirm("Remove client", m, r);
        }
    }
}

/// The client's browser sign-in settings in a few words, for the list.
fn browser_summary(c: &types::ClientView) -> String {
    let mut parts = Vec::new();
    match c.redirect_uris.len() {
        0 => {}
        1 => parts.push("1 redirect URI".to_owned()),
        n => parts.push(format!("{n} redirect URIs")),
    }
    match c.allowed_origins.as_slice() {
        [] => {}
        [one] => parts.push(one.clone()),
        many => parts.push(format!("{} origins", many.len())),
    }
    match c.refresh_token_delivery {
        RefreshTokenDelivery::Body => {}
        RefreshTokenDelivery::Cookie => parts.push("refresh cookie".into()),
    }
    if c.require_consent {
        parts.push("consent".into());
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// Every browser sign-in setting, for the list's hover text.
fn browser_details(c: &types::ClientView) -> String {
    let list = |items: &[String]| {
        if items.is_empty() {
            "  (none)".to_owned()
        } else {
            items
                .iter()
                .map(|i| format!("  {i}"))
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    let delivery = match c.refresh_token_delivery {
        RefreshTokenDelivery::Body => "in the token response body",
        RefreshTokenDelivery::Cookie => "in an HttpOnly cookie (never in a response body)",
    };
    format!(
        "Redirect URIs:\n{}\nAllowed origins:\n{}\nRefresh tokens: {delivery}\nConsent: {}",
        list(&c.redirect_uris),
        list(&c.allowed_origins),
        if c.require_consent {
            "users are asked (third-party app)"
        } else {
            "not asked (first-party app)"
        }
    )
}

/// The client form's fields. `editing` names the client being edited (its id and
/// type stay); `None` is the new-client form.
fn form_ui(
    ui: &mut egui::Ui,
    form: &mut ClientForm,
    error: &Option<FieldError>,
    editing: Option<&str>,
) {
    let salt = editing.map_or_else(|| "new".to_owned(), |id| format!("edit-{id}"));
    if editing.is_none() {
        field(ui, "New client ID", &mut form.client_id);
        FieldError::show(error, ui, "client_id");
        ui.checkbox(
            &mut form.public,
            "Public client (no secret: browser or mobile app)",
        );
    }
    ui.horizontal(|ui| {
        ui.label("Grants:");
        for &g in GrantType::ALL {
            let mut on = form.grants.contains(&g);
            if ui.checkbox(&mut on, g.to_string()).changed() {
                form.set_grant(g, on);
            }
        }
    });
    FieldError::show(error, ui, "grant_types");
    field(ui, "Scopes (space-separated)", &mut form.scopes);
    FieldError::show(error, ui, "scopes");
    ui.horizontal(|ui| {
        let l = ui.label("Redirect URIs (one per line)");
        ui.add(
            egui::TextEdit::multiline(&mut form.redirect_uris)
                .id_salt(format!("{salt}-redirect-uris"))
                .desired_rows(2)
                .hint_text("https://app.example.com/callback"),
        )
        .labelled_by(l.id)
        .on_hover_text("Exact URIs the authorize endpoint may send the browser back to");
    });
    FieldError::show(error, ui, "redirect_uris");
    ui.horizontal(|ui| {
        let l = ui.label("Allowed origins (one per line)");
        ui.add(
            egui::TextEdit::multiline(&mut form.allowed_origins)
                .id_salt(format!("{salt}-allowed-origins"))
                .desired_rows(2)
                .hint_text("https://app.example.com"),
        )
        .labelled_by(l.id)
        .on_hover_text(
            "Exact browser origins (scheme://host[:port]) that may call the token, \
             revocation and /me endpoints with credentials (CORS)",
        );
    });
    FieldError::show(error, ui, "allowed_origins");
    ui.horizontal(|ui| {
        choose_labelled(
            ui,
            "Refresh-token delivery",
            &format!("{salt}-delivery"),
            &mut form.refresh_token_delivery,
        );
        ui.weak(match form.refresh_token_delivery {
            RefreshTokenDelivery::Body => "in the token response (apps that keep it safe)",
            RefreshTokenDelivery::Cookie => {
                "in an HttpOnly cookie (single-page apps; needs an allowed origin and refresh_token)"
            }
        });
    });
    FieldError::show(error, ui, "refresh_token_delivery");
    ui.checkbox(
        &mut form.require_consent,
        "Ask users for consent (third-party app)",
    );
    FieldError::show(error, ui, "require_consent");
    ui.horizontal(|ui| {
        field(ui, "Access TTL (s)", &mut form.access_ttl);
        field(ui, "Refresh idle TTL (s)", &mut form.refresh_idle_ttl);
    });
    FieldError::show(error, ui, "access_ttl");
    FieldError::show(error, ui, "refresh_idle_ttl");
    ui.horizontal(|ui| {
        field(
            ui,
            "Refresh absolute TTL (s)",
            &mut form.refresh_absolute_ttl,
        );
        field(ui, "Reuse leeway (s)", &mut form.reuse_leeway);
    });
    FieldError::show(error, ui, "refresh_absolute_ttl");
    FieldError::show(error, ui, "reuse_leeway");
    FieldError::show(error, ui, "form");
}

impl Clients {
    /// Opens the editor on one client.
    pub fn edit(&mut self, c: &types::ClientView) {
        self.editor = Some(Editor {
            client: c.clone(),
            form: ClientForm::of(c),
            error: None,
        });
    }

    fn editor_ui(&mut self, ui: &mut egui::Ui, net: &mut Net<'_, Ask>) {
        let Some(ed) = &mut self.editor else {
            return;
        };
        let mut close = false;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            let id = ed.client.client_id.clone();
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("Edit client {id}")).strong());
                ui.weak(if ed.client.public {
                    "public client"
                } else {
                    "confidential client"
                });
            });
            form_ui(ui, &mut ed.form, &ed.error, Some(&id));
            ui.horizontal(|ui| {
                if ui.button("Save changes").clicked() {
                    match ed.form.changes(&ed.client) {
                        Ok(Some(body)) => {
                            ed.error = None;
                            net.send(Ask::Update {
                                id: id.clone(),
                                body,
                            });
                        }
                        Ok(None) => {
                            net.info(format!("No changes to {id}"));
                            close = true;
                        }
                        Err(e) => ed.error = Some(e),
                    }
                }
                if ui.button("Cancel").clicked() {
                    close = true;
                }
            });
        });
        if close {
            self.editor = None;
        }
    }

    pub fn created(&mut self, c: &types::ClientCreated) {
        self.form = ClientForm::default();
        self.error = None;
        if let Some(s) = &c.client_secret {
            self.secret = Some((format!("Secret of {}", c.client.client_id), s.clone()));
        }
    }

    /// A server refusal of the new client, shown next to the field the server names
    /// (the `field` of its error body), or above the button when it names none of the
    /// form's fields.
    pub fn rejected(&mut self, field: Option<&str>, message: &str) {
        self.error = Some(FieldError::at(field, &FORM_FIELDS, message));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

    use super::*;

    fn view() -> types::ClientView {
        serde_json::from_value(serde_json::json!({
            "client_id": "spa",
            "public": true,
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": ["read"],
            "redirect_uris": ["https://app.example.com/callback"],
            "allowed_origins": ["https://app.example.com"],
            "refresh_token_delivery": "cookie",
            "require_consent": false,
            "access_ttl": 300,
            "effective_access_ttl": 300,
            "effective_refresh_idle_ttl": 1209600,
            "effective_refresh_absolute_ttl": 2592000,
            "effective_reuse_leeway": 0,
            "disabled": false,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn a_new_cookie_client_sends_its_origins_delivery_and_consent() {
        let form = ClientForm {
            client_id: "spa".into(),
            public: true,
            grants: vec![GrantType::RefreshToken, GrantType::AuthorizationCode],
            redirect_uris: " https://app.example.com/cb \n\n".into(),
            allowed_origins: "https://app.example.com\nhttp://127.0.0.1:5173\n".into(),
            refresh_token_delivery: RefreshTokenDelivery::Cookie,
            require_consent: true,
            ..ClientForm::default()
        };
        let body = form.validate().unwrap();
        assert_eq!(
            body.grant_types,
            [GrantType::RefreshToken, GrantType::AuthorizationCode],
            "in the spec's order"
        );
        assert_eq!(body.redirect_uris, ["https://app.example.com/cb"]);
        assert_eq!(
            body.allowed_origins,
            ["https://app.example.com", "http://127.0.0.1:5173"]
        );
        assert_eq!(
            body.refresh_token_delivery,
            Some(RefreshTokenDelivery::Cookie)
        );
        assert!(body.require_consent);
    }

    #[test]
    fn an_origin_with_a_path_is_refused_at_its_field() {
        for bad in ["https://app.example.com/", "app.example.com", "https://a/b"] {
            let form = ClientForm {
                client_id: "spa".into(),
                grants: vec![GrantType::Password],
                allowed_origins: bad.into(),
                ..ClientForm::default()
            };
            let e = form.validate().unwrap_err();
            assert_eq!(e.field, "allowed_origins", "{bad}");
        }
    }

    #[test]
    fn the_editor_sends_only_what_changed() {
        let was = view();
        let form = ClientForm::of(&was);
        assert!(form.changes(&was).unwrap().is_none(), "nothing changed");

        let mut form = ClientForm::of(&was);
        form.allowed_origins.push_str("\nhttps://admin.example.com");
        form.require_consent = true;
        let body = form.changes(&was).unwrap().unwrap();
        assert_eq!(
            body.allowed_origins.as_deref(),
            Some(
                &[
                    "https://app.example.com".to_owned(),
                    "https://admin.example.com".to_owned()
                ][..]
            )
        );
        assert_eq!(body.require_consent, Some(true));
        assert!(body.grant_types.is_empty() && body.redirect_uris.is_none());
        assert!(body.refresh_token_delivery.is_none() && body.access_ttl.is_none());
        // Only the changed members go on the wire.
        let wire = serde_json::to_value(&body).unwrap();
        let mut keys: Vec<&String> = wire.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["allowed_origins", "require_consent"]);
    }

    #[test]
    fn what_the_generated_client_cannot_send_is_said_and_lists_can_be_emptied() {
        // The generated `UpdateClient` leaves out a `None` lifetime (where the server
        // would take `null` as "back to the default"): the editor says so at the field
        // instead of silently keeping the old value. Lists are nullable in the spec, so
        // an emptied list goes out as `[]`.
        let wire = serde_json::to_value(types::UpdateClient {
            grant_types: vec![],
            scopes: None,
            redirect_uris: None,
            allowed_origins: None,
            refresh_token_delivery: None,
            require_consent: None,
            access_ttl: None,
            refresh_idle_ttl: None,
            refresh_absolute_ttl: None,
            reuse_leeway: None,
            disabled: None,
        })
        .unwrap();
        assert_eq!(wire, serde_json::json!({}));
        let was = view();
        let mut form = ClientForm::of(&was);
        form.access_ttl.clear();
        assert_eq!(form.changes(&was).unwrap_err().field, "access_ttl");
        let mut form = ClientForm::of(&was);
        form.allowed_origins.clear();
        let body = form.changes(&was).unwrap().unwrap();
        let wire = serde_json::to_value(&body).unwrap();
        assert_eq!(wire["allowed_origins"], serde_json::json!([]), "{wire}");
    }

    #[test]
    fn cross_field_rules_are_left_to_the_server() {
        // authorization_code without a redirect URI, cookie delivery without an origin:
        // the server refuses them and names the field; the form sends them.
        let form = ClientForm {
            client_id: "spa".into(),
            public: true,
            grants: vec![GrantType::AuthorizationCode],
            refresh_token_delivery: RefreshTokenDelivery::Cookie,
            ..ClientForm::default()
        };
        assert!(form.validate().is_ok());
    }
}
