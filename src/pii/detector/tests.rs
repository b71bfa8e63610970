//! The detector's unit vectors: each written form of each kind of personal data, and what
//! must be left alone.

use super::*;

mod addresses_abroad;
mod blocks_and_lists;
mod context_model;
mod names_of_many_origins;

#[test]
fn a_country_or_part_of_one_is_not_a_person_but_a_given_name_that_is_one_is() {
    assert_none(
        EntityType::Person,
        &[
            "She moved here from Sierra Leone",
            "Hong Kong was super fun to visit!",
            "Jessicaberg\nUnited States of America 52584",
            "Zavar\nJužná Georgia a Južné Sandwichove ostrovy 936 56",
        ],
    );
    assert_finds(
        EntityType::Person,
        &[
            (
                "I'm glad to hear that Chad is moving in that direction",
                "Chad",
            ),
            ("My name is Georgia Banks", "Georgia Banks"),
            (
                "Georgia Banks called about her filler review",
                "Georgia Banks",
            ),
            // A country's name in another language ("South Africa" in Vietnamese).
            ("The forms were signed by Nam Phi yesterday", "Nam Phi"),
        ],
    );
}

#[test]
fn every_pattern_compiles_including_those_compiled_when_first_needed() {
    Addresses::new().compile_lazy_patterns();
}

fn kinds(text: &str) -> Vec<(EntityType, String)> {
    Detector::default()
        .detect(text, &Known::default())
        .into_iter()
        .map(|e| (e.kind, e.text))
        .collect()
}

fn has(text: &str, kind: EntityType, value: &str) -> bool {
    kinds(text).iter().any(|(k, t)| *k == kind && t == value)
}

/// Each text holds `kind` spanning exactly its value.
fn assert_finds(kind: EntityType, cases: &[(&str, &str)]) {
    for (text, value) in cases {
        assert!(has(text, kind, value), "{text}: {:?}", kinds(text));
    }
}

/// No text holds anything of `kind`.
fn assert_none(kind: EntityType, texts: &[&str]) {
    for text in texts {
        let of_kind: Vec<_> = kinds(text)
            .into_iter()
            .filter(|(k, _)| *k == kind)
            .collect();
        assert!(of_kind.is_empty(), "{text}: {of_kind:?}");
    }
}

#[test]
fn the_seed_sentence_finds_the_address_and_the_condition() {
    let k = kinds("My address is 123 Harley Street and I have a history of heart issues");
    assert_eq!(
        k,
        vec![
            (EntityType::Address, "123 Harley Street".into()),
            (EntityType::MedicalCondition, "heart issues".into())
        ]
    );
}

#[test]
fn identifiers_are_reported_only_when_their_checks_pass() {
    assert!(has(
        "my NHS number is 943 476 5919",
        EntityType::NhsNumber,
        "943 476 5919"
    ));
    assert!(!kinds("my NHS number is 401 023 2138")
        .iter()
        .any(|(k, _)| *k == EntityType::NhsNumber));
    assert!(has(
        "NI number AB 12 34 56 C",
        EntityType::Nino,
        "AB 12 34 56 C"
    ));
    assert!(!kinds("NI number GB 12 34 56 C")
        .iter()
        .any(|(k, _)| *k == EntityType::Nino));
    assert!(has("ssn 123-45-6789", EntityType::Ssn, "123-45-6789"));
    assert!(!kinds("ssn 666-45-6789")
        .iter()
        .any(|(k, _)| *k == EntityType::Ssn));
    assert!(has(
        "card 4111 1111 1111 1111 please",
        EntityType::CardNumber,
        "4111 1111 1111 1111"
    ));
    assert!(!kinds("card 4111 1111 1111 1112 please")
        .iter()
        .any(|(k, _)| *k == EntityType::CardNumber));
    assert!(has(
        "IBAN GB82 WEST 1234 5698 7654 32",
        EntityType::Iban,
        "GB82 WEST 1234 5698 7654 32"
    ));
    assert!(has(
        "from 192.168.10.20 today",
        EntityType::IpAddress,
        "192.168.10.20"
    ));
    assert!(!kinds("version 999.1.2.3")
        .iter()
        .any(|(k, _)| *k == EntityType::IpAddress));
}

