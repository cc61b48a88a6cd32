use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};
use tessera_client::types;

use super::{Goto, Net};
use crate::widgets::{error_text, field, shown_once, when_opt};
use crate::worker::Request;

#[derive(Default)]
pub struct Users {
    pub page: Option<types::UserPage>,
    pub search: String,
    /// Cursors of the pages before the current one, for "Previous".
    pub history: Vec<Option<String>>,
    pub cursor: Option<String>,
    pub new_name: String,
    pub new_password: String,
    pub new_admin: bool,
    pub form_error: Option<String>,
    /// (what, secret) shown once after a create or a password reset.
    pub secret: Option<(String, String)>,
    /// The user whose password is being set, and the text typed.
    pub password_for: Option<(String, String, String)>,
}

impl Users {
    pub fn load(&self, net: &mut Net) {
        net.send(Request::Users {
            search: self.search.clone(),
            cursor: self.cursor.clone(),
        });
    }

    pub fn show(&mut self, ui: &mut egui::Ui, net: &mut Net) {
        ui.heading("Users");
        ui.horizontal(|ui| {
            let l = ui.label("Search");
            let r = ui.text_edit_singleline(&mut self.search).labelled_by(l.id);
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Search").clicked() || enter {
                self.cursor = None;
                self.history.clear();
                self.load(net);
            }
            if ui.button("Refresh").clicked() {
                self.load(net);
            }
        });
        self.create_form(ui, net);
        if let Some((what, secret)) = &self.secret
            && shown_once(ui, what, secret)
        {
            self.secret = None;
        }
        self.password_form(ui, net);
        ui.separator();
        let Some(page) = self.page.clone() else {
            ui.label("Loading...");
            return;
        };
        ui.label(format!("{} user(s)", page.total));
        let mut action: Option<Request> = None;
        let mut confirm: Option<(String, Request)> = None;
        let mut sessions_of: Option<String> = None;
        let mut set_password: Option<(String, String)> = None;
        let table_height = ui.available_height() - 40.0;
        TableBuilder::new(ui)
            .id_salt("users")
            .striped(true)
            .max_scroll_height(table_height)
            .column(Column::auto().at_least(120.0))
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::auto().at_least(140.0))
            .column(Column::remainder())
            .header(20.0, |mut h| {
                for t in [
                    "Username",
                    "Role",
                    "State",
                    "Sessions",
                    "Last sign-in",
                    "Actions",
                ] {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|mut body| {
                for u in &page.items {
                    body.row(22.0, |mut row| {
                        row.col(|ui| {
                            ui.label(&u.username);
                        });
                        row.col(|ui| {
                            ui.label(if u.is_admin { "admin" } else { "user" });
                        });
                        row.col(|ui| {
                            ui.label(if u.disabled { "disabled" } else { "enabled" });
                        });
                        row.col(|ui| {
                            ui.label(u.live_sessions.to_string());
                        });
                        row.col(|ui| {
                            ui.label(when_opt(&u.last_login_at));
                        });
                        row.col(|ui| {
                            ui.horizontal(|ui| {
                                let (label, to) = if u.disabled {
                                    ("Enable", false)
                                } else {
                                    ("Disable", true)
                                };
                                if ui.small_button(label).on_hover_text(&u.username).clicked() {
                                    action = Some(Request::UpdateUser {
                                        id: u.id.clone(),
                                        admin: None,
                                        disabled: Some(to),
                                    });
                                }
                                let (label, to) = if u.is_admin {
                                    ("Revoke admin", false)
                                } else {
                                    ("Make admin", true)
                                };
                                if ui.small_button(label).clicked() {
                                    action = Some(Request::UpdateUser {
                                        id: u.id.clone(),
                                        admin: Some(to),
                                        disabled: None,
                                    });
                                }
                                if ui.small_button("Set password").clicked() {
                                    set_password = Some((u.id.clone(), u.username.clone()));
                                }
                                if ui.small_button("Show sessions").clicked() {
                                    sessions_of = Some(u.id.clone());
                                }
                                if ui.small_button("Delete").clicked() {
                                    confirm = Some((
                                        format!(
                                            "Delete user {}? Their {} session(s) end now.",
                                            u.username, u.live_sessions
                                        ),
                                        Request::DeleteUser { id: u.id.clone() },
                                    ));
                                }
                            });
                        });
                    });
                }
            });
        if crate::widgets::pager(
            ui,
            &mut self.history,
            &mut self.cursor,
            page.next_cursor.as_ref(),
        ) {
            self.load(net);
        }
        if let Some(r) = action {
            net.send(r);
        }
        if let Some((message, r)) = confirm {
            net.confirm("Delete user", message, r);
        }
        if let Some(id) = sessions_of {
            *net.goto = Some(Goto::SessionsOfUser(id));
        }
        if let Some((id, name)) = set_password {
            self.password_for = Some((id, name, String::new()));
        }
    }

    fn create_form(&mut self, ui: &mut egui::Ui, net: &mut Net) {
        egui::CollapsingHeader::new("New user")
            .default_open(false)
            .show(ui, |ui| {
                field(ui, "New username", &mut self.new_name);
                ui.horizontal(|ui| {
                    let l = ui.label("Password (empty: generate)");
                    ui.add(egui::TextEdit::singleline(&mut self.new_password).password(true))
                        .labelled_by(l.id);
                });
                ui.checkbox(&mut self.new_admin, "Administrator");
                if let Some(e) = &self.form_error {
                    error_text(ui, e);
                }
                if ui.button("Create user").clicked() {
                    let name = self.new_name.trim().to_owned();
                    self.form_error = if name.is_empty() {
                        Some("Username: required".into())
                    } else if !self.new_password.is_empty() && self.new_password.chars().count() < 8
                    {
                        Some("Password: at least 8 characters".into())
                    } else {
                        None
                    };
                    if self.form_error.is_none() {
                        net.send(Request::CreateUser {
                            username: name,
                            password: (!self.new_password.is_empty())
                                .then(|| self.new_password.clone()),
                            admin: self.new_admin,
                        });
                    }
                }
            });
    }

    fn password_form(&mut self, ui: &mut egui::Ui, net: &mut Net) {
        let mut close = false;
        if let Some((id, name, text)) = &mut self.password_for {
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.label(
                    RichText::new(format!("New password for {name} (their sessions end)")).strong(),
                );
                ui.horizontal(|ui| {
                    let l = ui.label("New password (empty: generate)");
                    ui.add(egui::TextEdit::singleline(text).password(true))
                        .labelled_by(l.id);
                    if ui.button("Set").clicked() {
                        if !text.is_empty() && text.chars().count() < 8 {
                            self.form_error = Some("Password: at least 8 characters".into());
                        } else {
                            net.send(Request::SetPassword {
                                id: id.clone(),
                                password: (!text.is_empty()).then(|| text.clone()),
                            });
                            close = true;
                        }
                    }
                    if ui.button("Cancel").clicked() {
                        close = true;
                    }
                });
            });
        }
        if close {
            self.password_for = None;
        }
    }

    pub fn created(&mut self, c: &types::UserCreated) {
        self.new_name.clear();
        self.new_password.clear();
        self.new_admin = false;
        self.form_error = None;
        if let Some(p) = &c.generated_password {
            self.secret = Some((format!("Password of {}", c.user.username), p.clone()));
        }
    }
}
