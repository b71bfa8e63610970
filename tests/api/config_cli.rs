//! Configuration precedence (file < environment < flags), validation naming the bad key, and
//! secrets never printed.

use std::process::Command;

use crate::helpers::voxanne_bin;

fn show(args: &[&str], env: &[(&str, &str)], cwd: &std::path::Path) -> (i32, String, String) {
    let mut cmd = Command::new(voxanne_bin());
    cmd.current_dir(cwd).args(["config", "show"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn file_then_environment_then_flags_and_secrets_stay_hidden() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[server]\nlisten = \"127.0.0.1:7001\"\nmax_body_bytes = 9999\n[smtp]\npassword = \"hunter2-smtp-secret\"\n",
    )
    .unwrap();
    let (code, out, _) = show(&[], &[], dir.path());
    assert_eq!(code, 0);
    assert!(out.contains("127.0.0.1:7001") && out.contains("9999"));
    assert!(!out.contains("hunter2-smtp-secret") && out.contains("<redacted>"));

    let env = [("VOXANNE_SERVER__LISTEN", "127.0.0.1:7002")];
    let (_, out, _) = show(&[], &env, dir.path());
    assert!(out.contains("127.0.0.1:7002") && out.contains("9999"));

    let (_, out, _) = show(&["--listen", "127.0.0.1:7003"], &env, dir.path());
    assert!(out.contains("127.0.0.1:7003"));
}

#[test]
fn a_bad_value_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 4] = [
        (
            "VOXANNE_SERVER__MAX_BODY_BYTES",
            "lots",
            "server.max_body_bytes",
        ),
        ("VOXANNE_SERVER__LISTEN", "nowhere", "server.listen"),
        (
            "VOXANNE_AUTH__TOKEN_TTL_MINUTES",
            "0",
            "auth.token_ttl_minutes",
        ),
        ("VOXANNE_SMTP__TLS", "maybe", "smtp.tls"),
    ];
    for (var, value, key) in cases {
        let (code, _, err) = show(&[], &[(var, value)], dir.path());
        assert_eq!(code, 2, "{var}");
        assert!(err.contains(key), "{var}: {err}");
    }
    let (code, _, err) = show(&["--config", "/nonexistent/voxanne.toml"], &[], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"));
    std::fs::write(
        dir.path().join("config.toml"),
        "[server]\nlisen = \"typo\"\n",
    )
    .unwrap();
    let (code, _, err) = show(&[], &[], dir.path());
    assert_eq!(code, 2);
    assert!(err.contains("lisen"), "{err}");
}

#[test]
fn the_shipped_config_file_loads_and_matches_the_defaults() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (code, shipped, err) = show(
        &["--config", repo.join("config.toml").to_str().unwrap()],
        &[],
        repo,
    );
    assert_eq!(code, 0, "{err}");
    let empty = tempfile::tempdir().unwrap();
    let (_, defaults, _) = show(&[], &[], empty.path());
    assert_eq!(
        shipped, defaults,
        "config.toml must document the built-in defaults"
    );
}
