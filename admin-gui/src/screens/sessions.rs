use eframe::egui::{self, Color32, RichText};
use egui_extras::{Column, TableBuilder};
use tessera_client::types;

use super::Net;
use crate::widgets::{danger, field, when, when_opt};
use crate::worker::{FamilyQuery, Request};

const REASONS: [&str; 6] = [
    "reuse_detected",
    "logout",
    "admin",
    "password_changed",
    "user_disabled",
    "client_removed",
];

#[derive(Default)]
pub struct Sessions {
    pub page: Option<types::FamilyPage>,
    pub query: FamilyQuery,
    pub history: Vec<Option<String>>,
    pub selected: Option<Box<types::FamilyDetail>>,
    /// Open the newest family of the next page (used when arriving from a link).
    pub select_first: bool,
}

impl Sessions {
    pub fn load(&self, net: &mut Net) {
        net.send(Request::Families(self.query.clone()));
    }

    pub fn show(&mut self, ui: &mut egui::Ui, net: &mut Net) {
        ui.horizontal(|ui| {
            ui.heading("Sessions (refresh families)");
            if ui.button("Refresh").clicked() {
                self.load(net);
            }
        });
        ui.horizontal(|ui| {
            field(ui, "User ID", &mut self.query.user_id);
            field(ui, "Client ID", &mut self.query.client_id);
            ui.label("State");
            egui::ComboBox::from_id_salt("state")
                .selected_text(if self.query.state.is_empty() {
                    "any".to_owned()
                } else {
                    self.query.state.clone()
                })
                .show_ui(ui, |ui| {
                    for s in ["", "active", "revoked", "expired"] {
                        ui.selectable_value(
                            &mut self.query.state,
                            s.to_owned(),
                            if s.is_empty() { "any" } else { s },
                        );
                    }
                });
            ui.label("Reason");
            egui::ComboBox::from_id_salt("reason")
                .selected_text(if self.query.reason.is_empty() {
                    "any".to_owned()
                } else {
                    self.query.reason.clone()
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.query.reason, String::new(), "any");
                    for r in REASONS {
                        ui.selectable_value(&mut self.query.reason, r.to_owned(), r);
                    }
                });
            if ui.button("Apply").clicked() {
                self.query.cursor = None;
                self.history.clear();
                self.load(net);
            }
        });
        ui.separator();
        if let Some(detail) = &self.selected {
            self.detail(ui, net, detail.clone());
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
                                None => f.state.clone(),
                            };
                            let t = RichText::new(text);
                            ui.label(if f.revoke_reason.as_deref() == Some("reuse_detected") {
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
                                if f.state == "active" && ui.small_button("Revoke").clicked() {
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
            net.send(Request::Family { id });
        }
        if let Some((id, who)) = revoke {
            net.confirm(
                "Revoke session",
                format!("Revoke this session of {who}? Its refresh token stops working at once."),
                Request::RevokeFamily { id },
            );
        }
    }

    /// The selected family's token chain as a timeline, the replayed generation marked.
    fn detail(&mut self, ui: &mut egui::Ui, net: &mut Net, d: Box<types::FamilyDetail>) {
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
                if f.state == "active" && ui.button("Revoke this session").clicked() {
                    net.confirm(
                        "Revoke session",
                        "Revoke this session? Its refresh token stops working at once.".into(),
                        Request::RevokeFamily { id: f.id.clone() },
                    );
                }
                if let Some(uid) = &f.user_id
                    && ui.button("Revoke all of this user's sessions").clicked()
                {
                    net.confirm(
                        "Revoke all sessions",
                        format!(
                            "End every session of {}?",
                            f.username.clone().unwrap_or_else(|| uid.clone())
                        ),
                        Request::RevokeUserSessions { id: uid.clone() },
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
                    t.state,
                    when(&t.issued_at),
                    when_opt(&t.used_at),
                    t.ip.clone().unwrap_or_default(),
                    t.user_agent.clone().unwrap_or_default()
                );
                let mut text = RichText::new(line).monospace();
                if t.replayed {
                    text = text.color(Color32::WHITE).background_color(danger()).strong();
                } else if t.state == "active" {
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
