//! The readers that take a caller's bytes before anything checks them (the Vapi message
//! reader, the spoken date and time reader, the personal-data detector, the JSON body reader)
//! never panic, whatever they are given: property tests over arbitrary bytes, arbitrary JSON
//! and text built from the words those readers look for.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use voxanne::pii::{Detector, Known};
use voxanne::speech::{resolve_date, resolve_time};
use voxanne::vapi::envelope;

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Any JSON value, nested a few levels, with the keys and strings a Vapi message uses mixed
/// in so the reader gets past its first checks.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("message".to_string()),
        Just("type".to_string()),
        Just("toolCallList".to_string()),
        Just("toolCalls".to_string()),
        Just("function".to_string()),
        Just("arguments".to_string()),
        Just("name".to_string()),
        Just("id".to_string()),
        Just("call".to_string()),
        Just("customer".to_string()),
        Just("number".to_string()),
        Just("artifact".to_string()),
        Just("transcript".to_string()),
        Just("status".to_string()),
        "[a-z]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("tool-calls".to_string()),
            Just("function-call".to_string()),
            Just("end-of-call-report".to_string()),
            Just("status-update".to_string()),
            Just("book_appointment".to_string()),
            Just("check_availability".to_string()),
            Just("{\"appointment_date\": \"31 December 262142\"}".to_string()),
            Just("+447700900555".to_string()),
            any::<String>(),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[test]
fn the_vapi_message_reader_takes_any_bytes_and_any_json() {
    runner()
        .run(&prop::collection::vec(any::<u8>(), 0..512), |bytes| {
            let _ = envelope::read_tool_message(&bytes);
            Ok(())
        })
        .unwrap();
    runner()
        .run(&json_value(), |v| {
            let bytes = serde_json::to_vec(&serde_json::json!({ "message": v })).unwrap();
            let _ = envelope::read_tool_message(&bytes);
            let _ = envelope::read(&serde_json::json!({ "message": v }));
            let _ = envelope::read(&v);
            Ok(())
        })
        .unwrap();
}

/// Phrases built from the words the date and time readers know, and numbers of any size.
fn spoken() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("today".to_string()),
        Just("tomorrow".to_string()),
        Just("day after".to_string()),
        Just("next".to_string()),
        Just("this".to_string()),
        Just("in".to_string()),
        Just("days".to_string()),
        Just("weeks".to_string()),
        Just("friday".to_string()),
        Just("december".to_string()),
        Just("feb".to_string()),
        Just("of".to_string()),
        Just("the".to_string()),
        Just("st".to_string()),
        Just("31st".to_string()),
        Just("pm".to_string()),
        Just("a.m.".to_string()),
        Just("noon".to_string()),
        Just("half past".to_string()),
        Just(":".to_string()),
        Just("-".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u32>().prop_map(|n| n.to_string()),
        "[0-9]{1,7}",
        any::<String>(),
    ];
    prop::collection::vec(word, 0..7).prop_map(|w| w.join(" "))
}

#[test]
fn the_spoken_date_and_time_readers_take_any_words_on_any_day() {
    let today = (-100_000i32..100_000).prop_map(|days| {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap() + chrono::Duration::days(days.into())
    });
    runner()
        .run(&(spoken(), today), |(text, today)| {
            if let Ok(d) = resolve_date(&text, today) {
                prop_assert!(d.year() > -262_144 && d.year() < 262_143);
            }
            let _ = resolve_time(&text);
            Ok(())
        })
        .unwrap();
    // The edges of the calendar itself.
    for today in [NaiveDate::MIN, NaiveDate::MAX] {
        for text in [
            "tomorrow",
            "day after tomorrow",
            "in 366 days",
            "next friday",
            "31 december",
            "friday",
        ] {
            let _ = resolve_date(text, today);
        }
    }
}

#[test]
fn the_personal_data_detector_takes_any_text_and_its_spans_are_in_the_text() {
    let detector = Detector::new(&[]);
    let text = prop_oneof![
        any::<String>(),
        prop::collection::vec(
            prop_oneof![
                Just("My NHS number is".to_string()),
                Just("943 476 5919".to_string()),
                Just("07700 900123".to_string()),
                Just("+44".to_string()),
                Just("W1G 9PF".to_string()),
                Just("123 Harley Street".to_string()),
                Just("jane@example.com".to_string()),
                Just("heart issues".to_string()),
                Just("Dr".to_string()),
                Just("Mrs. Sian O'Connell-Woods Jr.".to_string()),
                Just("Flat 7\nPearce Flats".to_string()),
                Just("Suite 4, Lake Laura, MT 87630".to_string()),
                Just("x123".to_string()),
                Just("+44 (0)20".to_string()),
                Just("2001:db8::8a2e".to_string()),
                Just("İstanbul’s".to_string()),
                Just("\n".to_string()),
                Just("\u{200b}".to_string()),
                Just("é".to_string()),
                "[0-9 ]{1,20}",
                any::<String>(),
            ],
            0..12
        )
        .prop_map(|w| w.join(" ")),
    ];
    runner()
        .run(&text, |text| {
            let known = Known {
                names: vec!["Jane".into()],
                phones: vec!["+447700900123".into()],
            };
            let entities = detector.detect(&text, &known);
            let chars: Vec<char> = text.chars().collect();
            for e in &entities {
                prop_assert!(
                    e.start < e.end && e.end <= chars.len(),
                    "{:?}",
                    (e.start, e.end, chars.len())
                );
                prop_assert_eq!(&chars[e.start..e.end].iter().collect::<String>(), &e.text);
            }
            let _ = voxanne::pii::redact(&text, &entities);
            let _ = voxanne::pii::clinical_sentences(&text, &entities);
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_json_body_reader_takes_any_bytes_and_reads_any_document_it_was_given() {
    use voxanne::booking::records::ClinicSettings;
    use voxanne::http::extract::parse_json;
    runner()
        .run(&prop::collection::vec(any::<u8>(), 0..512), |bytes| {
            let _ = parse_json::<Value>(&bytes);
            let _ = parse_json::<ClinicSettings>(&bytes);
            Ok(())
        })
        .unwrap();
    runner()
        .run(&json_value(), |v| {
            let bytes = serde_json::to_vec(&v).unwrap();
            // Whatever JSON it is given, it reads what the JSON parser reads.
            let read =
                parse_json::<Value>(&bytes).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(read, serde_json::from_slice::<Value>(&bytes).unwrap());
            let _ = parse_json::<ClinicSettings>(&bytes);
            Ok(())
        })
        .unwrap();
}
