use std::time::{Duration, Instant};

use eframe::egui;
use egui_extras::{Column, TableBuilder};
use tessera_client::types;

use super::Net;
use crate::widgets::{field, when};
use crate::worker::{AuditQuery, Request};

pub const KINDS: [&str; 17] = [
    "login_succeeded",
    "login_failed",
    "account_locked",
    "reuse_detected",
    "family_revoked",
    "key_created",
    "key_rotated",
    "key_retired",
    "user_created",
    "user_updated",
    "user_deleted",
    "client_created",
    "client_updated",
    "client_removed",
    "client_secret_rotated",
    "admin_action",
    "token_refreshed",
];

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

impl Audit {
    pub fn load(&mut self, net: &mut Net) {
        self.last_load = Some(Instant::now());
        net.send(Request::Audit(self.query.clone()));
    }

    pub fn show(&mut self, ui: &mut egui::Ui, net: &mut Net) {
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
            egui::ComboBox::from_id_salt("kind")
                .selected_text(if self.query.kind.is_empty() {
                    "any".to_owned()
                } else {
                    self.query.kind.clone()
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.query.kind, String::new(), "any");
                    for k in KINDS {
                        ui.selectable_value(&mut self.query.kind, k.to_owned(), k);
                    }
                });
            field(ui, "User ID", &mut self.query.user_id);
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
                            let t = egui::RichText::new(&e.kind);
                            ui.label(if e.kind == "reuse_detected" {
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
