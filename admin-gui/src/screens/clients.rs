use eframe::egui;
use egui_extras::{Column, TableBuilder};
use tessera_client::types::{self, GrantType};

pub use super::FieldError;
use super::{Net, ScreenState};
use crate::api::{Api, ApiError, call};
use crate::vocab::{Vocab, join};
use crate::widgets::{field, shown_once};
use crate::worker::Failure;

/// What the clients screen asks the server.
#[derive(Debug, Clone)]
pub enum Ask {
    List,
    Create(types::CreateClient),
    RotateSecret { id: String },
    Remove { id: String },
    EndSessions { id: String },
}

#[derive(Debug, Clone)]
pub enum Answer {
    Page(types::ClientPage),
    Created(types::ClientCreated),
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

/// The new-client form, validated before anything is sent.
#[derive(Default, Clone)]
pub struct ClientForm {
    pub client_id: String,
    pub public: bool,
    /// The grants ticked, in the order the spec lists them.
    pub grants: Vec<GrantType>,
    pub scopes: String,
    pub redirect_uris: String,
    pub access_ttl: String,
    pub refresh_idle_ttl: String,
    pub refresh_absolute_ttl: String,
    pub reuse_leeway: String,
}

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

impl ClientForm {
    /// Ticks or unticks one grant.
    pub fn set_grant(&mut self, g: GrantType, on: bool) {
        self.grants.retain(|x| *x != g);
        if on {
            self.grants.push(g);
        }
    }

    /// The request body, or the first invalid field.
    pub fn validate(&self) -> Result<types::CreateClient, FieldError> {
        let id = self.client_id.trim();
        if id.is_empty()
            || id.len() > 128
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b))
        {
            return Err(FieldError {
                field: "client_id",
                message: "1 to 128 characters from A-Z a-z 0-9 . _ ~ -".into(),
            });
        }
        let grants: Vec<GrantType> = GrantType::ALL
            .iter()
            .copied()
            .filter(|g| self.grants.contains(g))
            .collect();
        if grants.is_empty() {
            return Err(FieldError {
                field: "grant_types",
                message: "choose at least one grant".into(),
            });
        }
        if self.public && grants.contains(&GrantType::ClientCredentials) {
            return Err(FieldError {
                field: "grant_types",
                message: format!(
                    "a public client cannot use {}",
                    GrantType::ClientCredentials
                ),
            });
        }
        let redirect_uris: Vec<String> = self
            .redirect_uris
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = redirect_uris
            .iter()
            .find(|u| !(u.starts_with("https://") || u.starts_with("http://")) || u.contains('#'))
        {
            return Err(FieldError {
                field: "redirect_uris",
                message: format!("`{bad}` must be an absolute http(s) URI without a fragment"),
            });
        }
        Ok(types::CreateClient {
            client_id: id.to_owned(),
            public: self.public,
            grant_types: grants,
            scopes: self.scopes.split_whitespace().map(str::to_owned).collect(),
            redirect_uris,
            access_ttl: seconds("access_ttl", &self.access_ttl, 1)?,
            refresh_idle_ttl: seconds("refresh_idle_ttl", &self.refresh_idle_ttl, 1)?,
            refresh_absolute_ttl: seconds("refresh_absolute_ttl", &self.refresh_absolute_ttl, 1)?,
            reuse_leeway: seconds("reuse_leeway", &self.reuse_leeway, 0)?,
        })
    }
}

#[derive(Default)]
pub struct Clients {
    pub page: Option<types::ClientPage>,
    pub form: ClientForm,
    pub error: Option<FieldError>,
    pub secret: Option<(String, String)>,
}

impl ScreenState for Clients {
    type Ask = Ask;
    type Answer = Answer;

    fn load(&mut self, net: &mut Net<'_, Ask>) {
        net.send(Ask::List);
    }

