//! The README says what the binary does: its command table names each command's flags as the
//! command line defines them (and which are required), every option has help text, its route
//! table lists exactly the operations of the API document with the roles each declares, and
//! its per-clinic settings table lists exactly the clinic's settings with their defaults.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The text of the README section under `## {heading}`, up to the next `## ` heading.
fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README has no section {heading:?}"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// The rows of the first table in `text` (header and rule left out), as cells; `\|` inside a
/// cell is a literal bar.
fn table(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            let l = l.replace("\\|", "\u{1}");
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace('\u{1}', "|"))
                .collect()
        })
        .collect()
}

/// A flag or positional as the README shows it and as clap defines it: (name, required,
/// the placeholder of its value, e.g. `FILE`, if it takes one). Positionals are named by their
/// placeholder.
type Param = (String, bool, Option<String>);

/// Reads one usage line (`voxanne kb import DIR --org ID [--data-dir DIR]`): the command's
/// words, then its parameters. Brackets mark what may be left out; a placeholder in capitals
/// right after a flag is that flag's value, anywhere else a positional.
fn usage(line: &str) -> (Vec<String>, BTreeSet<Param>) {
    let mut words = Vec::new();
    let mut params = BTreeSet::new();
    let mut depth = 0i32;
    let mut last_flag: Option<(String, bool)> = None;
    for token in line.split_whitespace().skip(1) {
        depth += token.matches('[').count() as i32;
        let core = token.trim_matches(|c| c == '[' || c == ']');
        let placeholder = !core.is_empty() && !core.chars().any(|c| c.is_ascii_lowercase());
        if let Some(flag) = core.strip_prefix("--") {
            if let Some((name, required)) = last_flag.take() {
                params.insert((name, required, None));
            }
            last_flag = Some((flag.to_string(), depth == 0));
        } else if placeholder {
            match last_flag.take() {
                Some((name, required)) => {
                    params.insert((name, required, Some(core.to_string())));
                }
                None => {
                    params.insert((core.to_string(), depth == 0, Some(core.to_string())));
                }
            }
        } else if params.is_empty() && last_flag.is_none() {
            words.push(core.to_string());
        } else {
            panic!("{line}: cannot read {token:?}");
        }
        depth -= token.matches(']').count() as i32;
    }
    if let Some((name, required)) = last_flag {
        params.insert((name, required, None));
    }
    (words, params)
}

/// Every command of the command line that does something (no subcommands of its own), with
/// its parameters as clap defines them.
fn leaves(
    cmd: &clap::Command,
    path: Vec<String>,
    out: &mut BTreeMap<Vec<String>, BTreeSet<Param>>,
) {
    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .collect();
    if subs.is_empty() {
        let params = cmd
            .get_arguments()
            .filter(|a| !["help", "version"].contains(&a.get_id().as_str()))
            .map(|a| {
                let takes_value = a.get_num_args().is_none_or(|n| n.takes_values())
                    && !matches!(
                        a.get_action(),
                        clap::ArgAction::SetTrue | clap::ArgAction::SetFalse
                    );
                // What --help shows as the value: the value name, else the id in capitals.
                let placeholder = a
                    .get_value_names()
                    .and_then(|n| n.first())
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| a.get_id().as_str().to_uppercase());
                let name = match a.get_long() {
                    Some(long) => long.to_string(),
                    None => placeholder.clone(),
                };
                (
                    name,
                    a.is_required_set(),
                    takes_value.then_some(placeholder),
                )
            })
            .collect();
        out.insert(path, params);
        return;
    }
    for s in subs {
        let mut p = path.clone();
        p.push(s.get_name().to_string());
        leaves(s, p, out);
    }
}

#[test]
fn the_readme_command_table_names_each_commands_flags_as_the_binary_defines_them() {
    let readme = readme();
    let mut documented: BTreeMap<Vec<String>, BTreeSet<Param>> = BTreeMap::new();
    for row in table(section(&readme, "Commands")) {
        let line = row[0].trim_matches('`');
        assert!(line.starts_with("voxanne "), "{line}");
        let (words, params) = usage(line);
        assert!(
            documented.insert(words.clone(), params).is_none(),
            "{words:?} has two rows"
        );
    }
    let mut defined = BTreeMap::new();
    leaves(&voxanne::cli::command(), Vec::new(), &mut defined);
    let documented_commands: BTreeSet<_> = documented.keys().collect();
    let defined_commands: BTreeSet<_> = defined.keys().collect();
    assert_eq!(documented_commands, defined_commands, "the commands differ");
    for (command, params) in &defined {
        assert_eq!(
            &documented[command],
            params,
            "`voxanne {}`: the README's flags (name, required, value) differ from --help's",
            command.join(" ")
        );
    }
}

