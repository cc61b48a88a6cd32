use eframe::egui::{self, RichText};
use egui_plot::{Legend, Line, Plot, PlotPoints};
use tessera_client::types::{self, StatsRange};

use super::{Net, ScreenState};
use crate::api::{ApiError, call};
use crate::vocab::Vocab;
use crate::widgets::danger;
use crate::worker::Failure;

/// What the dashboard asks the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    Stats { range: StatsRange },
}

#[derive(Debug, Clone)]
pub enum Answer {
    Stats(types::Stats),
}

impl Ask {
    pub fn what(&self) -> &'static str {
        match self {
            Ask::Stats { .. } => "load statistics",
        }
    }

    pub(crate) async fn run(self, api: &mut crate::api::Api) -> Result<Answer, ApiError> {
        Ok(match self {
            Ask::Stats { range } => {
                Answer::Stats(call!(api, |c| c.admin_stats().range(range).send())?)
            }
        })
    }
}

fn range_label(r: StatsRange) -> &'static str {
    match r {
        StatsRange::Hour => "Last hour",
        StatsRange::Week => "Last week",
    }
}

pub struct Dashboard {
    pub stats: Option<types::Stats>,
    pub range: StatsRange,
}

impl Default for Dashboard {
    fn default() -> Self {
        Dashboard {
            stats: None,
            range: StatsRange::Hour,
        }
    }
}

impl ScreenState for Dashboard {
    type Ask = Ask;
    type Answer = Answer;

    fn load(&mut self, net: &mut Net<'_, Ask>) {
        net.send(Ask::Stats { range: self.range });
    }

    fn on_answer(&mut self, answer: Result<Answer, Failure<Ask>>, net: &mut Net<'_, Ask>) {
        match answer {
            Ok(Answer::Stats(s)) => self.stats = Some(s),
            Err(f) => net.failed(f),
        }
    }

    fn show(&mut self, ui: &mut egui::Ui, net: &mut Net<'_, Ask>) {
        ui.horizontal(|ui| {
            ui.heading("Dashboard");
            for &r in StatsRange::ALL {
                if ui
                    .selectable_label(self.range == r, range_label(r))
                    .clicked()
                {
                    self.range = r;
                    self.load(net);
                }
            }
            if ui.button("Refresh").clicked() {
                self.load(net);
            }
        });
        let Some(s) = &self.stats else {
            ui.label("Loading...");
            return;
        };
        if s.recent_reuse_detections > 0 {
            egui::Frame::group(ui.style()).fill(danger().gamma_multiply(0.25)).show(ui, |ui| {
                ui.label(
                    RichText::new(format!(
                        "Alert: Refresh-token reuse detected {} time(s) in the last hour: sessions were revoked. \
                         See Sessions, reason {}.",
                        s.recent_reuse_detections,
                        types::RevokeReason::ReuseDetected
                    ))
                    .strong(),
                );
            });
        }
        ui.horizontal(|ui| {
            for (label, n) in [
                ("Total users", s.totals.users),
                ("Total clients", s.totals.clients),
                ("Live sessions", s.totals.live_families),
                ("Signing keys", s.totals.signing_keys),
            ] {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.vertical(|ui| {
                        ui.label(label);
                        ui.label(RichText::new(n.to_string()).heading());
                    });
                });
            }
        });
        let unit = if s.bucket_seconds >= 3600 {
            "hours ago"
        } else {
            "minutes ago"
        };
        let n = s.points.len() as f64;
        let series = |f: fn(&types::StatsPoint) -> i64| -> Vec<[f64; 2]> {
            s.points
                .iter()
                .enumerate()
                .map(|(i, p)| [i as f64 - n + 1.0, f(p) as f64])
                .collect()
        };
        ui.label(format!(
            "Per {} ({unit})",
            if s.bucket_seconds >= 3600 {
                "hour"
            } else {
                "minute"
            }
        ));
        Plot::new("activity")
            .height(ui.available_height().max(160.0) - 10.0)
            .legend(Legend::default())
            .include_y(0.0)
            .allow_scroll(false)
            .show(ui, |plot| {
                plot.line(Line::new(
                    "sign-ins",
                    PlotPoints::from(series(|p| p.sign_ins)),
                ));
                plot.line(Line::new(
                    "refreshes",
                    PlotPoints::from(series(|p| p.refreshes)),
                ));
                plot.line(Line::new(
                    "failed sign-ins",
                    PlotPoints::from(series(|p| p.failed_logins)),
                ));
                plot.line(Line::new(
                    "reuse detections",
                    PlotPoints::from(series(|p| p.reuse_detections)),
                ));
            });
    }
}