#[test]
fn uk_and_us_phone_numbers_and_emails() {
    assert!(has(
        "call me on 07911 123456",
        EntityType::Phone,
        "07911 123456"
    ));
    assert!(has(
        "my number is +44 20 7946 0958.",
        EntityType::Phone,
        "+44 20 7946 0958"
    ));
    assert!(has(
        "reach me at (415) 555-2671",
        EntityType::Phone,
        "(415) 555-2671"
    ));
    assert!(has(
        "email jane.doe@example.co.uk",
        EntityType::Email,
        "jane.doe@example.co.uk"
    ));
}

#[test]
fn context_makes_a_date_a_date_of_birth_and_raises_scores() {
    assert!(has(
        "my date of birth is 12/03/1985",
        EntityType::DateOfBirth,
        "12/03/1985"
    ));
    assert!(has(
        "I was born on 3rd March 1990",
        EntityType::DateOfBirth,
        "3rd March 1990"
    ));
    assert!(has(
        "the letter dated 12/03/2024",
        EntityType::Date,
        "12/03/2024"
    ));
    let d = Detector::default();
    let with = d.detect("my NHS number is 943 476 5919", &Known::default());
    let without = d.detect("reference 943 476 5919", &Known::default());
    assert!(with[0].score > 0.8 && without.iter().all(|e| e.score < with[0].score));
}

#[test]
fn names_postcodes_allergies_medications_and_procedures() {
    assert!(has(
        "Hi, my name is Sarah Connor",
        EntityType::Person,
        "Sarah Connor"
    ));
    assert!(has("I live at SW1A 1AA", EntityType::Postcode, "SW1A 1AA"));
    assert!(has(
        "I'm allergic to penicillin",
        EntityType::Allergy,
        "penicillin"
    ));
    assert!(has(
        "I take warfarin daily",
        EntityType::Medication,
        "warfarin"
    ));
    assert!(has(
        "interested in a liquid rhinoplasty",
        EntityType::Procedure,
        "liquid rhinoplasty"
    ));
    assert!(has(
        "I'm allergic to latex and nuts",
        EntityType::Allergy,
        "nuts"
    ));
    let known = Known {
        names: vec!["Jane Doe".into()],
        phones: vec![],
    };
    let found = Detector::default().detect("yes it's for jane doe", &known);
    assert_eq!(found[0].kind, EntityType::Person);
    assert_eq!(found[0].score, 1.0);
}

#[test]
fn offsets_count_characters_not_bytes() {
    let text = "Zoë’s number: 07911 123456 — thanks";
    let found = Detector::default().detect(text, &Known::default());
    let phone = found.iter().find(|e| e.kind == EntityType::Phone).unwrap();
    let chars: Vec<char> = text.chars().collect();
    assert_eq!(
        chars[phone.start..phone.end].iter().collect::<String>(),
        "07911 123456"
    );
    assert_eq!(phone.start, 14);
}

fn found(text: &str, kind: EntityType) -> Vec<String> {
    kinds(text)
        .into_iter()
        .filter(|(k, _)| *k == kind)
        .map(|(_, t)| t)
        .collect()
}

