//! Small shared pieces of UI.

use eframe::egui::{self, Color32, RichText};

use crate::vocab::Vocab;

pub type Time = chrono::DateTime<chrono::Utc>;

pub fn when(t: &Time) -> String {
    t.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

pub fn when_opt(t: &Option<Time>) -> String {
    t.as_ref().map_or_else(|| "-".to_owned(), when)
}

/// A number of seconds in the largest unit that divides it: `90s`, `5m`, `12h`, `14d`.
pub fn span(seconds: i64) -> String {
    match seconds {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

pub fn error_text(ui: &mut egui::Ui, text: &str) {
    ui.label(RichText::new(text).color(ui.visuals().error_fg_color));
}

pub fn danger() -> Color32 {
    Color32::from_rgb(0xd0, 0x3b, 0x3b)
}

/// A labelled single-line text field; the label names it for screen readers and tests.
pub fn field(ui: &mut egui::Ui, label: &str, value: &mut String) -> egui::Response {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.text_edit_singleline(value).labelled_by(l.id)
    })
    .inner
}

/// A secret shown once, with a copy button.
pub fn shown_once(ui: &mut egui::Ui, what: &str, secret: &str) -> bool {
    let mut dismissed = false;
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.label(RichText::new(format!("{what} (shown once, copy it now):")).strong());
        ui.horizontal(|ui| {
            ui.monospace(secret);
            if ui.button("Copy").clicked() {
                ui.ctx().copy_text(secret.to_owned());
            }
            if ui.button("Done").clicked() {
                dismissed = true;
            }
        });
    });
    dismissed
}

/// "Previous page" / "Next page" for a cursor-paged list. `history` holds the cursors of
/// the pages before the current one. Returns true when the cursor changed (reload).
pub fn pager(
    ui: &mut egui::Ui,
    history: &mut Vec<Option<String>>,
    cursor: &mut Option<String>,
    next: Option<&String>,
) -> bool {
    let mut changed = false;
    ui.horizontal(|ui| {
        if !history.is_empty() && ui.button("Previous page").clicked() {
            *cursor = history.pop().flatten();
            changed = true;
        }
        if let Some(next) = next
            && ui.button("Next page").clicked()
        {
            history.push(cursor.take());
            *cursor = Some(next.clone());
            changed = true;
        }
    });
    changed
}

/// A drop-down over every value of one of the server's vocabularies.
pub fn choose<T: Vocab>(ui: &mut egui::Ui, id: &str, value: &mut T) {
    egui::ComboBox::from_id_salt(id)
        .selected_text(value.to_string())
        .show_ui(ui, |ui| {
            for v in T::ALL {
                ui.selectable_value(value, *v, v.to_string());
            }
        });
}

/// [`choose`] after a label that names it (for screen readers and tests); `id` keeps
/// two such choices on one screen apart. Lay it out in a row (`ui.horizontal`).
pub fn choose_labelled<T: Vocab>(ui: &mut egui::Ui, label: &str, id: &str, value: &mut T) {
    let l = ui.label(label);
    egui::ComboBox::from_id_salt(id)
        .selected_text(value.to_string())
        .show_ui(ui, |ui| {
            for v in T::ALL {
                ui.selectable_value(value, *v, v.to_string());
            }
        })
        .response
        .labelled_by(l.id);
}

/// Like [`choose`], with "any" first (no filter).
pub fn choose_any<T: Vocab>(ui: &mut egui::Ui, id: &str, value: &mut Option<T>) {
    egui::ComboBox::from_id_salt(id)
        .selected_text(value.map_or_else(|| "any".to_owned(), |v| v.to_string()))
        .show_ui(ui, |ui| {
            ui.selectable_value(value, None, "any");
            for v in T::ALL {
                ui.selectable_value(value, Some(*v), v.to_string());
            }
        });
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn spans_use_the_largest_whole_unit() {
        assert_eq!(span(0), "0s");
        assert_eq!(span(10), "10s");
        assert_eq!(span(90), "90s");
        assert_eq!(span(300), "5m");
        assert_eq!(span(7_200), "2h");
        assert_eq!(span(1_209_600), "14d");
        assert_eq!(span(2_592_000), "30d");
    }
}