#[test]
fn every_command_and_option_has_help_text() {
    fn walk(cmd: &clap::Command, path: &str) {
        for a in cmd.get_arguments() {
            let help = a.get_help().or(a.get_long_help()).map(|h| h.to_string());
            assert!(
                help.is_some_and(|h| !h.trim().is_empty()),
                "`{path}`: {} has no help text",
                a.get_id()
            );
        }
        for s in cmd.get_subcommands() {
            let name = format!("{path} {}", s.get_name());
            assert!(s.get_about().is_some(), "`{name}` has no description");
            walk(s, &name);
        }
    }
    walk(&voxanne::cli::command(), "voxanne");
    // `check --help` names every scenario the check knows.
    let mut cli = voxanne::cli::command();
    let check = cli.find_subcommand_mut("check").unwrap();
    let help = check.render_long_help().to_string();
    for scenario in voxanne::check::SCENARIOS {
        assert!(
            help.contains(scenario),
            "check --help leaves out {scenario}"
        );
    }
}

#[test]
fn the_readme_route_table_lists_every_operation_of_the_document_with_its_roles() {
    let readme = readme();
    let doc = serde_json::to_value(voxanne::http::openapi_document()).unwrap();
    let mut in_document: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let roles = crate::roles::declared_roles(operation);
            in_document.insert((method.to_uppercase(), path.clone()), roles);
        }
    }
    let mut in_readme: BTreeMap<(String, String), String> = BTreeMap::new();
    for row in table(section(&readme, "What the API does today")) {
        for span in row[0].split('`').skip(1).step_by(2) {
            let (method, path) = span
                .split_once(' ')
                .unwrap_or_else(|| panic!("{span:?} is not `METHOD /path`"));
            let key = (method.to_string(), path.to_string());
            assert!(
                in_readme.insert(key, row[1].clone()).is_none(),
                "{span} is listed twice"
            );
        }
    }
    let documented: BTreeSet<_> = in_readme.keys().collect();
    let served: BTreeSet<_> = in_document.keys().collect();
    assert_eq!(
        documented, served,
        "the README and the API document list different operations"
    );
    for (op, roles) in &in_document {
        if roles.is_empty() {
            continue;
        }
        let said: BTreeSet<String> = in_readme[op]
            .split(',')
            .map(|r| r.trim().to_string())
            .collect();
        assert_eq!(&said, roles, "{} {}: who", op.0, op.1);
    }
}

#[test]
fn the_readme_lists_every_per_clinic_setting_with_its_default_and_config_files_refuse_them() {
    let readme = readme();
    let defaults =
        serde_json::to_value(voxanne::booking::records::ClinicSettings::default()).unwrap();
    let defaults = defaults.as_object().unwrap();
    let mut listed = BTreeMap::new();
    for row in table(section(&readme, "Per-clinic settings")) {
        let key = row[0].trim_matches('`').to_string();
        let default: Value = serde_json::from_str(row[1].trim_matches('`'))
            .unwrap_or_else(|e| panic!("{key}: the default {:?} is not JSON: {e}", row[1]));
        listed.insert(key, default);
    }
    let keys: BTreeSet<&String> = listed.keys().collect();
    assert_eq!(
        keys,
        defaults.keys().collect(),
        "the clinic's settings differ"
    );
    for (key, value) in defaults {
        assert_eq!(&listed[key], value, "{key}: default");
    }
    // Put in the install's configuration by mistake, each is refused by name.
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("config.toml");
    for (key, value) in defaults {
        let value = if value.is_null() {
            Value::from("x")
        } else {
            value.clone()
        };
        std::fs::write(&file, format!("{key} = {value}\n")).unwrap();
        let refused = voxanne::config::Settings::load(&file, true, &Default::default())
            .expect_err(key)
            .to_string();
        assert!(refused.contains(key.as_str()), "{key}: {refused}");
    }
}

#[test]
fn the_readmes_describe_what_is_built() {
    let readme = readme();
    let data =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/README.md")).unwrap();
    for (file, text) in [("README.md", &readme), ("data/README.md", &data)] {
        for stale in ["not built yet", "Not built yet", "cannot search yet"] {
            assert!(!text.contains(stale), "{file} says {stale:?}");
        }
    }
}