#[test]
fn names_with_titles_initials_suffixes_and_in_signatures() {
    let person = |t: &str| found(t, EntityType::Person);
    assert_eq!(
        person("Dr. Glen O'Connell MD called"),
        ["Dr. Glen O'Connell MD"]
    );
    assert_eq!(
        person("Contact Kathryn J. Jefferson today"),
        ["Kathryn J. Jefferson"]
    );
    assert_eq!(person("I saw Mrs Hood yesterday"), ["Mrs Hood"]);
    assert_eq!(person("Thanks,\nSian Woods"), ["Sian Woods"]);
    assert_eq!(person("Was that you?\nAbdul"), ["Abdul"]);
    assert_eq!(person("I think Sarah's appointment moved"), ["Sarah"]);
    assert_eq!(
        person("Mohammed Bowen-Simpson rang"),
        ["Mohammed Bowen-Simpson"]
    );
    assert_eq!(person("Tell Derrick that I'm late"), ["Derrick"]);
    assert_eq!(person("Hey Kalani, your appointment is at 3"), ["Kalani"]);
    // A name asked for and given; but a firm someone acts for or that made a thing is no one,
    // and "Mag" without its full stop is magnesium.
    assert_eq!(person("What's your name? Mijo Dautanec"), ["Mijo Dautanec"]);
    assert_none(
        EntityType::Person,
        &[
            "I'm calling on behalf of Allergan Aesthetics.",
            "Mag Sulph 2 g IV given at 10:00.",
            "Juvederm is made by Allergan and Restylane by Galderma.",
            "Payments are processed by Stripe and texts sent by Twilio.",
            "Bocouture is distributed by Merz Aesthetics.",
        ],
    );
    // Titles as other countries write them, with names no list holds.
    assert_eq!(
        person("The results went to Dra. Itzel Quispe on Monday"),
        ["Dra. Itzel Quispe"]
    );
    assert_eq!(
        person("Referral letter from MUDr. Anna Lipková attached"),
        ["MUDr. Anna Lipková"]
    );
    assert_none(
        EntityType::Person,
        &[
            "We have a Bay Area clinic too",
            "She flew Pan Am in 1980",
            "Our HR Manager will call",
        ],
    );
    // Speech-to-text in lower case: only after a lead-in or before "here".
    assert_eq!(person("hi it's brad lynn here"), ["brad lynn"]);
    assert_eq!(person("yes, alyssa speaking"), ["alyssa"]);
    assert!(person("i'm on warfarin and i'm sorry").is_empty());
}

#[test]
fn a_name_that_is_an_ordinary_word_needs_context() {
    let person = |t: &str| found(t, EntityType::Person);
    assert!(person("Will you call me back?").is_empty());
    assert!(person("Hope you are well. May I book for Monday?").is_empty());
    assert!(person("Grace period is fine").is_empty());
    assert_eq!(person("Yes this is Will Jones"), ["Will Jones"]);
    assert_eq!(person("Thanks, Joshua King"), ["Joshua King"]);
    assert_eq!(person("My sister Hope might come too"), ["Hope"]);
    assert_eq!(person("Grace Kelly booked for Tuesday."), ["Grace Kelly"]);
    assert!(person("Mark my appointment as urgent please").is_empty());
    assert!(person("May I speak to someone about prices?").is_empty());
    // A given name opening a sentence that goes on in lower case.
    assert_eq!(person("Robert called about his appointment."), ["Robert"]);
    assert_none(
        EntityType::Person,
        &[
            "In London we have two clinics.",
            "It's June 3rd, 2025",
            "Major bruising is rare.",
            "Patience is needed after a facelift.",
            "Olive oil helps the skin",
            "Vitamin D 1000 IU daily, Omega 3 1000 mg.",
        ],
    );
    assert_eq!(
        found("It's June 3rd, 2025", EntityType::Date),
        ["June 3rd, 2025"]
    );
    // A street is not a person.
    assert!(person("Is the Harley Street clinic open?").is_empty());
    assert!(person("It's on Neil Oval near the station").is_empty());
}

#[test]
fn a_drug_or_treatment_name_is_not_a_person() {
    let text = "Could Pamela call me back? It's about Allegra.";
    assert_eq!(found(text, EntityType::Person), ["Pamela"]);
    assert_eq!(found(text, EntityType::Medication), ["Allegra"]);
    for t in [
        "I'd like Juvederm on Friday",
        "Is Restylane better than Sculptra?",
        "I'm on Ozempic at the moment",
        "Dysport or Xeomin, whichever",
    ] {
        assert!(found(t, EntityType::Person).is_empty(), "{t}");
    }
}

