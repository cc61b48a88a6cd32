use std::time::{Duration, Instant};

use eframe::egui;
use egui_extras::{Column, TableBuilder};
use tessera_client::types;

use super::{Net, ScreenState, UserRef, opt};
use crate::api::{Api, ApiError, call};
use crate::widgets::{choose_any, field, when};
use crate::worker::Failure;

/// Filters of the audit trail.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    pub kind: Option<types::AuditKind>,
    /// A user name, or a user id (see [`UserRef`]).
    pub user: String,
    pub client_id: String,
    pub family_id: String,
    pub cursor: Option<String>,
}

/// What the audit screen asks the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    List(AuditQuery),
}

#[derive(Debug, Clone)]
pub enum Answer {
    Page(types::AuditPage),
}

impl Ask {
    pub fn what(&self) -> &'static str {
        match self {
            Ask::List(_) => "load audit events",
        }
    }

    pub(crate) async fn run(self, api: &mut Api) -> Result<Answer, ApiError> {
        Ok(match self {
            Ask::List(q) => {
                let user = UserRef::parse(&q.user);
                let (user_id, username) = user.params();
                Answer::Page(call!(api, |c| {
                    let mut b = c.admin_list_audit().limit(100u64);
                    if let Some(v) = q.kind {
                        b = b.kind(v);
                    }
                    if let Some(v) = user_id {
                        b = b.user_id(v);
                    }
                    if let Some(v) = username {
                        b = b.username(v);
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
                })?)
            }
        })
    }
}

pub struct Audit {
    pub page: Option<types::AuditPage>,
    pub query: AuditQuery,
    pub history: Vec<Option<String>>,
    pub auto_refresh: bool,
    last_load: Option<Instant>,
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            page: None,
            query: AuditQuery::default(),
            history: Vec::new(),
            auto_refresh: true,
            last_load: None,
        }
    }
}

impl ScreenState for Audit {
    type Ask = Ask;
    type Answer = Answer;

    fn load(&mut self, net: &mut Net<'_, Ask>) {
        self.last_load = Some(Instant::now());
        net.send(Ask::List(self.query.clone()));
    }

    fn on_answer(&mut self, answer: Result<Answer, Failure<Ask>>, net: &mut Net<'_, Ask>) {
        match answer {
            Ok(Answer::Page(p)) => self.page = Some(p),
            Err(f) => net.failed(f),
        }
    }

    fn show(&mut self, ui: &mut egui::Ui, net: &mut Net<'_, Ask>) {
        ui.horizontal(|ui| {
            ui.heading("Audit trail");
            if ui.button("Refresh").clicked() {
                self.load(net);
            }
            ui.checkbox(&mut self.auto_refresh, "Auto-refresh (5 s)");
        });
        // Auto-refresh only the first page, so paging back stays put.
        if self.auto_refresh && self.query.cursor.is_none() {
            let due = self
                .last_load
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
            if due {
                self.load(net);
            }
            ui.ctx().request_repaint_after(Duration::from_secs(1));
        }
        ui.horizontal(|ui| {
            ui.label("Kind");
            choose_any(ui, "kind", &mut self.query.kind);
            field(ui, "User (name or ID)", &mut self.query.user)
                .on_hover_text("A user name, or a user ID (a UUID)");
            field(ui, "Client ID", &mut self.query.client_id);
            field(ui, "Family ID", &mut self.query.family_id);
            if ui.button("Apply").clicked() {
                self.query.cursor = None;
                self.history.clear();
                self.load(net);
            }
        });
        ui.separator();
        let Some(page) = self.page.clone() else {
            ui.label("Loading...");
            return;
        };
        ui.label(format!("{} event(s), newest first", page.total));
        let table_height = ui.available_height() - 40.0;
        TableBuilder::new(ui)
            .id_salt("audit")
            .striped(true)
            .max_scroll_height(table_height)
            .column(Column::auto().at_least(140.0))
            .column(Column::auto().at_least(120.0))
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::remainder())
            .header(20.0, |mut h| {
                for t in [
                    "When", "Kind", "Actor", "User", "Client", "Reason", "Details",
                ] {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|mut body| {
                for e in &page.items {
                    body.row(20.0, |mut row| {
                        let short = |s: &Option<String>| {
                            s.as_deref()
                                .map_or("-".to_owned(), |v| v.chars().take(13).collect())
                        };
                        row.col(|ui| {
                            ui.label(when(&e.at));
                        });
                        row.col(|ui| {
                            let t = egui::RichText::new(e.kind.to_string());
                            ui.label(if e.kind == types::AuditKind::ReuseDetected {
                                t.color(crate::widgets::danger()).strong()
                            } else {
                                t
                            });
                        });
                        row.col(|ui| {
                            ui.label(e.actor_name.clone().unwrap_or_else(|| short(&e.actor)));
                        });
                        row.col(|ui| {
                            ui.label(e.username.clone().unwrap_or_else(|| short(&e.user_id)));
                        });
                        row.col(|ui| {
                            ui.label(e.client_id.clone().unwrap_or_default());
                        });
                        row.col(|ui| {
                            ui.label(e.reason.clone().unwrap_or_default());
                        });
                        row.col(|ui| {
                            let d = e.detail.as_ref().map(|d| d.to_string()).unwrap_or_default();
                            ui.label(d);
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
    }
}
