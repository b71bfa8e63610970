//! Follow-up texts: rendered from the procedure's template (or the default, the seeds' own
//! example) with minijinja, every variable always given (a missing one has a plain fallback:
//! "Hi there,"), and measured the way SMS bills them (GSM-7 or UCS-2, segments).

use minijinja::{context, Environment, UndefinedBehavior};

/// The seeds' example message.
pub const DEFAULT_TEMPLATE: &str = "Hi {{ patientName }},\n\nThanks for chatting with us about {{ procedure }}! We know you were busy, so here's your guide to review:\n{{ pdfLink }}\n\nLet's schedule your consultation:\n{{ bookingLink }}\n\n- {{ agentName }} from {{ clinicName }}";

/// What a template may use; `None` takes the fallback.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    pub patient_name: Option<String>,
    pub procedure: Option<String>,
    pub pdf_link: Option<String>,
    pub booking_link: Option<String>,
    pub clinic_name: Option<String>,
    /// The outbound agent's id (`sarah_outbound`); the message says its first word ("Sarah").
    pub agent_name: Option<String>,
}

/// The agent's name as a person signs: `sarah_outbound` → `Sarah`.
pub fn agent_display(agent: &str) -> String {
    let first = agent
        .split(|c: char| c == '_' || c == '-' || c.is_whitespace())
        .find(|w| !w.is_empty())
        .unwrap_or("");
    let mut chars = first.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => "the team".into(),
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // A variable the template names that we do not have renders as nothing rather than
    // failing; every variable we know is always given (with its fallback).
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_keep_trailing_newline(false);
    env
}

/// Checks a clinic's template before it is stored: it must parse.
pub fn check_template(source: &str) -> Result<(), String> {
    if !crate::domain::has_text(source) {
        return Err("must not be empty".into());
    }
    if source.chars().count() > 1600 {
        return Err("must be at most 1600 characters".into());
    }
    let env = environment();
    env.template_from_str(source)
        .map(|_| ())
        .map_err(|e| format!("is not a valid template: {}", e.kind()))
}

/// Renders `source` (the default when it does not render).
pub fn render(source: &str, v: &Variables) -> String {
    let patient = v
        .patient_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.split_whitespace().next().unwrap_or(n).to_string())
        .unwrap_or_else(|| "there".into());
    let ctx = context! {
        patientName => patient,
        procedure => v.procedure.clone().unwrap_or_else(|| "your treatment".into()),
        pdfLink => v.pdf_link.clone().unwrap_or_else(|| "(ask us and we will send it)".into()),
        bookingLink => v.booking_link.clone().unwrap_or_else(|| "just reply or give us a call".into()),
        clinicName => v.clinic_name.clone().unwrap_or_else(|| "the clinic".into()),
        agentName => agent_display(v.agent_name.as_deref().unwrap_or(super::catalogue::DEFAULT_AGENT)),
    };
    let env = environment();
    let rendered = env
        .render_str(source, ctx.clone())
        .or_else(|_| env.render_str(DEFAULT_TEMPLATE, ctx))
        .unwrap_or_default();
    rendered.trim().to_string()
}

/// The GSM 03.38 basic character set (one septet each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The GSM 03.38 extension table (two septets each: escape and character).
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// How a text travels: its encoding, length in characters, and the segments it is billed as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measure {
    pub encoding: &'static str,
    pub length: usize,
    pub segments: u32,
}

pub fn measure(text: &str) -> Measure {
    let length = text.chars().count();
    let gsm = |c: char| {
        if GSM_BASIC.contains(c) {
            Some(1)
        } else if GSM_EXTENDED.contains(c) {
            Some(2)
        } else {
            None
        }
    };
    // Each character's size in the encoding's units (septets, or UTF-16 code units).
    let (encoding, sizes, single, multi): (&str, Vec<usize>, usize, usize) =
        match text.chars().map(gsm).collect::<Option<Vec<usize>>>() {
            Some(sizes) => ("GSM-7", sizes, 160, 153),
            None => ("UCS-2", text.chars().map(char::len_utf16).collect(), 70, 67),
        };
    let total: usize = sizes.iter().sum();
    // A long message is cut into parts of `multi` units; a character never straddles two
    // (an escaped GSM character, a surrogate pair), so a part may hold less.
    let segments = if total <= single {
        1
    } else {
        let (mut parts, mut used) = (1u32, 0usize);
        for size in sizes {
            if used + size > multi {
                parts += 1;
                used = 0;
            }
            used += size;
        }
        parts
    };
    Measure {
        encoding,
        length,
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_example_renders_with_every_variable() {
        let text = render(
            DEFAULT_TEMPLATE,
            &Variables {
                patient_name: Some("Jane Doe".into()),
                procedure: Some("Rhinoplasty".into()),
                pdf_link: Some("https://clinic.example/guides/rhinoplasty-guide.pdf".into()),
                booking_link: Some("https://clinic.example/book".into()),
                clinic_name: Some("Harley Aesthetics".into()),
                agent_name: Some("sarah_outbound".into()),
            },
        );
        assert!(text.starts_with("Hi Jane,\n\nThanks for chatting with us about Rhinoplasty!"));
        assert!(text.contains("https://clinic.example/guides/rhinoplasty-guide.pdf"));
        assert!(text.ends_with("- Sarah from Harley Aesthetics"));
    }

    #[test]
    fn missing_variables_fall_back_cleanly_and_nothing_raw_is_left() {
        let text = render(DEFAULT_TEMPLATE, &Variables::default());
        assert!(text.starts_with("Hi there,"), "{text}");
        assert!(!text.contains("{{") && !text.contains("}}"));
        // A clinic's template naming a variable we do not have renders it as nothing.
        let text = render(
            "Hi {{ patientName }} {{ nickname }}!",
            &Variables::default(),
        );
        assert_eq!(text, "Hi there !");
        // A template that fails to render falls back to the default.
        let text = render("{{ procedure | nosuchfilter }}", &Variables::default());
        assert!(text.starts_with("Hi there,"));
    }

    #[test]
    fn templates_are_checked_before_they_are_stored() {
        assert!(check_template("Hi {{ patientName }}").is_ok());
        assert!(check_template("Hi {{ patientName ").is_err());
        assert!(check_template("  ").is_err());
    }

    #[test]
    fn segments_follow_the_encoding() {
        assert_eq!(measure("Hello").encoding, "GSM-7");
        assert_eq!(measure(&"a".repeat(160)).segments, 1);
        assert_eq!(measure(&"a".repeat(161)).segments, 2);
        assert_eq!(measure(&"a".repeat(306)).segments, 2);
        assert_eq!(measure(&"a".repeat(307)).segments, 3);
        // An extension character counts twice, and is never split between parts.
        assert_eq!(measure(&"€".repeat(80)).segments, 1);
        assert_eq!(measure(&"€".repeat(81)).segments, 2);
        let straddling = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(measure(&straddling).segments, 3);
        // One character outside GSM-7 makes it UCS-2.
        let m = measure(&format!("{}😀", "a".repeat(60)));
        assert_eq!(m.encoding, "UCS-2");
        assert_eq!(m.length, 61);
        assert_eq!(m.segments, 1);
        assert_eq!(measure(&"é".repeat(10)).encoding, "GSM-7");
        assert_eq!(measure(&"ê".repeat(71)).segments, 2);
    }
}
