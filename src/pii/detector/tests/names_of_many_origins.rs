//! Given names the Census lists lack, family names written first, a name split by a comma in a
//! form, speech-to-text names with an unlisted family name, a name spoken to, and firms named
//! for their partners.

use super::*;

fn people(text: &str) -> Vec<String> {
    found(text, EntityType::Person)
}

#[test]
fn given_names_of_many_origins_are_names_without_a_lead_in() {
    assert_eq!(people("Is Štefanija coming in at ten?"), ["Štefanija"]);
    assert_eq!(
        people("I'm so sorry, said Dragana to Mirsad."),
        ["Dragana", "Mirsad"]
    );
    // A region, an insurer or a device is not one, though people are named so too.
    for text in [
        "We drove in from California last night.",
        "My insurer is Aviva, is that accepted?",
        "I had my Mirena fitted last year.",
    ] {
        assert!(people(text).is_empty(), "{text}: {:?}", people(text));
    }
}

#[test]
fn a_family_name_before_the_given_name_belongs_to_the_name() {
    assert_eq!(
        people("The forms were signed by Haddad Yacine yesterday."),
        ["Haddad Yacine"]
    );
    assert_eq!(
        people("Yes, Siti Bilir Akça speaking."),
        ["Siti Bilir Akça"]
    );
    // A word not shaped like a name is not a family name.
    assert_eq!(people("Contact Adedeji on the main line."), ["Adedeji"]);
}

#[test]
fn family_name_comma_given_name_is_one_name_in_a_form_field() {
    assert_eq!(
        people("Patient: Nowak, Zofia\nDOB on file"),
        ["Nowak, Zofia"]
    );
    assert_eq!(people("Name: Nowak, Zofia, 02/03/1984"), ["Nowak, Zofia"]);
    let listed = people("Please invite Nowak, Zofia and Piotr.");
    assert!(listed.contains(&"Piotr".to_string()), "{listed:?}");
    assert!(!listed.iter().any(|p| p.contains(", ")), "{listed:?}");
}

#[test]
fn a_spoken_given_name_takes_an_unlisted_family_name_after_it() {
    assert_eq!(
        people("yes it's anvar otabekov here, about the filler"),
        ["anvar otabekov"]
    );
    // Not an English word after it.
    assert_eq!(people("tell anvar tomorrow is fine"), ["anvar"]);
    // A drug after a name ends it; the name stays.
    assert_eq!(people("this is dr khan mounjaro refill"), ["dr khan"]);
}

#[test]
fn firms_named_for_partners_are_not_people_but_partners_in_life_are() {
    for (firm, person, name) in [
        (
            "I worked for Belkacem et Associés for years.",
            "I worked for Belkacem for years.",
            "Belkacem",
        ),
        (
            "She used Ravn & Danielsen A/S for the move.",
            "She met Ravn yesterday.",
            "Ravn",
        ),
        (
            "The invoice came from Mirsad e figli last week.",
            "The invoice came from Mirsad last week.",
            "Mirsad",
        ),
        (
            "He is a partner at Yılmaz Tic. in Izmir.",
            "He is a friend of Yılmaz in Izmir.",
            "Yılmaz",
        ),
    ] {
        assert!(people(firm).is_empty(), "{firm}: {:?}", people(firm));
        assert_eq!(people(person), [name], "{person}");
    }
    assert_eq!(people("Antti & Sonja are both coming."), ["Antti", "Sonja"]);
    assert_eq!(people("Mr & Mrs Smith booked together."), ["Mrs Smith"]);
}

#[test]
fn a_given_name_spoken_to_is_a_person_and_a_place_gone_to_is_not() {
    assert_eq!(people("Can I speak to Sarah please?"), ["Sarah"]);
    assert_eq!(
        people("She shouted at Dragana in the car park."),
        ["Dragana"]
    );
    assert!(people("I'm so sorry, said Enes to Pablo.").contains(&"Pablo".to_string()));
    for text in [
        "We drove to Chelsea for the weekend.",
        "I'm staying at Austin for a week.",
        "We were sent to Chester for the scan.",
        "They married at Chelsea last spring.",
    ] {
        assert!(people(text).is_empty(), "{text}: {:?}", people(text));
    }
}

#[test]
fn speech_to_text_names_asked_about_after_kin_with_an_initial_or_a_title() {
    assert_eq!(
        people("could dennis call me back? it's about the filler."),
        ["dennis"]
    );
    assert_eq!(
        people("it's for my wife, jose, she wants a consultation."),
        ["jose"]
    );
    assert_eq!(people("yes, carla l. weber speaking."), ["carla l. weber"]);
    assert_eq!(
        people("it's for my wife, ms. demirel, she wants a peel."),
        ["ms. demirel"]
    );
    assert_eq!(people("Could Joy call me back?"), ["Joy"]);
    for text in [
        "could you call me back?",
        "can botox help with that?",
        "my son will call you later.",
        "Could Monday work for you?",
        "a cached query takes 0.4 ms query time",
        "the doctor gave me a cream for it.",
    ] {
        assert!(people(text).is_empty(), "{text}: {:?}", people(text));
    }
}
