//! Forms found in text others write: a letter's address block, a street abroad given in the
//! English order, speaker labels, names called out, possessives, lists of names, and the firms
//! and places that look like names but are not.

use super::*;

fn address(text: &str) -> Vec<String> {
    found(text, EntityType::Address)
}

fn people(text: &str) -> Vec<String> {
    found(text, EntityType::Person)
}

#[test]
fn a_letters_address_block_is_one_address_down_to_its_code() {
    assert_eq!(
        address("Ms Aino Laine\n\n14 Harbour Lane\n Flat 2\n Kettering\n United Kingdom NN16 8AB"),
        ["14 Harbour Lane\n Flat 2\n Kettering\n United Kingdom NN16 8AB"]
    );
    // Quoted in a reply: each line is read without its mark.
    assert_eq!(
        address("> Jo Moss\n> 7 Mill Road\n> Suite 4\n> Ely\n> Cambridgeshire 40512"),
        ["7 Mill Road\n> Suite 4\n> Ely\n> Cambridgeshire 40512"]
    );
    // No code below it: the lines after the street are not taken (the next may be a name).
    assert_eq!(
        address("Jo Smith\n12 Mill Road\nEly\nJohn Brown"),
        ["12 Mill Road"]
    );
}

#[test]
fn a_blocks_last_line_names_its_country_as_the_country_writes_it() {
    // Small words and brackets inside a country's name, a seven-digit code (Chile).
    for (text, block) in [
        (
            "Rui Costa\n\n14 Harbour Lane\n Suite 2\n Braga\n Macedónia do Norte 4700-123",
            "14 Harbour Lane\n Suite 2\n Braga\n Macedónia do Norte 4700-123",
        ),
        (
            "Ana Soto\n7 Mill Road\nApt. 5\nTalca\nHoly See (Vatican City State) 40512",
            "7 Mill Road\nApt. 5\nTalca\nHoly See (Vatican City State) 40512",
        ),
        (
            "Ana Soto\n7 Mill Road\nTalca\nUnited States of America 3460000",
            "7 Mill Road\nTalca\nUnited States of America 3460000",
        ),
    ] {
        assert_eq!(address(text), [block], "{text}");
    }
    // A phone's or a reference's line under the town, or a sentence, is not the block's end.
    for text in [
        "Ana Soto\n7 Mill Road\nTalca\nFax 5551234",
        "Ana Soto\n7 Mill Road\nTalca\nBooking ref 1234567",
        "Ana Soto\n7 Mill Road\nThe pain started in 2019",
        "Ana Soto\n7 Mill Road\nMy blood pressure was 120 80",
    ] {
        assert_eq!(address(text), ["7 Mill Road"], "{text}");
    }
}

#[test]
fn a_street_abroad_in_the_english_order_and_a_town_that_ends_the_sentence() {
    assert_eq!(
        address("The flat is at 54 Via Roma, 00184 Roma"),
        ["54 Via Roma, 00184 Roma"]
    );
    assert_eq!(
        address("Send it to 89 Hoffmannstrasse."),
        ["89 Hoffmannstrasse"]
    );
    assert_eq!(
        address("I live at 9 Urputie, Puolanka."),
        ["9 Urputie, Puolanka."]
    );
    // Ordinary talk with a number before a road word or a year under a street is no address.
    assert!(address("Pay the £300 via PayPal, or 2 via Zoom").is_empty());
    assert!(address("We ordered 3 Square Meals for the team").is_empty());
    assert_eq!(
        address("We moved to 12 Mill Road\nMarch 2024\nand love it"),
        ["12 Mill Road"]
    );
    assert_eq!(address("It's 12 Mill Road, Monday."), ["12 Mill Road"]);
    // A town that does not end the sentence is not taken on its own.
    assert_eq!(
        address("I live at 12 Mill Road, Ely and work in town"),
        ["12 Mill Road"]
    );
}

#[test]
fn a_speaker_label_is_a_name_and_a_role_or_a_field_is_not() {
    assert_eq!(
        people("Aino: \"Is Tuesday free?\"\nReceptionist: yes, at ten."),
        ["Aino"]
    );
    assert!(people("Bot: what's the name on the booking?").is_empty());
    assert!(people("Price: £300 for the first session").is_empty());
}

