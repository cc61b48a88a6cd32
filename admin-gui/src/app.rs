//! The application: persisted settings, sign-in, the screen switcher, banners and
//! confirmations, and routing of network responses to screens.

use std::sync::{Arc, OnceLock};

use eframe::egui::{self, RichText};

use crate::api::ApiError;
use crate::screens::{Confirm, Goto, Net, audit, clients, dashboard, keys, sessions, users};
use crate::widgets::error_text;
use crate::worker::{Request, Response, Worker};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Screen {
    #[default]
    Dashboard,
    Users,
    Clients,
    Keys,
    Sessions,
    Audit,
}

impl Screen {
    pub const ALL: [Screen; 6] = [
        Screen::Dashboard,
        Screen::Users,
        Screen::Clients,
        Screen::Keys,
        Screen::Sessions,
        Screen::Audit,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Screen::Dashboard => "Dashboard",
            Screen::Users => "Users",
            Screen::Clients => "Clients",
            Screen::Keys => "Keys",
            Screen::Sessions => "Sessions",
            Screen::Audit => "Audit",
        }
    }

    pub fn parse(s: &str) -> Option<Screen> {
        Screen::ALL
            .into_iter()
            .find(|x| x.title().eq_ignore_ascii_case(s))
    }
}

/// What survives a restart (eframe persistence). Never a password or a token.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Persisted {
    pub server_url: String,
    pub username: String,
    pub dark_mode: bool,
    pub screen: Screen,
}