    fn on_answer(&mut self, answer: Result<Answer, Failure<Ask>>, net: &mut Net<'_, Ask>) {
        match answer {
            Ok(Answer::Page(p)) => self.page = Some(p),
            Ok(Answer::Created(c)) => {
                net.info(format!("Created client {}", c.client.client_id));
                self.created(&c);
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
                field(ui, "New client ID", &mut self.form.client_id);
                self.field_error(ui, "client_id");
                ui.checkbox(
                    &mut self.form.public,
                    "Public client (no secret: browser or mobile app)",
                );
                ui.horizontal(|ui| {
                    ui.label("Grants:");
                    for &g in GrantType::ALL {
                        let mut on = self.form.grants.contains(&g);
                        if ui.checkbox(&mut on, g.to_string()).changed() {
                            self.form.set_grant(g, on);
                        }
                    }
                });
                self.field_error(ui, "grant_types");
                field(ui, "Scopes (space-separated)", &mut self.form.scopes);
                self.field_error(ui, "scopes");
                ui.horizontal(|ui| {
                    let l = ui.label("Redirect URIs (one per line)");
                    ui.add(egui::TextEdit::multiline(&mut self.form.redirect_uris).desired_rows(2))
                        .labelled_by(l.id);
                });
                self.field_error(ui, "redirect_uris");
                ui.horizontal(|ui| {
                    field(ui, "Access TTL (s)", &mut self.form.access_ttl);
                    field(ui, "Refresh idle TTL (s)", &mut self.form.refresh_idle_ttl);
                });
                self.field_error(ui, "access_ttl");
                self.field_error(ui, "refresh_idle_ttl");
                ui.horizontal(|ui| {
                    field(
                        ui,
                        "Refresh absolute TTL (s)",
                        &mut self.form.refresh_absolute_ttl,
                    );
                    field(ui, "Reuse leeway (s)", &mut self.form.reuse_leeway);
                });
                self.field_error(ui, "refresh_absolute_ttl");
                self.field_error(ui, "reuse_leeway");
                self.field_error(ui, "form");
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
        ui.separator();
        let Some(page) = self.page.clone() else {
            ui.label("Loading...");
            return;
        };
        let mut confirm: Option<(String, Ask)> = None;
        let mut rotate: Option<String> = None;
        let mut revoke: Option<String> = None;
        TableBuilder::new(ui)
            .id_salt("clients")
            .striped(true)
            .column(Column::auto().at_least(120.0))
            .column(Column::auto())
            .column(Column::auto().at_least(160.0))
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::remainder())
            .header(20.0, |mut h| {
                for t in [
                    "Client ID",
                    "Type",
                    "Grants",
                    "Scopes",
                    "Lifetimes (access/idle/abs/leeway)",
                    "Actions",
                ] {
                    h.col(|ui| {
                        ui.strong(t);
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
                            ui.label(if c.public { "public" } else { "confidential" });
                        });
                        row.col(|ui| {
                            ui.label(join(&c.grant_types));
                        });
                        row.col(|ui| {
                            ui.label(c.scopes.join(" "));
                        });
                        row.col(|ui| {
                            ui.label(format!(
                                "{}s / {}s / {}s / {}s",
                                c.effective_access_ttl,
                                c.effective_refresh_idle_ttl,
                                c.effective_refresh_absolute_ttl,
                                c.effective_reuse_leeway
                            ));
                        });
                        row.col(|ui| {
                            ui.horizontal(|ui| {
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

impl Clients {
    fn field_error(&self, ui: &mut egui::Ui, name: &str) {
        FieldError::show(&self.error, ui, name);
    }

    pub fn created(&mut self, c: &types::ClientCreated) {
        self.form = ClientForm::default();
        self.error = None;
        if let Some(s) = &c.client_secret {
            self.secret = Some((format!("Secret of {}", c.client.client_id), s.clone()));
        }
    }

    /// A server refusal, shown next to the field the server names (the `field` of its
    /// error body), or above the button when it names none of the form's fields.
    pub fn rejected(&mut self, field: Option<&str>, message: &str) {
        const FIELDS: [&str; 8] = [
            "client_id",
            "grant_types",
            "scopes",
            "redirect_uris",
            "access_ttl",
            "refresh_idle_ttl",
            "refresh_absolute_ttl",
            "reuse_leeway",
        ];
        self.error = Some(FieldError::at(field, &FIELDS, message));
    }
}