#[test]
fn names_called_out_possessed_reported_and_listed() {
    assert_eq!(people("Maria, can you move my appointment?"), ["Maria"]);
    assert!(people("Hello, this is the clinic.").is_empty());
    assert_eq!(people("I'm calling about Tanya's daughter."), ["Tanya"]);
    assert_eq!(people("\"Fine by me,\" says Fleming."), ["Fleming"]);
    assert_eq!(
        people("I'm so sorry! said Antti to Sonja"),
        ["Antti", "Sonja"]
    );
    assert_eq!(
        people("It's booked under Bøje Bertelsen"),
        ["Bøje Bertelsen"]
    );
    assert_eq!(
        people("Billing: dr. Laras Widiastuti"),
        ["dr. Laras Widiastuti"]
    );
    // A name runs on into no flat's word.
    assert_eq!(
        people("Dr. Toby Renehan Apt. 7 15 Cowen Street"),
        ["Dr. Toby Renehan"]
    );
}

#[test]
fn firms_and_places_named_after_people_are_not_people() {
    assert!(people("I'll miss London when we move").is_empty());
    assert_eq!(people("I am bringing Maria and Dad"), ["Maria"]);
    assert_eq!(people("I'll drive Anna to London"), ["Anna"]);
    assert_eq!(people("Mary Murphy, Co. Cork"), ["Mary Murphy"]);
    assert_eq!(people("my PT Sarah Jones says it's fine"), ["Sarah Jones"]);
    assert!(people("I work for Karvonen Forsman Oy").is_empty());
    assert!(people("She was referred by Jensen AB last year").is_empty());
    assert!(people("We moved here from Port Lucy").is_empty());
    assert!(people("The office is in South Deanna now").is_empty());
    // "Hi" before a name in a list is a greeting, not the list's first name.
    assert_eq!(
        people("Hi, Amanda Jackson here, I want to cancel."),
        ["Amanda Jackson"]
    );
}

/// One detector for the property tests' many cases.
static DETECTOR: std::sync::LazyLock<Detector> = std::sync::LazyLock::new(Detector::default);

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any letter's address block (house number, street, perhaps a flat, a town, a code,
    /// perhaps a country; quoted or not) under a name is one address from the number to the
    /// code, and the name above it stays out.
    #[test]
    fn a_letters_block_is_one_address_from_its_number_to_its_code(
        number in 1u32..20_000,
        street in "[A-Z][a-z]{3,9}",
        road in proptest::sample::select(vec!["Road", "Lane", "Street", "Avenue", "Close"]),
        flat in proptest::option::of(1u32..999),
        town in "[A-Z][a-z]{3,10}",
        code in proptest::sample::select(vec!["NN16 8AB", "40512", "SW1A 1AA", "10115", "2000"]),
        country in proptest::option::of(proptest::sample::select(vec!["Finland", "Kenya", "Chile"])),
        mark in proptest::sample::select(vec!["", " ", "> ", ">"]),
    ) {
        proptest::prop_assume!(!crate::pii::name_words::calendar_word(&town.to_lowercase()));
        let mut lines = vec![format!("{number} {street} {road}")];
        if let Some(flat) = flat {
            lines.push(format!("Flat {flat}"));
        }
        lines.push(town.clone());
        lines.push(match country {
            Some(c) => format!("{c} {code}"),
            None => code.to_string(),
        });
        let block = lines.join(&format!("\n{mark}"));
        let text = format!("{mark}Aino Laine\n{mark}\n{mark}{block}\n{mark}Best regards");
        let found: Vec<String> = DETECTOR
            .detect(&text, &Known::default())
            .into_iter()
            .filter(|e| e.kind == EntityType::Address)
            .map(|e| e.text)
            .collect();
        proptest::prop_assert_eq!(found, vec![block]);
    }

    /// Whatever mixes of the new forms' pieces (labels, possessives, firms' forms, road words,
    /// quote marks, spaces outside ASCII) make up a text, the detector answers with spans
    /// inside it and in order.
    #[test]
    fn text_made_of_the_new_forms_pieces_never_breaks_the_detector(
        pieces in proptest::collection::vec(proptest::sample::select(vec![
            "Aino", "Laine", ":", ": \"", "'s ", "’s ", " daughter", ", ", " and ", " to ",
            "Oy", " AB", "CV ", "Port ", "South ", "dr.", "Dr. ", "Apt. 7", "\n", "\n> ", ">",
            "•", "?", "\u{a0}", "\u{3000}", "54 ", "Via ", "Hoffmannstrasse", ", Puolanka.",
            "NN16 8AB", "40512", "March 2024", "Łukasz", "Ó Ceallaigh", "says ", "it's under ",
            " ", "x", "É",
        ]), 0..24),
    ) {
        let text: String = pieces.concat();
        let chars = text.chars().count();
        let found = DETECTOR.detect(&text, &Known::default());
        let mut at = 0;
        for e in &found {
            proptest::prop_assert!(at <= e.start && e.start < e.end && e.end <= chars, "{e:?} in {text:?}");
            at = e.end;
        }
    }
}
