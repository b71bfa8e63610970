//! Settings: built-in defaults < `config.toml` < `VOXANNE_*` environment < command-line flags, validated once.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

/// A value that must never be printed: `Debug` and `Display` show a placeholder.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("Secret(<empty>)")
        } else {
            f.write_str("Secret(<redacted>)")
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub storage: StorageSettings,
    pub auth: AuthSettings,
    pub vapi: VapiSettings,
    pub google_calendar: GoogleCalendarSettings,
    pub twilio: TwilioSettings,
    pub smtp: SmtpSettings,
    pub search: SearchSettings,
    pub crypto: CryptoSettings,
    pub outbox: OutboxSettings,
    pub pii: PiiSettings,
    pub backup: BackupSettings,
    pub retention: RetentionSettings,
    pub console: ConsoleSettings,
    pub check: CheckSettings,
}

/// What `voxanne check` requires to say GO (the seeds' acceptance criteria by default).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckSettings {
    /// Share of the check's bookings that must succeed (0 to 1).
    pub min_booking_success: f64,
    /// The tool calls' 95th percentile must stay below this many milliseconds.
    pub max_tool_call_p95_ms: f64,
}

impl Default for CheckSettings {
    fn default() -> Self {
        Self {
            min_booking_success: 0.95,
            max_tool_call_p95_ms: 500.0,
        }
    }
}

/// The staff console (`/console/`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleSettings {
    /// Minutes without a request after which a console session ends.
    pub idle_minutes: u64,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self { idle_minutes: 30 }
    }
}

/// How long records that only grow are kept (pruned once a day).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days an unanswered question stays in the review list (0: for ever).
    pub unanswered_days: u32,
    /// Days a booking's tool-call id is remembered, so a retried call finds its booking
    /// (Vapi retries within seconds; 0: for ever).
    pub tool_call_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            unanswered_days: 365,
            tool_call_days: 90,
        }
    }
}

/// Scheduled backups, taken by the running server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupSettings {
    /// Where scheduled backups go; empty: no scheduled backups.
    pub dir: PathBuf,
    /// Hours between scheduled backups.
    pub every_hours: u64,
    /// How many scheduled backups are kept (the oldest go first).
    pub keep: usize,
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::new(),
            every_hours: 24,
            keep: 7,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PiiSettings {
    /// A clinic's own medical terms, one `type: term` a line (type: medical_condition,
    /// medication, procedure or allergy); empty for none.
    pub extra_terms_file: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxSettings {
    pub poll_interval_ms: u64,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            poll_interval_ms: 1000,
            retry_base_ms: 1000,
            retry_max_ms: 300_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: String,
    pub public_url: String,
    pub max_body_bytes: usize,
    pub request_timeout_ms: u64,
    /// Requests served at once; more are answered 503 with `Retry-After` at once, not queued.
    pub max_in_flight: usize,
    /// Reverse proxies (addresses or CIDRs) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<String>,
    /// Client addresses (or CIDRs) `GET /metrics` answers; others get 404.
    pub metrics_from: Vec<String>,
    /// A PEM certificate chain: with `tls_key_file`, HTTPS is served directly on `listen`
    /// (reloaded on SIGHUP). Empty: plain HTTP (loopback, or behind a reverse proxy).
    pub tls_cert_file: PathBuf,
    /// The certificate's PEM private key.
    pub tls_key_file: PathBuf,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            max_body_bytes: 256 * 1024,
            request_timeout_ms: 10_000,
            max_in_flight: 1024,
            trusted_proxies: Vec::new(),
            metrics_from: vec!["127.0.0.0/8".into(), "::1/128".into()],
            tls_cert_file: PathBuf::new(),
            tls_key_file: PathBuf::new(),
        }
    }
}

impl ServerSettings {
    /// The trusted proxies as networks (a bare address is a network of one).
    pub fn proxy_networks(&self) -> Result<Vec<ipnet::IpNet>, String> {
        networks(&self.trusted_proxies)
    }

    /// `metrics_from`, parsed.
    pub fn metrics_networks(&self) -> Result<Vec<ipnet::IpNet>, String> {
        networks(&self.metrics_from)
    }
}

