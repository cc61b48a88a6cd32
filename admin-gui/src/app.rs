//! The application: persisted settings, sign-in, the screen switcher, banners and
//! confirmations, and delivery of each network answer to the screen that asked.

use std::sync::{Arc, OnceLock};

use eframe::egui::{self, RichText};

use crate::api::ApiError;
use crate::screens::{
    Confirm, Goto, Net, ScreenState, audit, clients, dashboard, keys, sessions, users,
};
use crate::widgets::error_text;
use crate::worker::{Reply, Request, Worker};

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
    /// On the sessions screen: the browser sign-ins (else the reuse-detected families).
    pub signins: bool,
    /// On the clients screen: open this client's editor once the list is in.
    pub edit_client: Option<String>,
}

/// What screens share: the banner, the confirmation waiting for a yes, navigation
/// asked for, and the worker their requests go to.
pub struct Shell {
    pub banner: Option<Banner>,
    pub confirm: Option<Confirm>,
    pub goto: Option<Goto>,
    worker: Worker,
}

impl Shell {
    pub fn send(&mut self, r: Request) {
        self.worker.send(r);
    }

    /// Whether a request is still on its way.
    pub fn busy(&self) -> bool {
        self.worker.busy()
    }
}

/// The state of every screen; one is shown at a time, but every screen keeps getting
/// the answers to what it asked.
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
    fn load(&mut self, screen: Screen, shell: &mut Shell) {
        match screen {
            Screen::Dashboard => self
                .dashboard
                .load(&mut Net::new(shell, Request::Dashboard)),
            Screen::Users => self.users.load(&mut Net::new(shell, Request::Users)),
            Screen::Clients => self.clients.load(&mut Net::new(shell, Request::Clients)),
            Screen::Keys => self.keys.load(&mut Net::new(shell, Request::Keys)),
            Screen::Sessions => self.sessions.load(&mut Net::new(shell, Request::Sessions)),
            Screen::Audit => self.audit.load(&mut Net::new(shell, Request::Audit)),
        }
    }

    fn show(&mut self, screen: Screen, ui: &mut egui::Ui, shell: &mut Shell) {
        match screen {
            Screen::Dashboard => self
                .dashboard
                .show(ui, &mut Net::new(shell, Request::Dashboard)),
            Screen::Users => self.users.show(ui, &mut Net::new(shell, Request::Users)),
            Screen::Clients => self
                .clients
                .show(ui, &mut Net::new(shell, Request::Clients)),
            Screen::Keys => self.keys.show(ui, &mut Net::new(shell, Request::Keys)),
            Screen::Sessions => self
                .sessions
                .show(ui, &mut Net::new(shell, Request::Sessions)),
            Screen::Audit => self.audit.show(ui, &mut Net::new(shell, Request::Audit)),
        }
    }

    /// Hands a screen's answer to that screen, shown or not. Sign-in and sign-out are
    /// the app's (see [`AdminApp::deliver`]).
    fn deliver(&mut self, reply: Reply, shell: &mut Shell) {
        match reply {
            Reply::SignedIn(_) | Reply::SignedOut(_) => {}
            Reply::Dashboard(a) => self
                .dashboard
                .on_answer(a, &mut Net::new(shell, Request::Dashboard)),
            Reply::Users(a) => self
                .users
                .on_answer(a, &mut Net::new(shell, Request::Users)),
            Reply::Clients(a) => self
                .clients
                .on_answer(a, &mut Net::new(shell, Request::Clients)),
            Reply::Keys(a) => self.keys.on_answer(a, &mut Net::new(shell, Request::Keys)),
            Reply::Sessions(a) => self
                .sessions
                .on_answer(a, &mut Net::new(shell, Request::Sessions)),
            Reply::Audit(a) => self
                .audit
                .on_answer(a, &mut Net::new(shell, Request::Audit)),
        }
    }
}

pub struct AdminApp {
    pub persisted: Persisted,
    pub password: String,
    pub signed_in: bool,
    pub signing_in: bool,
    pub login_error: Option<String>,
    pub shell: Shell,
    pub screens: Screens,
    pub autostart: Option<Autostart>,
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
            shell: Shell {
                banner: None,
                confirm: None,
                goto: None,
                worker,
            },
            screens: Screens::default(),
            autostart: None,
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
        self.shell.busy()
    }

    fn sign_in(&mut self) {
        self.login_error = None;
        self.signing_in = true;
        self.shell.send(Request::SignIn {
            url: self.persisted.server_url.trim().to_owned(),
            username: self.persisted.username.trim().to_owned(),
            password: std::mem::take(&mut self.password),
        });
    }

    fn load_screen(&mut self) {
        self.screens.load(self.persisted.screen, &mut self.shell);
    }

    /// Shows a screen and asks for its data.
    pub fn open(&mut self, s: Screen) {
        self.persisted.screen = s;
        self.load_screen();
    }

    /// One answer from the worker. The app keeps what is app-wide (signing in and out,
    /// an ended session); everything else goes to the screen that asked.
    fn deliver(&mut self, reply: Reply) {
        if let Some(e @ ApiError::SessionEnded(_)) = reply.error() {
            if self.signed_in {
                self.signed_in = false;
                self.login_error = Some(e.to_string());
            }
            // Requests still queued when the session ended fail the same way: nothing
            // more to say.
            return;
        }
        match reply {
            Reply::SignedIn(Ok(())) => {
                self.signed_in = true;
                self.signing_in = false;
                self.shell.banner = None;
                self.load_screen();
            }
            Reply::SignedIn(Err(e)) => {
                self.signing_in = false;
                self.login_error = Some(e.to_string());
            }
            Reply::SignedOut(r) => {
                self.signed_in = false;
                if let Err(e) = r {
                    self.login_error = Some(format!(
                        "Signed out here, but the server did not confirm that the session \
                         ended ({e}). It stays valid until it expires; end it from the \
                         Sessions tab."
                    ));
                }
            }
            other => self.screens.deliver(other, &mut self.shell),
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
                if s == Screen::Sessions && a.signins {
                    self.screens.sessions.view = crate::screens::sessions::View::Signins;
                } else if s == Screen::Sessions {
                    self.screens.sessions.query.reason =
                        Some(tessera_client::types::RevokeReason::ReuseDetected);
                    self.screens.sessions.select_first = true;
                }
                if s == Screen::Clients {
                    self.screens.clients.edit_on_load = a.edit_client;
                }
            }
            self.sign_in();
        }
        for r in self.shell.worker.poll() {
            self.deliver(r);
        }
        if let Some(Goto::SessionsOfUser { id, username }) = self.shell.goto.take() {
            self.screens.sessions.of_user(&id, &username);
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
                        self.shell.send(Request::SignOut);
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
        if let Some(b) = self.shell.banner.clone() {
            egui::Panel::bottom("banner").show(ui, |ui| {
                ui.horizontal(|ui| {
                    match &b {
                        Banner::Error(m) => error_text(ui, m),
                        Banner::Info(m) => {
                            ui.label(RichText::new(m));
                        }
                    }
                    if ui.small_button("Dismiss").clicked() {
                        self.shell.banner = None;
                    }
                });
            });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            let screen = self.persisted.screen;
            let (screens, shell) = (&mut self.screens, &mut self.shell);
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| screens.show(screen, ui, shell));
        });
        self.confirm_ui(ui);
    }

    fn confirm_ui(&mut self, ui: &mut egui::Ui) {
        let Some(c) = &self.shell.confirm else {
            return;
        };
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
                if let Some(c) = self.shell.confirm.take() {
                    self.shell.send(c.request);
                }
            }
            Some(false) => self.shell.confirm = None,
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
