use eframe::egui::{self, Color32, RichText};
use egui_extras::{Column, TableBuilder};
use tessera_client::types::{self, FamilyState, RevokeReason, TokenState};

use super::{Net, ScreenState, UserRef, opt};
use crate::api::{Api, ApiError, call};
use crate::widgets::{choose_any, danger, field, when, when_opt};
use crate::worker::Failure;

/// Filters of the session list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FamilyQuery {
    /// A user name, or a user id (see [`UserRef`]).
    pub user: String,
    pub client_id: String,
    pub state: Option<FamilyState>,
    pub reason: Option<RevokeReason>,
    pub cursor: Option<String>,
}

/// Filters of the browser sign-in session list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SigninQuery {
    /// A user name, or a user id (see [`UserRef`]).
    pub user: String,
    /// Also ended and expired sessions (by default only active ones).
    pub include_ended: bool,
    pub cursor: Option<String>,
}

/// What the sessions screen asks the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    List(FamilyQuery),
    /// Browser sign-in sessions.
    Signins(SigninQuery),
    /// Ends one browser sign-in session; `who` names its user in the banner.
    EndSignin {
        id: String,
        who: String,
    },
    Detail {
        id: String,
    },
    Revoke {
        id: String,
    },
    /// Every session of one user; `who` names them in the banner.
    RevokeUser {
        id: String,
        who: String,
    },
}

#[derive(Debug, Clone)]
pub enum Answer {
    Page(types::FamilyPage),
    Detail(Box<types::FamilyDetail>),
    Revoked(types::FamilyView),
    UserRevoked {
        id: String,
        who: String,
        revoked: u64,
    },
    Signins(types::SigninSessionPage),
    SigninEnded {
        session: types::SigninSessionView,
        who: String,
    },
}

impl Ask {
    pub fn what(&self) -> &'static str {
        match self {
            Ask::List(_) => "load sessions",
            Ask::Detail { .. } => "load session",
            Ask::Revoke { .. } => "revoke session",
            Ask::RevokeUser { .. } => "end the user's sessions",
            Ask::Signins(_) => "load sign-in sessions",
            Ask::EndSignin { .. } => "end sign-in session",
        }
    }

    pub(crate) async fn run(self, api: &mut Api) -> Result<Answer, ApiError> {
        Ok(match self {
            Ask::List(q) => {
                let user = UserRef::parse(&q.user);
                let (user_id, username) = user.params();
                Answer::Page(call!(api, |c| {
                    let mut b = c.admin_list_families().limit(100u64);
                    if let Some(v) = user_id {
                        b = b.user_id(v);
                    }
                    if let Some(v) = username {
                        b = b.username(v);
                    }
                    if let Some(v) = opt(&q.client_id) {
                        b = b.client_id(v);
                    }
                    if let Some(v) = q.state {
                        b = b.state(v);
                    }
                    if let Some(v) = q.reason {
                        b = b.reason(v);
                    }
                    if let Some(cur) = &q.cursor {
                        b = b.cursor(cur.clone());
                    }
                    b.send()
                })?)
            }
            Ask::Detail { id } => Answer::Detail(Box::new(call!(api, |c| c
                .admin_get_family()
                .id(id.clone())
                .send())?)),
            Ask::Revoke { id } => Answer::Revoked(call!(api, |c| c
                .admin_revoke_family()
                .id(id.clone())
                .send())?),
            Ask::RevokeUser { id, who } => {
                let r = call!(api, |c| c
                    .admin_revoke_user_sessions()
                    .id(id.clone())
                    .send())?;
                Answer::UserRevoked {
                    id,
                    who,
                    revoked: r.revoked,
                }
            }
            Ask::Signins(q) => {
                let user = UserRef::parse(&q.user);
                let (user_id, username) = user.params();
                Answer::Signins(call!(api, |c| {
                    let mut b = c
                        .admin_list_signin_sessions()
                        .limit(100u64)
                        .include_ended(q.include_ended);
                    if let Some(v) = user_id {
                        b = b.user_id(v);
                    }
                    if let Some(v) = username {
                        b = b.username(v);
                    }
                    if let Some(cur) = &q.cursor {
                        b = b.cursor(cur.clone());
                    }
                    b.send()
                })?)
            }
            Ask::EndSignin { id, who } => Answer::SigninEnded {
                session: call!(api, |c| c.admin_end_signin_session().id(id.clone()).send())?,
                who,
            },
        })
    }
}