/// Addresses or CIDRs as networks (a bare address is a network of one).
fn networks(list: &[String]) -> Result<Vec<ipnet::IpNet>, String> {
    list.iter()
        .map(|p| {
            let p = p.trim();
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("{p:?} is not an address or CIDR network"))
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    pub data_dir: PathBuf,
    /// Commits go to a write-ahead journal beside the database file (`store::journal`) and
    /// reach the file at background checkpoints (on by default). Off: a journal left by an
    /// earlier start is still replayed, folded into the file and removed at shutdown.
    pub journal: bool,
    /// The size, in MiB, at which the journal's records start going to its other region while
    /// a background checkpoint brings the file up to date (the journal file takes 2.5 times
    /// this).
    pub journal_limit_mb: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            journal: true,
            journal_limit_mb: 64,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    pub token_ttl_minutes: u64,
    pub issuer: String,
    pub login_max_failures_per_email: u32,
    pub login_max_failures_per_client: u32,
    pub login_window_seconds: u64,
    pub login_lockout_seconds: u64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// Whether anyone may create a clinic through `POST /api/auth/signup` (`open`), or only
    /// an operator with `voxanne org create` (`closed`).
    pub signup: SignupPolicy,
    /// Signup attempts allowed per client address, then per email as typed, in
    /// `signup_window_seconds`; one more is 429 with `Retry-After` until the window has passed.
    pub signup_max_per_client: u32,
    pub signup_max_per_email: u32,
    pub signup_window_seconds: u64,
}

/// Who may create clinics over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignupPolicy {
    Open,
    Closed,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            token_ttl_minutes: 60,
            issuer: "voxanne".into(),
            login_max_failures_per_email: 5,
            login_max_failures_per_client: 20,
            login_window_seconds: 900,
            login_lockout_seconds: 900,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            signup: SignupPolicy::Open,
            signup_max_per_client: 10,
            signup_max_per_email: 3,
            signup_window_seconds: 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VapiSettings {
    pub hmac_secret: Secret,
    pub hmac_signature_header: String,
    pub hmac_timestamp_header: String,
    pub hmac_payload_format: String,
    pub hmac_algorithm: String,
    pub hmac_replay_window_seconds: u64,
}

impl Default for VapiSettings {
    fn default() -> Self {
        Self {
            hmac_secret: Secret::default(),
            hmac_signature_header: "x-signature".into(),
            hmac_timestamp_header: "x-timestamp".into(),
            hmac_payload_format: "{timestamp}.{body}".into(),
            hmac_algorithm: "sha256".into(),
            hmac_replay_window_seconds: 300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GoogleCalendarSettings {
    pub enabled: bool,
    pub base_url: String,
    pub token_url: String,
    /// Google's consent page, where a clinic's admin connects the clinic's own calendar.
    pub auth_url: String,
    /// Where a clinic's refresh token is revoked when the admin disconnects.
    pub revoke_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub refresh_token: Secret,
    pub calendar_id: String,
}

impl Default for GoogleCalendarSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            base_url: "https://www.googleapis.com/calendar/v3".into(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            auth_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            revoke_url: "https://oauth2.googleapis.com/revoke".into(),
            client_id: String::new(),
            client_secret: Secret::default(),
            refresh_token: Secret::default(),
            calendar_id: "primary".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioSettings {
    pub enabled: bool,
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: Secret,
    pub from_number: String,
    pub messaging_service_sid: String,
}

impl Default for TwilioSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            base_url: "https://api.twilio.com".into(),
            account_sid: String::new(),
            auth_token: Secret::default(),
            from_number: String::new(),
            messaging_service_sid: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: Secret,
    pub from: String,
    pub tls: String,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            host: "localhost".into(),
            port: 587,
            username: String::new(),
            password: Secret::default(),
            from: "Voxanne <no-reply@localhost>".into(),
            tls: "starttls".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchSettings {
    pub model_dir: PathBuf,
    pub min_similarity: f32,
    pub min_bm25_score: f32,
    pub safety_answer: String,
    pub fusion_weight_text: f32,
    pub fusion_weight_vector: f32,
    /// How much a passage's vector score takes from its document's first passage (0: none).
    pub opening_passage_weight: f32,
}

impl Default for SearchSettings {
    fn default() -> Self {
        Self {
            model_dir: PathBuf::from("data/models/all-MiniLM-L6-v2"),
            min_similarity: 0.35,
            min_bm25_score: 0.5,
            fusion_weight_text: 0.1,
            fusion_weight_vector: 1.0,
            opening_passage_weight: 0.5,
            safety_answer: "I'm not able to give medical advice over the phone, so I'll ask one of our clinical team to call you back as soon as possible. If it's an emergency, please call 999.".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CryptoSettings {
    pub master_key_file: PathBuf,
}

impl Default for CryptoSettings {
    fn default() -> Self {
        Self {
            master_key_file: PathBuf::from("data/keys/master.key"),
        }
    }
}

/// Overrides given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
}

/// A setting that failed validation: which key, and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {key}: {reason}")]
    Invalid { key: String, reason: String },
    #[error("configuration: {0}")]
    Load(String),
}

/// Merges `VOXANNE_<SECTION>__<KEY>` variables (only those: a bare `VOXANNE_FOO` is not a
/// setting). A setting whose default is text takes the variable's value as it is, so a phone
/// number (`+442071234567`), a numeric password or `true` stay text; any other setting reads
/// the value as figment reads environment values (numbers, booleans, arrays).
fn merge_environment(
    mut figment: Figment,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Figment {
    let defaults = figment::value::Value::serialize(Settings::default()).ok();
    for (name, raw) in vars {
        let Some(rest) = name.strip_prefix("VOXANNE_") else {
            continue;
        };
        if !rest.contains("__") {
            continue;
        }
        let key = rest
            .split("__")
            .collect::<Vec<_>>()
            .join(".")
            .to_lowercase();
        let text_setting = defaults
            .as_ref()
            .and_then(|d| d.find_ref(&key))
            .is_some_and(|v| matches!(v, figment::value::Value::String(..)));
        let value = if text_setting {
            figment::value::Value::from(raw)
        } else {
            raw.parse::<figment::value::Value>()
                .unwrap_or_else(|_| figment::value::Value::from(raw))
        };
        figment = figment.merge(Serialized::default(&key, value));
    }
    figment
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        reason: reason.into(),
    }
}

impl Settings {
    /// Loads defaults, then `config_file` if it exists (an explicitly named file must exist),
    /// then `VOXANNE_SECTION__KEY` process environment variables, then `cli`; and validates.
    pub fn load(
        config_file: &Path,
        config_file_required: bool,
        cli: &CliOverrides,
    ) -> Result<Settings, ConfigError> {
        if config_file_required && !config_file.exists() {
            return Err(invalid(
                "--config",
                format!("file {} does not exist", config_file.display()),
            ));
        }
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if config_file.exists() {
            figment = figment.merge(Toml::file(config_file));
        }
        figment = merge_environment(figment, std::env::vars());
        if let Some(dir) = &cli.data_dir {
            figment = figment.merge(Serialized::default("storage.data_dir", dir));
        }
        if let Some(listen) = &cli.listen {
            figment = figment.merge(Serialized::default("server.listen", listen));
        }
        let settings: Settings = figment.extract().map_err(|e| {
            let key = e.path.join(".");
            let reason = e.kind.to_string();
            if key.is_empty() {
                ConfigError::Load(reason)
            } else {
                ConfigError::Invalid { key, reason }
            }
        })?;
        let mut settings = settings;
        settings.rebase_on_data_dir();
        settings.validate()?;
        Ok(settings)
    }

    /// Settings for tests and tools: defaults with the given data dir, nothing read from disk or env.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Settings {
        let data_dir = data_dir.into();
        let mut s = Settings::default();
        s.crypto.master_key_file = data_dir.join("keys/master.key");
        s.search.model_dir = data_dir.join("models/all-MiniLM-L6-v2");
        s.storage.data_dir = data_dir;
        s.server.listen = "127.0.0.1:0".into();
        s
    }

    /// Paths left at their defaults follow a data dir moved elsewhere (`--data-dir`), so one
    /// install's keys and models never land in another's `./data`.
    fn rebase_on_data_dir(&mut self) {
        let defaults = Settings::default();
        if self.storage.data_dir == defaults.storage.data_dir {
            return;
        }
        if self.crypto.master_key_file == defaults.crypto.master_key_file {
            self.crypto.master_key_file = self.storage.data_dir.join("keys/master.key");
        }
        if self.search.model_dir == defaults.search.model_dir {
            self.search.model_dir = self.storage.data_dir.join("models/all-MiniLM-L6-v2");
        }
    }

    pub fn listen_addr(&self) -> SocketAddr {
        // validate() guarantees this parses.
        self.server
            .listen
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8080)))
    }

    /// Checks every value's range and form, as loading the file does (for settings built in
    /// code, such as the evaluation command's).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=1.0).contains(&self.check.min_booking_success) {
            return Err(invalid(
                "check.min_booking_success",
                "must be between 0 and 1",
            ));
        }
        if !(self.check.max_tool_call_p95_ms > 0.0 && self.check.max_tool_call_p95_ms.is_finite()) {
            return Err(invalid(
                "check.max_tool_call_p95_ms",
                "must be a positive number of milliseconds",
            ));
        }
        self.server.listen.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "server.listen",
                "expected ADDRESS:PORT, e.g. 127.0.0.1:8080",
            )
        })?;
        if !(1024..=64 * 1024 * 1024).contains(&self.server.max_body_bytes) {
            return Err(invalid(
                "server.max_body_bytes",
                "must be between 1024 and 67108864",
            ));
        }
        if !(100..=600_000).contains(&self.server.request_timeout_ms) {
            return Err(invalid(
                "server.request_timeout_ms",
                "must be between 100 and 600000",
            ));
        }
        if !(1..=100_000).contains(&self.server.max_in_flight) {
            return Err(invalid(
                "server.max_in_flight",
                "must be between 1 and 100000",
            ));
        }
        self.server
            .proxy_networks()
            .map_err(|m| invalid("server.trusted_proxies", m))?;
        self.server
            .metrics_networks()
            .map_err(|m| invalid("server.metrics_from", m))?;
        if self.server.tls_cert_file.as_os_str().is_empty()
            != self.server.tls_key_file.as_os_str().is_empty()
        {
            return Err(invalid(
                "server.tls_key_file",
                "give both tls_cert_file and tls_key_file, or neither",
            ));
        }
        if !(1..=4096).contains(&self.storage.journal_limit_mb) {
            return Err(invalid("storage.journal_limit_mb", "must be 1 to 4096"));
        }
        if self.storage.data_dir.as_os_str().is_empty() {
            return Err(invalid("storage.data_dir", "must not be empty"));
        }
        if !(1..=60 * 24 * 30).contains(&self.auth.token_ttl_minutes) {
            return Err(invalid(
                "auth.token_ttl_minutes",
                "must be between 1 and 43200",
            ));
        }
        if self.auth.issuer.trim().is_empty() {
            return Err(invalid("auth.issuer", "must not be empty"));
        }
        if !(1..=24 * 365).contains(&self.backup.every_hours) {
            return Err(invalid("backup.every_hours", "must be between 1 and 8760"));
        }
        if !(1..=24 * 60).contains(&self.console.idle_minutes) {
            return Err(invalid("console.idle_minutes", "is between 1 and 1440"));
        }
        if self.retention.unanswered_days > 36_500 {
            return Err(invalid("retention.unanswered_days", "is at most 36500"));
        }
        if self.retention.tool_call_days > 36_500 {
            return Err(invalid("retention.tool_call_days", "is at most 36500"));
        }
        if !(1..=1000).contains(&self.backup.keep) {
            return Err(invalid("backup.keep", "must be between 1 and 1000"));
        }
        if self.auth.login_max_failures_per_email == 0
            || self.auth.login_max_failures_per_client == 0
        {
            return Err(invalid(
                "auth.login_max_failures_per_email",
                "failure limits must be at least 1",
            ));
        }
        if self.auth.argon2_memory_kib < 19_456 || self.auth.argon2_iterations < 2 {
            return Err(invalid(
                "auth.argon2_memory_kib",
                "argon2id below OWASP's minimum (19456 KiB, 2 iterations) is refused",
            ));
        }
        if !matches!(self.vapi.hmac_algorithm.as_str(), "sha256" | "sha512") {
            return Err(invalid("vapi.hmac_algorithm", "must be sha256 or sha512"));
        }
        if !self.vapi.hmac_payload_format.contains("{body}") {
            return Err(invalid("vapi.hmac_payload_format", "must contain {body}"));
        }
        if !matches!(self.smtp.tls.as_str(), "none" | "starttls" | "tls") {
            return Err(invalid("smtp.tls", "must be none, starttls or tls"));
        }
        if !(10..=3_600_000).contains(&self.outbox.poll_interval_ms) {
            return Err(invalid(
                "outbox.poll_interval_ms",
                "must be between 10 and 3600000",
            ));
        }
        if self.outbox.retry_base_ms == 0 || self.outbox.retry_max_ms < self.outbox.retry_base_ms {
            return Err(invalid(
                "outbox.retry_max_ms",
                "retry_base_ms must be at least 1 and retry_max_ms at least retry_base_ms",
            ));
        }
        if !(self.server.public_url.starts_with("http://")
            || self.server.public_url.starts_with("https://"))
        {
            return Err(invalid(
                "server.public_url",
                "must start with http:// or https://",
            ));
        }
        if !(0.0..=10.0).contains(&self.search.fusion_weight_text)
            || !(0.0..=10.0).contains(&self.search.fusion_weight_vector)
            || self.search.fusion_weight_text + self.search.fusion_weight_vector <= 0.0
        {
            return Err(invalid(
                "search.fusion_weight_text",
                "fusion weights must be between 0 and 10, not both 0",
            ));
        }
        if !(0.0..=10.0).contains(&self.search.opening_passage_weight) {
            return Err(invalid(
                "search.opening_passage_weight",
                "must be between 0 and 10",
            ));
        }
        if !(0.0..=1.0).contains(&self.search.min_similarity) {
            return Err(invalid("search.min_similarity", "must be between 0 and 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_env(vars: &[(&str, &str)]) -> Result<Settings, Box<figment::Error>> {
        let figment = Figment::from(Serialized::defaults(Settings::default()));
        merge_environment(
            figment,
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .extract()
        .map_err(Box::new)
    }

    /// Every kind of value a text setting can be given through the environment stays text,
    /// exactly as written: digits, `+` digits, leading zeros, `true`, a float-looking string.
    #[test]
    fn text_settings_take_any_environment_value_as_text() {
        for value in [
            "+442071234567",
            "0123456789",
            "12345",
            "true",
            "1.50",
            "1e3",
            "[a]",
        ] {
            let s = from_env(&[
                ("VOXANNE_TWILIO__FROM_NUMBER", value),
                ("VOXANNE_SMTP__PASSWORD", value),
                ("VOXANNE_TWILIO__AUTH_TOKEN", value),
                ("VOXANNE_SMTP__USERNAME", value),
            ])
            .unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!(s.twilio.from_number, value);
            assert_eq!(s.smtp.password.expose(), value);
            assert_eq!(s.twilio.auth_token.expose(), value);
            assert_eq!(s.smtp.username, value);
        }
    }

    /// Settings that are not text still read numbers and refuse words; bare `VOXANNE_X` and
    /// other prefixes are not settings.
    #[test]
    fn other_settings_still_read_numbers() {
        let s = from_env(&[
            ("VOXANNE_SERVER__MAX_BODY_BYTES", "4096"),
            ("VOXANNE_LOG_FORMAT", "json"),
            ("OTHER_SERVER__LISTEN", "x"),
        ])
        .unwrap();
        assert_eq!(s.server.max_body_bytes, 4096);
        assert_eq!(s.server.listen, Settings::default().server.listen);
        let e = from_env(&[("VOXANNE_SERVER__MAX_BODY_BYTES", "lots")]).unwrap_err();
        assert_eq!(e.path.join("."), "server.max_body_bytes");
    }
}
