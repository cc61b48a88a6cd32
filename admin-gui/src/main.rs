use eframe::egui;
use tessera_admin::{AdminApp, Autostart, Screen};

fn main() -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Tessera admin")
            .with_app_id("tessera-admin")
            .with_inner_size([1200.0, 760.0])
            .with_min_inner_size([720.0, 480.0]),
        ..Default::default()
    };
    eframe::run_native(
        "tessera-admin",
        options,
        Box::new(|cc| {
            let mut app = AdminApp::from_creation_context(cc);
            // Optional non-interactive start (demos, screenshots): sign in at once.
            if let Ok(url) = std::env::var("TESSERA_ADMIN_URL") {
                app.persisted.server_url = url;
            }
            if let Ok(user) = std::env::var("TESSERA_ADMIN_USERNAME") {
                app.persisted.username = user;
            }
            if let Ok(password) = std::env::var("TESSERA_ADMIN_PASSWORD") {
                // A screen's title, or `signins`: the sessions screen's browser sign-ins.
                let screen = std::env::var("TESSERA_ADMIN_SCREEN").ok();
                let signins = screen.as_deref() == Some("signins");
                app.autostart = Some(Autostart {
                    password,
                    screen: if signins {
                        Some(Screen::Sessions)
                    } else {
                        screen.and_then(|s| Screen::parse(&s))
                    },
                    signins,
                    edit_client: std::env::var("TESSERA_ADMIN_EDIT_CLIENT").ok(),
                });
            }
            Ok(Box::new(app))
        }),
    )
}