#[test]
fn phone_numbers_in_every_written_form_with_extensions() {
    for (text, number) in [
        ("call (555) 555-0199 today", "(555) 555-0199"),
        ("call 555-555-0199 today", "555-555-0199"),
        ("call 555.555.0199 today", "555.555.0199"),
        ("call +1-555-555-0199 today", "+1-555-555-0199"),
        ("call 001-555-555-0199 today", "001-555-555-0199"),
        ("call +44 (0)20 7946 0958 today", "+44 (0)20 7946 0958"),
        ("call +44(0)1134960000 today", "+44(0)1134960000"),
        ("call 07911 123456 today", "07911 123456"),
        ("call 555-555-0199 x123 today", "555-555-0199 x123"),
        ("call 555-555-0199 ext. 123 today", "555-555-0199 ext. 123"),
        ("call (510)369-2606x909 today", "(510)369-2606x909"),
        ("call 5555550199 today", "5555550199"),
    ] {
        assert_eq!(found(text, EntityType::Phone), [number], "{text}");
    }
    // A possible number from a range not yet allocated is still a phone number.
    assert_eq!(
        found("ring 07700 900123", EntityType::Phone),
        ["07700 900123"]
    );
    // Look-alikes are left to their own rules.
    assert!(found("My order reference is 401 234 5678", EntityType::Phone).is_empty());
    assert!(found("ssn 123-45-6789", EntityType::Phone).is_empty());
    assert!(found("on 12.03.2024 at 10.30", EntityType::Phone).is_empty());
    assert!(found("from 172.31.94.157", EntityType::Phone).is_empty());
    // A local number without an area code only where a phone is being talked about.
    assert_eq!(
        found("my number is 555 0199", EntityType::Phone),
        ["555 0199"]
    );
    assert!(found("it costs 555 0199 points", EntityType::Phone).is_empty());
}

#[test]
fn addresses_are_one_span_across_commas_and_lines() {
    let address = |t: &str| found(t, EntityType::Address);
    assert_eq!(
        address("Send it to 58683 Mitchell Parks Suite 907\nLake Laura, MT 87630 thanks"),
        ["58683 Mitchell Parks Suite 907\nLake Laura, MT 87630"]
    );
    assert_eq!(
        address("I live at 12 Baker Street, London W1U 6TE."),
        ["12 Baker Street, London W1U 6TE"]
    );
    assert_eq!(
        address("Flat 2\n14 Acacia Avenue\nReading\nRG1 4AB"),
        ["Flat 2\n14 Acacia Avenue\nReading\nRG1 4AB"]
    );
    assert_eq!(
        address("Studio 6\nNeil Oval\nPort Janet\nB7E 9EP"),
        ["Studio 6\nNeil Oval\nPort Janet\nB7E 9EP"]
    );
    assert_eq!(
        address("at 1600 Pennsylvania Avenue NW, Washington, DC 20500"),
        ["1600 Pennsylvania Avenue NW, Washington, DC 20500"]
    );
    assert_eq!(
        address("write to PO Box 123, Springfield, IL 62704"),
        ["PO Box 123, Springfield, IL 62704"]
    );
    assert_eq!(
        address("PSC 1234, Box 5678\nAPO AA 12345"),
        ["PSC 1234, Box 5678\nAPO AA 12345"]
    );
    assert_eq!(
        address("I'm at 5/97 Donna Bypass, West Kevin, NT, 8095."),
        ["5/97 Donna Bypass, West Kevin, NT, 8095"]
    );
    assert!(address("It's on Baker Street").is_empty());
}

