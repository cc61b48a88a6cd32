use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};
use tessera_client::types;

use super::{FieldError, Goto, Net, ScreenState};
use crate::api::{Api, ApiError, call};
use crate::widgets::{error_text, field, shown_once, when_opt};
use crate::worker::Failure;

/// What the users screen asks the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    List {
        search: String,
        cursor: Option<String>,
    },
    Create {
        username: String,
        password: Option<String>,
        admin: bool,
    },
    Update {
        id: String,
        admin: Option<bool>,
        disabled: Option<bool>,
    },
    SetPassword {
        id: String,
        password: Option<String>,
    },
    Delete {
        id: String,
    },
}

#[derive(Debug, Clone)]
pub enum Answer {
    Page(types::UserPage),
    Created(types::UserCreated),
    Updated(types::UserView),
    PasswordSet(types::PasswordSet),
    Deleted { sessions_ended: u64 },
}

impl Ask {
    pub fn what(&self) -> &'static str {
        match self {
            Ask::List { .. } => "load users",
            Ask::Create { .. } => "create user",
            Ask::Update { .. } => "update user",
            Ask::SetPassword { .. } => "set password",
            Ask::Delete { .. } => "delete user",
        }
    }

    pub(crate) async fn run(self, api: &mut Api) -> Result<Answer, ApiError> {
        Ok(match self {
            Ask::List { search, cursor } => Answer::Page(call!(api, |c| {
                let mut b = c.admin_list_users().limit(100u64);
                if let Some(s) = super::opt(&search) {
                    b = b.search(s);
                }
                if let Some(cur) = &cursor {
                    b = b.cursor(cur.clone());
                }
                b.send()
            })?),
            Ask::Create {
                username,
                password,
                admin,
            } => {
                let body = types::CreateUser {
                    username,
                    password,
                    is_admin: admin,
                };
                Answer::Created(call!(api, |c| c
                    .admin_create_user()
                    .body(body.clone())
                    .send())?)
            }
            Ask::Update {
                id,
                admin,
                disabled,
            } => {
                let body = types::UpdateUser {
                    is_admin: admin,
                    disabled,
                };
                Answer::Updated(call!(api, |c| c
                    .admin_update_user()
                    .id(id.clone())
                    .body(body.clone())
                    .send())?)
            }
            Ask::SetPassword { id, password } => {
                let body = types::SetPassword { password };
                Answer::PasswordSet(call!(api, |c| c
                    .admin_set_password()
                    .id(id.clone())
                    .body(body.clone())
                    .send())?)
            }
            Ask::Delete { id } => {
                let d = call!(api, |c| c.admin_delete_user().id(id.clone()).send())?;
                Answer::Deleted {
                    sessions_ended: d.sessions_ended,
                }
            }
        })
    }
}

/// The fields of the new-user form, as the request names them.
const FORM_FIELDS: [&str; 2] = ["username", "password"];

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
    /// A problem with the new-user form, at its field.
    pub form_error: Option<FieldError>,
    /// (what, secret) shown once after a create or a password reset.
    pub secret: Option<(String, String)>,
    /// The user whose password is being set, and the text typed.
    pub password_for: Option<(String, String, String)>,
    /// A problem with the password typed there.
    pub password_error: Option<String>,
}

impl ScreenState for Users {
    type Ask = Ask;
    type Answer = Answer;

    fn load(&mut self, net: &mut Net<'_, Ask>) {
        net.send(Ask::List {
            search: self.search.clone(),
            cursor: self.cursor.clone(),
        });
    }

