//! Given names the Census lists lack, family names written first, a name split by a comma in a
//! form, speech-to-text names with an unlisted family name, and firms named for their partners.

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
    // An ordinary word before a given name is not a family name.
    assert_eq!(people("Contact Adedeji on the main line."), ["Adedeji"]);
}

#[test]
fn family_name_comma_given_name_is_one_name_unless_a_list_goes_on() {
    assert_eq!(
        people("Patient: Nowak, Zofia\nDOB on file"),
        ["Nowak, Zofia"]
    );
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
}

#[test]
fn firms_named_for_partners_are_not_people() {
    for text in [
        "I worked for Belkacem et Associés for years.",
        "She used Ravn & Danielsen for the move.",
        "The invoice came from Catenazzi e figli last week.",
        "He is a partner at Yılmaz Tic. in Izmir.",
    ] {
        assert!(people(text).is_empty(), "{text}: {:?}", people(text));
    }
}
