use eframe::egui;
use egui_extras::{Column, TableBuilder};
use tessera_client::types::{self, KeyState, SigningAlg};

use super::{Net, ScreenState};
use crate::api::{Api, ApiError, call};
use crate::widgets::{choose, when, when_opt};
use crate::worker::Failure;

/// What the keys screen asks the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    List,
    Rotate { alg: SigningAlg },
    Retire { kid: String },
}

#[derive(Debug, Clone)]
pub enum Answer {
    List(types::KeyList),
    Rotated(types::KeyView),
    Retired(types::KeyView),
}

impl Ask {
    pub fn what(&self) -> &'static str {
        match self {
            Ask::List => "load keys",
            Ask::Rotate { .. } => "rotate key",
            Ask::Retire { .. } => "retire key",
        }
    }

    pub(crate) async fn run(self, api: &mut Api) -> Result<Answer, ApiError> {
        Ok(match self {
            Ask::List => Answer::List(call!(api, |c| c.admin_list_keys().send())?),
            Ask::Rotate { alg } => {
                let body = types::RotateKey { alg: Some(alg) };
                Answer::Rotated(call!(api, |c| c
                    .admin_rotate_key()
                    .body(body.clone())
                    .send())?)
            }
            Ask::Retire { kid } => Answer::Retired(call!(api, |c| c
                .admin_retire_key()
                .kid(kid.clone())
                .send())?),
        })
    }
}

pub struct Keys {
    pub list: Option<types::KeyList>,
    /// The algorithm of the next rotation.
    pub alg: SigningAlg,
}

impl Default for Keys {
    fn default() -> Self {
        Keys {
            list: None,
            alg: SigningAlg::Es256,
        }
    }
}

impl ScreenState for Keys {
    type Ask = Ask;
    type Answer = Answer;

    fn load(&mut self, net: &mut Net<'_, Ask>) {
        net.send(Ask::List);
    }

    fn on_answer(&mut self, answer: Result<Answer, Failure<Ask>>, net: &mut Net<'_, Ask>) {
        match answer {
            Ok(Answer::List(k)) => self.list = Some(k),
            Ok(Answer::Rotated(k)) => {
                net.info(format!("New {} key {}", k.alg, k.kid));
                self.load(net);
            }
            Ok(Answer::Retired(k)) => {
                net.info(format!("Retired {}", k.kid));
                self.load(net);
            }
            Err(f) => net.failed(f),
        }
    }

    fn show(&mut self, ui: &mut egui::Ui, net: &mut Net<'_, Ask>) {
        ui.horizontal(|ui| {
            ui.heading("Signing keys");
            if ui.button("Refresh").clicked() {
                self.load(net);
            }
        });
        ui.horizontal(|ui| {
            ui.label("Algorithm");
            choose(ui, "alg", &mut self.alg);
            if ui.button("Rotate key").clicked() {
                net.confirm(
                    "Rotate signing key",
                    format!(
                        "Create a new {} key? It is published now and signs after the configured \
                         pre-publication delay; the current key keeps verifying its tokens until they expire.",
                        self.alg
                    ),
                    Ask::Rotate { alg: self.alg },
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
                            ui.label(k.alg.to_string());
                        });
                        row.col(|ui| {
                            ui.label(k.state.to_string());
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
                            if k.state != KeyState::Retired && ui.small_button("Retire").clicked() {
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
                Ask::Retire { kid },
            );
        }
    }
}