#[test]
fn grouped_cards_spaced_ibans_and_both_ip_versions() {
    assert_eq!(
        found("card 4111-1111-1111-1111", EntityType::CardNumber),
        ["4111-1111-1111-1111"]
    );
    assert_eq!(
        found("amex 3782 822463 10005", EntityType::CardNumber),
        ["3782 822463 10005"]
    );
    assert_eq!(
        found("iban DE89 3704 0044 0532 0130 00", EntityType::Iban),
        ["DE89 3704 0044 0532 0130 00"]
    );
    assert_eq!(
        found("from 2001:db8::8a2e:370:7334 today", EntityType::IpAddress),
        ["2001:db8::8a2e:370:7334"]
    );
    assert_eq!(
        found(
            "from b6d3:1854:fc66:2a38:c486:9190:a15d:1150.",
            EntityType::IpAddress
        ),
        ["b6d3:1854:fc66:2a38:c486:9190:a15d:1150"]
    );
    assert!(found("at 10:30:00 sharp", EntityType::IpAddress).is_empty());
}

#[test]
fn an_address_or_number_stops_where_it_ends() {
    let text = "It's 12 Baker Street, 07911 123456 is my mobile";
    assert_eq!(found(text, EntityType::Address), ["12 Baker Street"]);
    assert_eq!(found(text, EntityType::Phone), ["07911 123456"]);
    let text = "I'm at 12 Baker Street. Thanks Sarah, OK";
    assert_eq!(found(text, EntityType::Address), ["12 Baker Street"]);
    assert_eq!(
        found("I live at 12 Baker Street.", EntityType::Address),
        ["12 Baker Street"]
    );
    assert_eq!(
        found("I live at 12 Baker St. in town", EntityType::Address),
        ["12 Baker St."]
    );
    assert_eq!(
        found("Call me on 07911 123456. 2 pm is best", EntityType::Phone),
        ["07911 123456"]
    );
    assert_eq!(
        found("I'm 45 07911 123456", EntityType::Phone),
        ["07911 123456"]
    );
    assert!(found("Parking is on Level 3 Car Park", EntityType::Address).is_empty());
    // Times and ranges are not local numbers, whatever word they sit in.
    for t in [
        "Is the clinic open during 9.00 - 17.30?",
        "Can you call me back 10.30 - 11.30?",
        "the cancellation fee is 1500 2000",
    ] {
        assert!(found(t, EntityType::Phone).is_empty(), "{t}");
    }
    assert_eq!(
        found("IP:2001:db8::1 was blocked", EntityType::IpAddress),
        ["2001:db8::1"]
    );
}

#[test]
fn names_end_where_they_end_and_places_and_drugs_are_not_names() {
    let person = |t: &str| found(t, EntityType::Person);
    assert_eq!(person("Tell Derrick I called"), ["Derrick"]);
    assert_eq!(person("Thanks John I'll ring you"), ["John"]);
    assert_none(
        EntityType::Person,
        &[
            "it's Allegra",
            "this is Allegra",
            "I'm on Yasmin",
            "Is the Chelsea clinic open?",
            "Is the Victoria branch open?",
            "I'm in Kent this week",
        ],
    );
    // A long run of names is read a window at a time, each name found once.
    let many = "Sarah Jones and ".repeat(500);
    assert_eq!(person(&many).len(), 500);
}

#[test]
fn ordinary_talk_is_left_alone() {
    assert!(kinds("I'd like to book an appointment for next week please").is_empty());
    assert!(kinds("Thanks, that's great, see you then.").is_empty());
}

mod extra_terms {
    use super::*;

    #[test]
    fn a_clinic_can_add_its_own_terms() {
        let extra = crate::pii::read_extra_terms(
            "# ours\nprocedure: vampire facial\nmedication: tirzepatide\n",
        )
        .unwrap();
        let d = Detector::new(&extra);
        let found = d.detect(
            "Do you do the vampire facial? I'm on tirzepatide.",
            &Known::default(),
        );
        let kinds: Vec<EntityType> = found.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EntityType::Procedure, EntityType::Medication]);
        assert!(crate::pii::read_extra_terms("gadget: thing").is_err());
        assert!(crate::pii::read_extra_terms("no colon here").is_err());
    }
}

