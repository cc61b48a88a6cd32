use eframe::egui::{self, RichText};
use egui_plot::{Legend, Line, Plot, PlotPoints};
use tessera_client::types;

use super::Net;
use crate::widgets::danger;
use crate::worker::Request;

#[derive(Default)]
pub struct Dashboard {
    pub stats: Option<types::Stats>,
    pub range: String,
}

impl Dashboard {
    pub fn load(&self, net: &mut Net) {
        let range = if self.range.is_empty() {
            "hour".into()
        } else {
            self.range.clone()
        };
        net.send(Request::Stats { range });
    }

    pub fn show(&mut self, ui: &mut egui::Ui, net: &mut Net) {
        ui.horizontal(|ui| {
            ui.heading("Dashboard");
            for (r, label) in [("hour", "Last hour"), ("week", "Last week")] {
                let selected = self.range == r || (self.range.is_empty() && r == "hour");
                if ui.selectable_label(selected, label).clicked() {
                    self.range = r.into();
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
                         See Sessions, reason reuse_detected.",
                        s.recent_reuse_detections
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