/// The two kinds of session the screen lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum View {
    /// Refresh-token families: one per app sign-in, rotated on every refresh.
    #[default]
    Families,
    /// Browser sign-in sessions: the sign-in page's cookie, shared by the apps the user
    /// signs in to in that browser.
    Signins,
}

#[derive(Default)]
pub struct Sessions {
    pub view: View,
    pub page: Option<types::FamilyPage>,
    /// The filters of both lists; the user filter is `query.user` for both.
    pub query: FamilyQuery,
    pub history: Vec<Option<String>>,
    pub selected: Option<Box<types::FamilyDetail>>,
    /// Open the newest family of the next page (used when arriving from a link).
    pub select_first: bool,
    pub signins: Option<types::SigninSessionPage>,
    pub include_ended: bool,
    pub signin_cursor: Option<String>,
    pub signin_history: Vec<Option<String>>,
}

impl Sessions {
    /// Shows one user's sessions (from another screen's link).
    pub fn of_user(&mut self, id: &str, username: &str) {
        self.query = FamilyQuery {
            user: UserRef::text_for(id, username),
            ..FamilyQuery::default()
        };
        self.history.clear();
        self.selected = None;
        self.signin_cursor = None;
        self.signin_history.clear();
    }

    fn signin_query(&self) -> SigninQuery {
        SigninQuery {
            user: self.query.user.clone(),
            include_ended: self.include_ended,
            cursor: self.signin_cursor.clone(),
        }
    }

    fn load_signins(&self, net: &mut Net<'_, Ask>) {
        net.send(Ask::Signins(self.signin_query()));
    }

    fn reload_selected(&self, net: &mut Net<'_, Ask>) {
        if let Some(d) = &self.selected {
            net.send(Ask::Detail {
                id: d.family.id.clone(),
            });
        }
    }
}

impl ScreenState for Sessions {
    type Ask = Ask;
    type Answer = Answer;

    fn load(&mut self, net: &mut Net<'_, Ask>) {
        net.send(Ask::List(self.query.clone()));
        self.load_signins(net);
    }

    fn on_answer(&mut self, answer: Result<Answer, Failure<Ask>>, net: &mut Net<'_, Ask>) {
        match answer {
            Ok(Answer::Page(p)) => {
                if self.select_first {
                    self.select_first = false;
                    if let Some(f) = p.items.first() {
                        net.send(Ask::Detail { id: f.id.clone() });
                    }
                }
                self.page = Some(p);
            }
            Ok(Answer::Detail(d)) => self.selected = Some(d),
            Ok(Answer::Revoked(f)) => {
                net.info(format!(
                    "Revoked the session of {}",
                    f.username.clone().unwrap_or_else(|| f.client_id.clone())
                ));
                if self.selected.as_ref().is_some_and(|d| d.family.id == f.id) {
                    self.reload_selected(net);
                }
                self.load(net);
            }
            Ok(Answer::UserRevoked { id, who, revoked }) => {
                net.info(format!("{revoked} session(s) of {who} ended"));
                if self
                    .selected
                    .as_ref()
                    .is_some_and(|d| d.family.user_id.as_deref() == Some(id.as_str()))
                {
                    self.reload_selected(net);
                }
                self.load(net);
            }
            Ok(Answer::Signins(p)) => self.signins = Some(p),
            Ok(Answer::SigninEnded { session, who }) => {
                net.info(match session.end_reason {
                    Some(r) => format!("Ended the browser sign-in session of {who} ({r})"),
                    None => format!("Ended the browser sign-in session of {who}"),
                });
                self.load_signins(net);
            }
            Err(f) => net.failed(f),
        }
    }

