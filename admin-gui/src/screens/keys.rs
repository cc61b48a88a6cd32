use eframe::egui;
use egui_extras::{Column, TableBuilder};
use tessera_client::types;

use super::Net;
use crate::widgets::{when, when_opt};
use crate::worker::Request;

#[derive(Default)]
pub struct Keys {
    pub list: Option<types::KeyList>,
    pub alg: String,
}

impl Keys {
    pub fn load(&self, net: &mut Net) {
        net.send(Request::Keys);
    }

    pub fn show(&mut self, ui: &mut egui::Ui, net: &mut Net) {
        if self.alg.is_empty() {
            self.alg = "ES256".into();
        }
        ui.horizontal(|ui| {
            ui.heading("Signing keys");
            if ui.button("Refresh").clicked() {
                self.load(net);
            }
        });
        ui.horizontal(|ui| {
            ui.label("Algorithm");
            egui::ComboBox::from_id_salt("alg")
                .selected_text(self.alg.clone())
                .show_ui(ui, |ui| {
                    for a in ["ES256", "EdDSA", "RS256"] {
                        ui.selectable_value(&mut self.alg, a.to_owned(), a);
                    }
                });
            if ui.button("Rotate key").clicked() {
                net.confirm(
                    "Rotate signing key",
                    format!(
                        "Create a new {} key? It is published now and signs after the configured \
                         pre-publication delay; the current key keeps verifying its tokens until they expire.",
                        self.alg
                    ),
                    Request::RotateKey { alg: self.alg.clone() },
                );
            }
        });
        ui.separator();
        let Some(list) = &self.list else {
            ui.label("Loading...");
            return;
        };
        let mut retire: Option<(String, u64)> = None;
        TableBuilder::new(ui)
            .id_salt("keys")
            .striped(true)
            .column(Column::auto().at_least(200.0))
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::auto())
            .column(Column::remainder())
            .header(20.0, |mut h| {
                for t in [
                    "Key ID",
                    "Alg",
                    "State",
                    "Created",
                    "Signs from",
                    "Stops signing",
                    "Unexpired tokens",
                    "",
                ] {
                    h.col(|ui| {
                        ui.strong(t);
                    });
                }
            })
            .body(|mut body| {
                for k in &list.items {
                    body.row(22.0, |mut row| {
                        row.col(|ui| {
                            ui.monospace(&k.kid);
                        });
                        row.col(|ui| {
                            ui.label(&k.alg);
                        });
                        row.col(|ui| {
                            ui.label(&k.state);
                        });
                        row.col(|ui| {
                            ui.label(when(&k.created_at));
                        });
                        row.col(|ui| {
                            ui.label(when(&k.activate_at));
                        });
                        row.col(|ui| {
                            ui.label(when_opt(&k.retired_at));
                        });
                        row.col(|ui| {
                            ui.label(k.unexpired_tokens.to_string());
                        });
                        row.col(|ui| {
                            if k.state != "retired" && ui.small_button("Retire").clicked() {
                                retire = Some((k.kid.clone(), k.unexpired_tokens));
                            }
                        });
                    });
                }
            });
        if let Some((kid, n)) = retire {
            net.confirm(
                "Retire key",
                format!(
                    "Retire {kid} now? It leaves the JWKS at once: {n} access token(s) it signed \
                     that have not expired will stop verifying."
                ),
                Request::RetireKey { kid },
            );
        }
    }
}