#[test]
fn numbers_said_as_words_are_phone_numbers() {
    assert_finds(
        EntityType::Phone,
        &[
            (
                "my number is oh seven seven oh oh nine double oh one two three",
                "oh seven seven oh oh nine double oh one two three",
            ),
            (
                "call me back on plus four four seven nine one one, one two three, four five six",
                "plus four four seven nine one one, one two three, four five six",
            ),
            (
                "it's zero two zero seven nine four six zero nine five eight, thanks",
                "zero two zero seven nine four six zero nine five eight",
            ),
            (
                "you can reach me on oh 7 9 1 1 double 2 3 4 5 6",
                "oh 7 9 1 1 double 2 3 4 5 6",
            ),
            (
                "phone: five five five, triple one, two six seven",
                "five five five, triple one, two six seven",
            ),
        ],
    );
}

#[test]
fn numbers_of_other_countries_are_phone_numbers_where_a_phone_is_talked_of() {
    assert_finds(
        EntityType::Phone,
        &[
            ("my number is 927 742 806", "927 742 806"),
            ("Phone: (351) 964 320 890", "(351) 964 320 890"),
            ("call me on +(370) 14464237", "+(370) 14464237"),
            ("my phone is (+358) 978500578.", "(+358) 978500578"),
            ("my number's 200 93 42, that's the best one", "200 93 42"),
            // Or a label after it, as a signature block or a form gives one.
            ("Jane Beck\n340 17 85-Office,367 98 21-Fax", "340 17 85"),
            ("Jane Beck\n340 17 85-Office,367 98 21-Fax", "367 98 21"),
            (
                "Regards,\nTom\n530 91 21 office\n175 05 12 fax",
                "175 05 12",
            ),
            (
                "Sofia Reis\n(351) 965 864 419 (mobile)",
                "(351) 965 864 419",
            ),
        ],
    );
    // Without phone talk, a bare nine digits is not taken for a number; nor with a word after
    // it that only looks like a label.
    for text in [
        "the batch was 927 742 806 units",
        "order 927 742 806 office supplies",
        "Invoice 5309121 home delivery",
        "Item 927 742 806 office chairs",
    ] {
        assert!(
            !kinds(text).iter().any(|(k, _)| *k == EntityType::Phone),
            "{text}: {:?}",
            kinds(text)
        );
    }
}

#[test]
fn counting_and_talk_of_numbers_are_not_phone_numbers() {
    for text in [
        "I have two or three questions about the filler",
        "one two three, can you hear me?",
        "it's double the price of last year, nine hundred",
        "we said four or five sessions, maybe six",
        "my order reference is five five five one two three four",
    ] {
        assert!(
            !kinds(text).iter().any(|(k, _)| *k == EntityType::Phone),
            "{text}: {:?}",
            kinds(text)
        );
    }
}

#[test]
fn names_no_list_holds_are_found_where_a_name_is_expected() {
    assert_finds(
        EntityType::Person,
        &[
            // Shaped like names, after a lead-in, before "here", on a line of their own.
            (
                "Hello, this is Afruza Zinnurova, I had fillers last year.",
                "Afruza Zinnurova",
            ),
            (
                "Omolabake Owoyemi here, is that a problem?",
                "Omolabake Owoyemi",
            ),
            ("Thanks,\nSamandar Jahongirov", "Samandar Jahongirov"),
            ("Tell Jędrzej that I'll be late.", "Jędrzej"),
            // Listed once their letters are read as ASCII.
            ("Yes, Sinikka Mäkinen speaking.", "Sinikka Mäkinen"),
            // Particles inside, titles of other languages before.
            (
                "I was referred by Nadine de la Fleche for Profhilo.",
                "Nadine de la Fleche",
            ),
            (
                "Yes, Joep P. van de Kooij speaking.",
                "Joep P. van de Kooij",
            ),
            ("Name: Dott. Giustino Gregorio", "Dott. Giustino Gregorio"),
            ("Please ask Dr. Maria de la Cruz", "Dr. Maria de la Cruz"),
            // A particle in capitals can be the surname itself.
            ("Ask Anna Du to call me", "Anna Du"),
            // Asked about, after a kinship word, signing off, on a form.
            ("Could Oluwaseun call me back?", "Oluwaseun"),
            (
                "It's for my husband, Chidubem Okafor, he wants fillers.",
                "Chidubem Okafor",
            ),
            ("See you then.\nThanks,\nOluwadamilare", "Oluwadamilare"),
            (
                "Patient: Janko R. Štifanić\nDOB on file",
                "Janko R. Štifanić",
            ),
        ],
    );
}