    fn show(&mut self, ui: &mut egui::Ui, net: &mut Net<'_, Ask>) {
        ui.horizontal(|ui| {
            ui.heading("Sessions");
            ui.selectable_value(&mut self.view, View::Families, "Refresh families")
                .on_hover_text("One per app sign-in; its refresh token rotates on every use");
            ui.selectable_value(&mut self.view, View::Signins, "Browser sign-ins")
                .on_hover_text(
                    "The sign-in page's cookie: while it lasts, the user's browser apps sign \
                     in without the password",
                );
            if ui.button("Refresh").clicked() {
                self.load(net);
            }
        });
        ui.horizontal(|ui| {
            field(ui, "User (name or ID)", &mut self.query.user)
                .on_hover_text("A user name, or a user ID (a UUID)");
            match self.view {
                View::Families => {
                    field(ui, "Client ID", &mut self.query.client_id);
                    ui.label("State");
                    choose_any(ui, "state", &mut self.query.state);
                    ui.label("Reason");
                    choose_any(ui, "reason", &mut self.query.reason);
                }
                View::Signins => {
                    ui.checkbox(&mut self.include_ended, "Include ended and expired");
                }
            }
            if ui.button("Apply").clicked() {
                self.query.cursor = None;
                self.history.clear();
                self.signin_cursor = None;
                self.signin_history.clear();
                self.load(net);
            }
        });
        ui.separator();
        if self.view == View::Signins {
            self.signins_ui(ui, net);
            return;
        }
        if let Some(detail) = &self.selected {
            let detail = detail.clone();
            self.detail(ui, net, &detail);
            ui.separator();
        }
        let Some(page) = self.page.clone() else {
            ui.label("Loading...");
            return;
        };
        ui.label(format!("{} session(s), newest first", page.total));
        let mut open: Option<String> = None;
        let mut revoke: Option<(String, String)> = None;
        let table_height = ui.available_height() - 40.0;
        TableBuilder::new(ui)
            .id_salt("families")
            .striped(true)
            .max_scroll_height(table_height)
            .column(Column::auto().at_least(100.0))
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::auto().at_least(130.0))
            .column(Column::auto().at_least(130.0))
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::remainder())
            .header(20.0, |mut h| {
                for t in [
                    "User",
                    "Client",
                    "State",
                    "Started",
                    "Last used",
                    "Generations",
                    "Address",
                    "Actions",
                ] {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|mut body| {
                for f in &page.items {
                    body.row(22.0, |mut row| {
                        row.col(|ui| {
                            ui.label(f.username.clone().unwrap_or_else(|| "-".into()));
                        });
                        row.col(|ui| {
                            ui.label(&f.client_id);
                        });
                        row.col(|ui| {
                            let text = match &f.revoke_reason {
                                Some(r) => format!("{} ({r})", f.state),
                                None => f.state.to_string(),
                            };
                            let t = RichText::new(text);
                            ui.label(if f.revoke_reason == Some(RevokeReason::ReuseDetected) {
                                t.color(danger()).strong()
                            } else {
                                t
                            });
                        });
                        row.col(|ui| {
                            ui.label(when(&f.created_at));
                        });
                        row.col(|ui| {
                            ui.label(when(&f.last_used_at));
                        });
                        row.col(|ui| {
                            ui.label(f.generations.to_string());
                        });
                        row.col(|ui| {
                            ui.label(f.ip.clone().unwrap_or_default());
                        });
                        row.col(|ui| {
                            ui.horizontal(|ui| {
                                if ui.small_button("Details").clicked() {
                                    open = Some(f.id.clone());
                                }
                                if f.state == FamilyState::Active
                                    && ui.small_button("Revoke").clicked()
                                {
                                    revoke = Some((
                                        f.id.clone(),
                                        f.username.clone().unwrap_or_default(),
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
            &mut self.query.cursor,
            page.next_cursor.as_ref(),
        ) {
            self.load(net);
        }
        if let Some(id) = open {
            net.send(Ask::Detail { id });
        }
        if let Some((id, who)) = revoke {
            net.confirm(
                "Revoke session",
                format!("Revoke this session of {who}? Its refresh token stops working at once."),
                Ask::Revoke { id },
            );
        }
    }
}

/// A sign-in session's state in words: active, ended (and why), or expired.
fn signin_state(s: &types::SigninSessionView) -> String {
    if s.active {
        "active".into()
    } else if s.ended_at.is_some() {
        match &s.end_reason {
            Some(r) => format!("ended ({r})"),
            None => "ended".into(),
        }
    } else {
        "expired".into()
    }
}

impl Sessions {
    /// The browser sign-in sessions, with "End" on the active ones.
    fn signins_ui(&mut self, ui: &mut egui::Ui, net: &mut Net<'_, Ask>) {
        let Some(page) = self.signins.clone() else {
            ui.label("Loading...");
            return;
        };
        ui.label(format!(
            "{} browser sign-in session(s){}, newest first",
            page.total,
            if self.include_ended { "" } else { " active" }
        ));
        let mut end: Option<(String, String)> = None;
        let table_height = ui.available_height() - 40.0;
        TableBuilder::new(ui)
            .id_salt("signins")
            .striped(true)
            .max_scroll_height(table_height)
            .column(Column::auto().at_least(100.0))
            .column(Column::auto().at_least(90.0))
            .column(Column::auto().at_least(130.0))
            .column(Column::auto().at_least(130.0))
            .column(Column::auto().at_least(130.0))
            .column(Column::auto())
            // A user agent is long: a fixed width, cut, whole on hover.
            .column(Column::exact(320.0).clip(true))
            .column(Column::remainder())
            .header(20.0, |mut h| {
                for t in [
                    "User",
                    "State",
                    "Signed in",
                    "Expires",
                    "Ended",
                    "Address",
                    "Browser",
                    "Actions",
                ] {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|mut body| {
                for s in &page.items {
                    body.row(22.0, |mut row| {
                        let who = s.username.clone().unwrap_or_else(|| s.user_id.clone());
                        row.col(|ui| {
                            ui.label(&who);
                        });
                        row.col(|ui| {
                            ui.label(signin_state(s));
                        });
                        row.col(|ui| {
                            ui.label(when(&s.created_at));
                        });
                        row.col(|ui| {
                            ui.label(when(&s.expires_at));
                        });
                        row.col(|ui| {
                            ui.label(when_opt(&s.ended_at));
                        });
                        row.col(|ui| {
                            ui.label(s.ip.clone().unwrap_or_default());
                        });
                        row.col(|ui| {
                            let ua = s.user_agent.clone().unwrap_or_default();
                            ui.add(egui::Label::new(&ua).truncate()).on_hover_text(ua);
                        });
                        row.col(|ui| {
                            if s.active && ui.small_button("End").clicked() {
                                end = Some((s.id.clone(), who.clone()));
                            }
                        });
                    });
                }
            });
        if crate::widgets::pager(
            ui,
            &mut self.signin_history,
            &mut self.signin_cursor,
            page.next_cursor.as_ref(),
        ) {
            self.load_signins(net);
        }
        if let Some((id, who)) = end {
            net.confirm(
                "End sign-in session",
                format!(
                    "End the browser sign-in session of {who}? Their next sign-in in that \
                     browser asks for the password again. Their apps' refresh sessions are \
                     separate and stay."
                ),
                Ask::EndSignin { id, who },
            );
        }
    }

    /// The selected family's token chain as a timeline, the replayed generation marked.
    fn detail(&mut self, ui: &mut egui::Ui, net: &mut Net<'_, Ask>, d: &types::FamilyDetail) {
        let f = &d.family;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong(format!(
                    "Session of {} via {} - {}",
                    f.username.clone().unwrap_or_else(|| "-".into()),
                    f.client_id,
                    f.state
                ));
                if let Some(r) = &f.revoke_reason {
                    ui.label(format!("revoked {} ({r})", when_opt(&f.revoked_at)));
                }
                if f.state == FamilyState::Active && ui.button("Revoke this session").clicked() {
                    net.confirm(
                        "Revoke session",
                        "Revoke this session? Its refresh token stops working at once.".into(),
                        Ask::Revoke { id: f.id.clone() },
                    );
                }
                if let Some(uid) = &f.user_id
                    && ui.button("Revoke all of this user's sessions").clicked()
                {
                    let who = f.username.clone().unwrap_or_else(|| uid.clone());
                    net.confirm(
                        "Revoke all sessions",
                        format!("End every session of {who}?"),
                        Ask::RevokeUser {
                            id: uid.clone(),
                            who,
                        },
                    );
                }
                if ui.button("Close").clicked() {
                    self.selected = None;
                }
            });
            if let Some(g) = d.replayed_generation {
                ui.label(
                    RichText::new(format!(
                        "Alert: Generation {g} was presented again after it had been used: the family was revoked."
                    ))
                    .color(danger())
                    .strong(),
                );
            }
            ui.label(format!("Token chain ({} generations):", d.tokens.len()));
            for t in &d.tokens {
                let line = format!(
                    "- gen {:>3}  {:<11}  issued {}  used {}  {}  {}",
                    t.generation,
                    t.state.to_string(),
                    when(&t.issued_at),
                    when_opt(&t.used_at),
                    t.ip.clone().unwrap_or_default(),
                    t.user_agent.clone().unwrap_or_default()
                );
                let mut text = RichText::new(line).monospace();
                if t.replayed {
                    text = text.color(Color32::WHITE).background_color(danger()).strong();
                } else if t.state == TokenState::Active {
                    text = text.strong();
                }
                let label = ui.label(text);
                if t.replayed {
                    label.on_hover_text("replayed: presented again after use");
                }
            }
        });
    }
}
