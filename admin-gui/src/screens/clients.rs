use eframe::egui;
use egui_extras::{Column, TableBuilder};
use tessera_client::types;

use super::Net;
use crate::widgets::{error_text, field, shown_once};
use crate::worker::Request;

/// The new-client form, validated before anything is sent.
#[derive(Default, Clone)]
pub struct ClientForm {
    pub client_id: String,
    pub public: bool,
    pub password: bool,
    pub refresh_token: bool,
    pub client_credentials: bool,
    pub scopes: String,
    pub redirect_uris: String,
    pub access_ttl: String,
    pub refresh_idle_ttl: String,
    pub refresh_absolute_ttl: String,
    pub reuse_leeway: String,
}

/// A problem with one field of the form.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
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
        let mut grants = Vec::new();
        if self.password {
            grants.push("password".to_owned());
        }
        if self.refresh_token {
            grants.push("refresh_token".to_owned());
        }
        if self.client_credentials {
            grants.push("client_credentials".to_owned());
        }
        if grants.is_empty() {
            return Err(FieldError {
                field: "grant_types",
                message: "choose at least one grant".into(),
            });
        }
        if self.public && self.client_credentials {
            return Err(FieldError {
                field: "grant_types",
                message: "a public client cannot use client_credentials".into(),
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

impl Clients {
    pub fn load(&self, net: &mut Net) {
        net.send(Request::Clients);
    }

    fn field_error(&self, ui: &mut egui::Ui, name: &str) {
        if let Some(e) = self.error.as_ref().filter(|e| e.field == name) {
            error_text(ui, &format!("{}: {}", e.field, e.message));
        }
    }

    pub fn show(&mut self, ui: &mut egui::Ui, net: &mut Net) {
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
                    ui.checkbox(&mut self.form.password, "password");
                    ui.checkbox(&mut self.form.refresh_token, "refresh_token");
                    ui.checkbox(&mut self.form.client_credentials, "client_credentials");
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
                if let Some(e) = self.error.as_ref().filter(|e| e.field == "form") {
                    error_text(ui, &e.message);
                }
                if ui.button("Create client").clicked() {
                    match self.form.validate() {
                        Ok(body) => {
                            self.error = None;
                            net.send(Request::CreateClient(body));
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
        let mut confirm: Option<(String, Request)> = None;
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
                            ui.label(c.grant_types.join(" "));
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
                                        Request::RemoveClient {
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
                Request::RotateSecret { id },
            );
        }
        if let Some(id) = revoke {
            net.send(Request::RevokeClientSessions { id });
        }
        if let Some((m, r)) = confirm {
            net.confirm("Remove client", m, r);
        }
    }

    pub fn created(&mut self, c: &types::ClientCreated) {
        self.form = ClientForm::default();
        self.error = None;
        if let Some(s) = &c.client_secret {
            self.secret = Some((format!("Secret of {}", c.client.client_id), s.clone()));
        }
    }

    /// A server refusal, shown next to the field it names.
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
        let f = field
            .and_then(|f| FIELDS.iter().find(|x| **x == f).copied())
            .unwrap_or("form");
        let message = message
            .strip_prefix(&format!("{f}: "))
            .unwrap_or(message)
            .to_owned();
        self.error = Some(FieldError { field: f, message });
    }
}