    fn on_answer(&mut self, answer: Result<Answer, Failure<Ask>>, net: &mut Net<'_, Ask>) {
        match answer {
            Ok(Answer::Page(p)) => self.page = Some(p),
            Ok(Answer::Created(c)) => {
                net.info(format!("Created user {}", c.user.username));
                self.created(&c);
                self.load(net);
            }
            Ok(Answer::Updated(u)) => {
                net.info(format!("Updated {}", u.username));
                self.load(net);
            }
            Ok(Answer::PasswordSet(p)) => {
                net.info(format!(
                    "Password set; {} session(s) of the user ended",
                    p.sessions_ended
                ));
                if let Some(pw) = p.generated_password {
                    self.secret = Some(("New password".into(), pw));
                }
                self.load(net);
            }
            Ok(Answer::Deleted { sessions_ended }) => {
                net.info(format!(
                    "Deleted the user; {sessions_ended} session(s) ended"
                ));
                self.load(net);
            }
            Err(Failure {
                ask: Ask::Create { .. },
                error: ApiError::Rejected { field, message, .. },
                ..
            }) => {
                self.form_error = Some(FieldError::at(field.as_deref(), &FORM_FIELDS, &message));
            }
            Err(f) => net.failed(f),
        }
    }

    fn show(&mut self, ui: &mut egui::Ui, net: &mut Net<'_, Ask>) {
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
        let mut action: Option<Ask> = None;
        let mut confirm: Option<(String, Ask)> = None;
        let mut sessions_of: Option<(String, String)> = None;
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
                                    action = Some(Ask::Update {
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
                                    action = Some(Ask::Update {
                                        id: u.id.clone(),
                                        admin: Some(to),
                                        disabled: None,
                                    });
                                }
                                if ui.small_button("Set password").clicked() {
                                    set_password = Some((u.id.clone(), u.username.clone()));
                                }
                                if ui.small_button("Show sessions").clicked() {
                                    sessions_of = Some((u.id.clone(), u.username.clone()));
                                }
                                if ui.small_button("Delete").clicked() {
                                    confirm = Some((
                                        format!(
                                            "Delete user {}? Their {} session(s) end now.",
                                            u.username, u.live_sessions
                                        ),
                                        Ask::Delete { id: u.id.clone() },
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
        if let Some((id, username)) = sessions_of {
            net.goto(Goto::SessionsOfUser { id, username });
        }
        if let Some((id, name)) = set_password {
            self.password_for = Some((id, name, String::new()));
            self.password_error = None;
        }
    }
}

impl Users {
    fn create_form(&mut self, ui: &mut egui::Ui, net: &mut Net<'_, Ask>) {
        egui::CollapsingHeader::new("New user")
            .default_open(false)
            .show(ui, |ui| {
                field(ui, "New username", &mut self.new_name);
                FieldError::show(&self.form_error, ui, "username");
                ui.horizontal(|ui| {
                    let l = ui.label("Password (empty: generate)");
                    ui.add(egui::TextEdit::singleline(&mut self.new_password).password(true))
                        .labelled_by(l.id);
                });
                FieldError::show(&self.form_error, ui, "password");
                ui.checkbox(&mut self.new_admin, "Administrator");
                FieldError::show(&self.form_error, ui, "form");
                if ui.button("Create user").clicked() {
                    let name = self.new_name.trim().to_owned();
                    self.form_error = if name.is_empty() {
                        Some(FieldError::new("username", "required"))
                    } else if !self.new_password.is_empty() && self.new_password.chars().count() < 8
                    {
                        Some(FieldError::new("password", "at least 8 characters"))
                    } else {
                        None
                    };
                    if self.form_error.is_none() {
                        net.send(Ask::Create {
                            username: name,
                            password: (!self.new_password.is_empty())
                                .then(|| self.new_password.clone()),
                            admin: self.new_admin,
                        });
                    }
                }
            });
    }

    fn password_form(&mut self, ui: &mut egui::Ui, net: &mut Net<'_, Ask>) {
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
                            self.password_error = Some("password: at least 8 characters".into());
                        } else {
                            net.send(Ask::SetPassword {
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
                if let Some(e) = &self.password_error {
                    error_text(ui, e);
                }
            });
        }
        if close {
            self.password_for = None;
            self.password_error = None;
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