impl Default for Persisted {
    fn default() -> Self {
        Persisted {
            server_url: "http://127.0.0.1:8080".into(),
            username: "admin".into(),
            dark_mode: true,
            screen: Screen::Dashboard,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Banner {
    Error(String),
    Info(String),
}

/// Sign in at start without typing (for demos and screenshots).
#[derive(Debug, Clone)]
pub struct Autostart {
    pub password: String,
    pub screen: Option<Screen>,
}

/// The state of every screen; one is shown at a time.
#[derive(Default)]
pub struct Screens {
    pub dashboard: dashboard::Dashboard,
    pub users: users::Users,
    pub clients: clients::Clients,
    pub keys: keys::Keys,
    pub sessions: sessions::Sessions,
    pub audit: audit::Audit,
}

impl Screens {
    fn load(&mut self, screen: Screen, net: &mut Net) {
        match screen {
            Screen::Dashboard => self.dashboard.load(net),
            Screen::Users => self.users.load(net),
            Screen::Clients => self.clients.load(net),
            Screen::Keys => self.keys.load(net),
            Screen::Sessions => self.sessions.load(net),
            Screen::Audit => self.audit.load(net),
        }
    }

    fn show(&mut self, screen: Screen, ui: &mut egui::Ui, net: &mut Net) {
        match screen {
            Screen::Dashboard => self.dashboard.show(ui, net),
            Screen::Users => self.users.show(ui, net),
            Screen::Clients => self.clients.show(ui, net),
            Screen::Keys => self.keys.show(ui, net),
            Screen::Sessions => self.sessions.show(ui, net),
            Screen::Audit => self.audit.show(ui, net),
        }
    }
}

pub struct AdminApp {
    pub persisted: Persisted,
    pub password: String,
    pub signed_in: bool,
    pub signing_in: bool,
    pub login_error: Option<String>,
    pub banner: Option<Banner>,
    pub confirm: Option<Confirm>,
    pub goto: Option<Goto>,
    pub screens: Screens,
    pub autostart: Option<Autostart>,
    worker: Worker,
    ctx: Arc<OnceLock<egui::Context>>,
    theme_applied: Option<bool>,
}

impl AdminApp {
    pub fn new(persisted: Persisted) -> AdminApp {
        let ctx: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
        let wake = ctx.clone();
        let worker = Worker::start(move || {
            if let Some(c) = wake.get() {
                c.request_repaint();
            }
        });
        AdminApp {
            persisted,
            password: String::new(),
            signed_in: false,
            signing_in: false,
            login_error: None,
            banner: None,
            confirm: None,
            goto: None,
            screens: Screens::default(),
            autostart: None,
            worker,
            ctx,
            theme_applied: None,
        }
    }

    pub fn from_creation_context(cc: &eframe::CreationContext<'_>) -> AdminApp {
        let persisted = cc
            .storage
            .and_then(|s| eframe::get_value::<Persisted>(s, eframe::APP_KEY))
            .unwrap_or_default();
        AdminApp::new(persisted)
    }

    /// Whether a request is still on its way.
    pub fn busy(&self) -> bool {
        self.worker.busy()
    }

    fn sign_in(&mut self) {
        self.login_error = None;
        self.signing_in = true;
        self.worker.send(Request::SignIn {
            url: self.persisted.server_url.trim().to_owned(),
            username: self.persisted.username.trim().to_owned(),
            password: std::mem::take(&mut self.password),
        });
    }

    fn load_screen(&mut self) {
        let screen = self.persisted.screen;
        let (screens, mut net) = self.parts();
        screens.load(screen, &mut net);
    }

    /// The screens and what they may use, borrowed apart.
    fn parts(&mut self) -> (&mut Screens, Net<'_>) {
        (
            &mut self.screens,
            Net {
                worker: &mut self.worker,
                confirm: &mut self.confirm,
                goto: &mut self.goto,
            },
        )
    }

    fn open(&mut self, s: Screen) {
        self.persisted.screen = s;
        self.load_screen();
    }

    fn handle(&mut self, r: Response) {
        match r {
            Response::SignedIn => {
                self.signed_in = true;
                self.signing_in = false;
                self.banner = None;
                self.load_screen();
            }
            Response::SignedOut => {
                self.signed_in = false;
            }
            Response::Stats(s) => self.screens.dashboard.stats = Some(s),
            Response::Users(p) => self.screens.users.page = Some(p),
            Response::UserCreated(c) => {
                self.banner = Some(Banner::Info(format!("Created user {}", c.user.username)));
                self.screens.users.created(&c);
                let (screens, mut net) = self.parts();
                screens.users.load(&mut net);
            }
            Response::UserChanged(m) => {
                self.banner = Some(Banner::Info(m));
                self.load_screen();
            }
            Response::PasswordSet { generated } => {
                self.banner = Some(Banner::Info(
                    "Password set; the user's sessions ended".into(),
                ));
                if let Some(p) = generated {
                    self.screens.users.secret = Some(("New password".into(), p));
                }
                self.load_screen();
            }
            Response::Clients(p) => self.screens.clients.page = Some(p),
            Response::ClientCreated(c) => {
                self.banner = Some(Banner::Info(format!(
                    "Created client {}",
                    c.client.client_id
                )));
                self.screens.clients.created(&c);
                self.load_screen();
            }
            Response::SecretRotated { client_id, secret } => {
                self.screens.clients.secret = Some((format!("New secret of {client_id}"), secret));
                self.load_screen();
            }
            Response::ClientChanged(m) | Response::KeyChanged(m) => {
                self.banner = Some(Banner::Info(m));
                self.load_screen();
            }
            Response::Keys(k) => self.screens.keys.list = Some(k),
            Response::Families(p) => {
                if self.screens.sessions.select_first {
                    self.screens.sessions.select_first = false;
                    if let Some(f) = p.items.first() {
                        self.worker.send(Request::Family { id: f.id.clone() });
                    }
                }
                self.screens.sessions.page = Some(p);
            }
            Response::Family(d) => self.screens.sessions.selected = Some(d),
            Response::FamilyRevoked(f) => {
                self.banner = Some(Banner::Info(format!(
                    "Revoked the session of {}",
                    f.username.clone().unwrap_or_else(|| f.client_id.clone())
                )));
                if self
                    .screens
                    .sessions
                    .selected
                    .as_ref()
                    .is_some_and(|d| d.family.id == f.id)
                {
                    self.worker.send(Request::Family { id: f.id.clone() });
                }
                self.load_screen();
            }
            Response::Audit(p) => self.screens.audit.page = Some(p),
            Response::Failed { what, error } => self.failed(what, error),
        }
    }

    fn failed(&mut self, what: &'static str, error: ApiError) {
        match &error {
            ApiError::SessionEnded(_) if self.signed_in => {
                self.signed_in = false;
                self.login_error = Some(error.to_string());
            }
            _ if what == "sign in" => {
                self.signing_in = false;
                self.login_error = Some(error.to_string());
            }
            ApiError::Rejected { field, message, .. } if what == "create client" => {
                self.screens.clients.rejected(field.as_deref(), message);
            }
            ApiError::Rejected { message, .. } if what == "create user" => {
                self.screens.users.form_error = Some(message.clone());
            }
            _ => self.banner = Some(Banner::Error(format!("Could not {what}: {error}"))),
        }
    }

    /// The whole UI; `App::ui` calls it, and so do the UI tests.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let _ = self.ctx.set(ui.ctx().clone());
        if self.theme_applied != Some(self.persisted.dark_mode) {
            ui.ctx().set_theme(if self.persisted.dark_mode {
                egui::Theme::Dark
            } else {
                egui::Theme::Light
            });
            self.theme_applied = Some(self.persisted.dark_mode);
        }
        if let Some(a) = self.autostart.take() {
            self.password = a.password;
            if let Some(s) = a.screen {
                self.persisted.screen = s;
                if s == Screen::Sessions {
                    self.screens.sessions.query.reason = "reuse_detected".into();
                    self.screens.sessions.select_first = true;
                }
            }
            self.sign_in();
        }
        for r in self.worker.poll() {
            self.handle(r);
        }
        if let Some(Goto::SessionsOfUser(id)) = self.goto.take() {
            self.screens.sessions.query = Default::default();
            self.screens.sessions.query.user_id = id;
            self.screens.sessions.selected = None;
            self.open(Screen::Sessions);
        }
        if self.signed_in {
            self.main_ui(ui);
        } else {
            self.login_ui(ui);
        }
    }

    fn login_ui(&mut self, ui: &mut egui::Ui) {
        egui::CentralPanel::default().show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.add_space(60.0);
                ui.heading("Tessera admin");
                ui.add_space(20.0);
            });
            egui::Grid::new("login")
                .num_columns(2)
                .spacing([12.0, 8.0])
                .show(ui, |ui| {
                    let l = ui.label("Server URL");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.persisted.server_url)
                            .desired_width(320.0),
                    )
                    .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Username");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.persisted.username)
                            .desired_width(320.0),
                    )
                    .labelled_by(l.id);
                    ui.end_row();
                    let l = ui.label("Password");
                    let r = ui
                        .add(
                            egui::TextEdit::singleline(&mut self.password)
                                .password(true)
                                .desired_width(320.0),
                        )
                        .labelled_by(l.id);
                    let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    ui.end_row();
                    ui.label("");
                    ui.horizontal(|ui| {
                        let clicked = ui
                            .add_enabled(!self.signing_in, egui::Button::new("Sign in"))
                            .clicked();
                        if (clicked || enter) && !self.signing_in {
                            self.sign_in();
                        }
                        if self.signing_in {
                            ui.spinner();
                        }
                    });
                    ui.end_row();
                });
            if let Some(e) = &self.login_error {
                error_text(ui, e);
            }
        });
    }

    fn main_ui(&mut self, ui: &mut egui::Ui) {
        let shortcut = ui.input(|i| {
            if !i.modifiers.command {
                return None;
            }
            [
                egui::Key::Num1,
                egui::Key::Num2,
                egui::Key::Num3,
                egui::Key::Num4,
                egui::Key::Num5,
                egui::Key::Num6,
            ]
            .iter()
            .position(|k| i.key_pressed(*k))
        });
        if let Some(n) = shortcut {
            self.open(Screen::ALL[n]);
        }
        egui::Panel::top("top").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.strong("Tessera");
                ui.separator();
                for (i, s) in Screen::ALL.into_iter().enumerate() {
                    let r = ui
                        .selectable_label(self.persisted.screen == s, s.title())
                        .on_hover_text(format!("Ctrl+{}", i + 1));
                    if r.clicked() {
                        self.open(s);
                    }
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button("Sign out").clicked() {
                        self.worker.send(Request::SignOut);
                        self.signed_in = false;
                    }
                    let theme = if self.persisted.dark_mode {
                        "Light theme"
                    } else {
                        "Dark theme"
                    };
                    if ui.button(theme).clicked() {
                        self.persisted.dark_mode = !self.persisted.dark_mode;
                    }
                    ui.label(format!(
                        "{} @ {}",
                        self.persisted.username, self.persisted.server_url
                    ));
                    if self.busy() {
                        ui.spinner();
                    }
                });
            });
        });
        if let Some(b) = self.banner.clone() {
            egui::Panel::bottom("banner").show(ui, |ui| {
                ui.horizontal(|ui| {
                    match &b {
                        Banner::Error(m) => error_text(ui, m),
                        Banner::Info(m) => {
                            ui.label(RichText::new(m));
                        }
                    }
                    if ui.small_button("Dismiss").clicked() {
                        self.banner = None;
                    }
                });
            });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            let screen = self.persisted.screen;
            let (screens, mut net) = self.parts();
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| screens.show(screen, ui, &mut net));
        });
        self.confirm_ui(ui);
    }

    fn confirm_ui(&mut self, ui: &mut egui::Ui) {
        let Some(c) = &self.confirm else { return };
        let mut decided: Option<bool> = None;
        egui::Modal::new(egui::Id::unique("confirm")).show(ui.ctx(), |ui| {
            ui.set_max_width(420.0);
            ui.heading(&c.title);
            ui.label(&c.message);
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button("Confirm").clicked() {
                    decided = Some(true);
                }
                if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                    decided = Some(false);
                }
            });
        });
        match decided {
            Some(true) => {
                if let Some(c) = self.confirm.take() {
                    self.worker.send(c.request);
                }
            }
            Some(false) => self.confirm = None,
            None => {}
        }
    }
}

impl eframe::App for AdminApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.persisted);
    }
}