#[test]
fn capitalised_words_no_list_holds_are_not_people_without_a_lead_in() {
    for text in [
        "The Vapi Integration Handler is production-ready.",
        "- Webhook triggered within 2 seconds",
        "Zero unhandled exceptions",
        "App doesn't crash under concurrent load",
        "Morpheus Eight and Sculptra are popular this year",
        "I was referred by Royal Free Hospital for the scan",
        "Could Botox help with my frown lines?",
        // An ordinary word with an accent is still the ordinary word ("rose").
        "Thanks, we had a glass of Rosé at the clinic",
    ] {
        assert!(
            found(text, EntityType::Person).is_empty(),
            "{text}: {:?}",
            kinds(text)
        );
    }
}

/// Names that are something else on a closer look: a town ending in "Ville", a street named
/// after someone, a firm whose legal form runs into the name, two surnames joined with no
/// given name, a magazine after a weak lead-in.
#[test]
fn firms_towns_and_streets_named_like_people_are_not_people() {
    let people = |text: &str| -> Vec<String> {
        kinds(text)
            .into_iter()
            .filter(|(k, _)| *k == EntityType::Person)
            .map(|(_, t)| t)
            .collect()
    };
    let none: Vec<String> = Vec::new();
    assert_eq!(
        people("Meet me at 71 Keogh Street D95W5VW Nichole Ville"),
        none
    );
    assert_eq!(people("The restaurant is at 8643 Manuel Rodríguez"), none);
    assert_eq!(
        people("We'll meet at Neves, 388 Av Tatiana Nogueira, Évora"),
        none
    );
    assert_eq!(people("Pasadizo de Viviana Salmerón 972, Lugo"), none);
    assert_eq!(people("Meet me at USNV Mitchell, FPO AE 26694"), none);
    assert_eq!(
        people("The big three: Svendsen & Søn ApS and Bach ApS."),
        none
    );
    assert_eq!(
        people("The version recorded for Harrison-Williams sold well."),
        none
    );
    assert_eq!(
        people("He listed his top songs for Entertainment Weekly."),
        none
    );
    // People stay people: a double surname with its given name or after a strong lead-in, a
    // name after a strong lead-in, a time or a list's number before a name, a referral "via"
    // someone, a title before a surname that is also a place's word, a surname that is also a
    // legal form.
    assert_eq!(
        people("this is Harrison-Jones speaking"),
        vec!["Harrison-Jones"]
    );
    assert_eq!(people("at 10 Anna will come in"), vec!["Anna"]);
    assert_eq!(
        people("Patients:\n1. John Smith\n2. Mary Jones"),
        vec!["John Smith", "Mary Jones"]
    );
    assert_eq!(people("I was referred via Dr. Patel"), vec!["Dr. Patel"]);
    assert_eq!(people("Please ask for Mr John Town."), vec!["Mr John Town"]);
    assert_eq!(people("my name is Nguyen Cao Ky"), vec!["Nguyen Cao Ky"]);
    assert_eq!(
        people("Please ask for Amelia Humphreys-Stewart."),
        vec!["Amelia Humphreys-Stewart"]
    );
    assert_eq!(
        people("hi yeah my name is Matea Bogdan"),
        vec!["Matea Bogdan"]
    );
}
