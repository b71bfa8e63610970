//! The context model's second opinion (`name_context.rs`): names the rules turn down for want
//! of a lead-in, taken from where they stand in the sentence; and what it is never asked about.
//! The sentences are written here, not drawn from the sets the model was trained on.

use super::*;

fn people(text: &str) -> Vec<String> {
    found(text, EntityType::Person)
}

#[test]
fn names_without_a_lead_in_are_taken_where_the_sentence_makes_them_people() {
    for (text, name) in [
        // Where a name ends a sentence after a verb and "to".
        (
            "The booking was changed to Thandiwe Mabuza yesterday.",
            "Thandiwe Mabuza",
        ),
        // The subject of a sentence about what someone did.
        ("Oyelaran had given Mbeki her new number.", "Oyelaran"),
        ("Nkechi shouted at the receptionist again.", "Nkechi"),
        // After "name", with no "is".
        (
            "Can you put it under my husband's name Kwabena Asante?",
            "Kwabena Asante",
        ),
    ] {
        assert_eq!(people(text), [name], "{text}");
    }
}

#[test]
fn the_rules_take_a_name_before_the_model_takes_the_words_around_it() {
    // The model would take "Ask Sigrún"; the rules take "Sigrún" at the next word.
    assert_eq!(
        people("Ask Sigrún whether the swelling has gone down."),
        ["Sigrún"]
    );
}

#[test]
fn countries_english_words_acronyms_and_makers_are_never_asked_about() {
    for text in [
        "Uruguay was lovely to visit!",
        "She moved here from Equatorial Guinea.",
        "The Kiribati trip was fun.",
        "### Total Lines",
        "Contextual Memory Hand-off",
        "The GELU's polynomial is slow.",
        "The filler was made by Allergan.",
        "Webhook triggered within 2 seconds",
    ] {
        assert!(people(text).is_empty(), "{text}: {:?}", people(text));
    }
}
