//! Addresses as other countries write them, one span each, and numbers beside capitalised
//! words that are no address.

use super::*;

#[test]
fn addresses_of_other_countries_are_one_span() {
    assert_finds(
        EntityType::Address,
        &[
            (
                "I live at Hauptstraße 12, 10115 Berlin now",
                "Hauptstraße 12, 10115 Berlin",
            ),
            (
                "send it to Kalverstraat 92, 1012 PH Amsterdam, Netherlands.",
                "Kalverstraat 92, 1012 PH Amsterdam, Netherlands",
            ),
            (
                "my address is ul. Marszałkowska 10/4, 00-590 Warszawa",
                "ul. Marszałkowska 10/4, 00-590 Warszawa",
            ),
            (
                "the address is Rua Augusta, 45, 1100-048 Lisboa, Portugal",
                "Rua Augusta, 45, 1100-048 Lisboa, Portugal",
            ),
            (
                "post it to 12 rue de la Paix, 75002 Paris",
                "12 rue de la Paix, 75002 Paris",
            ),
            (
                "I'm at Via Roma 10, 00184 Roma (RM).",
                "Via Roma 10, 00184 Roma (RM)",
            ),
            (
                "we're at Nørregade 10\n1165 København K",
                "Nørregade 10\n1165 København K",
            ),
            (
                "it's Kossuth Lajos utca 12, 1055 Budapest",
                "Kossuth Lajos utca 12, 1055 Budapest",
            ),
            (
                "address: Harmica 9c/7, 33013 Sveta Nedelja, Croatia",
                "Harmica 9c/7, 33013 Sveta Nedelja, Croatia",
            ),
            (
                "I live at 88 Büchel Heights, Janeview, LA 17303, United States.",
                "88 Büchel Heights, Janeview, LA 17303, United States",
            ),
            // No road word: right after a lead-in with a town that ends the sentence, or on a
            // line of its own above a letter's block with a flat or suite, or a town and a region.
            (
                "Ana Horvat lives at 14 Zlatni rt, Rovinj",
                "14 Zlatni rt, Rovinj",
            ),
            (
                "Petra Novak\n\n27 Lipová\nSuite 12\nŽilina\nSlovakia 010 01",
                "27 Lipová\nSuite 12\nŽilina\nSlovakia 010 01",
            ),
            (
                "> Rodrigo Silva\n> 310 Pedro Montt\n> Talca\n> Maule\n> Chile 34600",
                "310 Pedro Montt\n> Talca\n> Maule\n> Chile 34600",
            ),
            // A block ends at its code: the phone line under it stays out.
            (
                "12 Mill Road\nLeeds LS1 4AB\nTel 5551234",
                "12 Mill Road\nLeeds LS1 4AB",
            ),
            // A floor, a side or a flat after the number, as each country writes it.
            (
                "Address: Nørregade 10, 2. th., 1165 København K",
                "Nørregade 10, 2. th., 1165 København K",
            ),
            (
                "please post it to C/ de Alcalá 48, 3º izq, 28014 Madrid.",
                "C/ de Alcalá 48, 3º izq, 28014 Madrid.",
            ),
            (
                "Calle de Serrano 41, 4º B, 28001 Madrid, España",
                "Calle de Serrano 41, 4º B, 28001 Madrid, España",
            ),
            (
                "I'm at Mannerheimintie 5 A 7, 00100 Helsinki",
                "Mannerheimintie 5 A 7, 00100 Helsinki",
            ),
            // Norway's road word in lower case after the name; a post-office box abroad; a
            // six-digit code (Romania).
            (
                "My address is Karl Johans gate 1, 0154 Oslo",
                "Karl Johans gate 1, 0154 Oslo",
            ),
            (
                "Post to Postfach 10 01 01, 70001 Stuttgart",
                "Postfach 10 01 01, 70001 Stuttgart",
            ),
            (
                "Send the invoice to Strada Lipscani 12, 030031 București",
                "Strada Lipscani 12, 030031 București",
            ),
            (
                "Mi dirección es Passeig de Gràcia 92, 08008 Barcelona.",
                "Passeig de Gràcia 92, 08008 Barcelona.",
            ),
            // A town ends before the sentence goes on in lower case.
            (
                "We moved to Keizersgracht 123, 1015 CJ Amsterdam last year.",
                "Keizersgracht 123, 1015 CJ Amsterdam",
            ),
        ],
    );
}

#[test]
fn text_with_letters_outside_ascii_is_read_the_same() {
    // The patterns' word boundaries are ASCII ones (so accented text keeps the fast search):
    // road words that start outside ASCII still start a street, and a suffix is still a word
    // of its own.
    for (text, address) in [
        ("tôi ở Đường Lê Lợi 25, quận 1", "Đường Lê Lợi 25"),
        (
            "Adresa: Șoseaua Kiseleff 10, 011347 București",
            "Șoseaua Kiseleff 10",
        ),
    ] {
        assert!(
            found(text, EntityType::Address)
                .iter()
                .any(|a| a.starts_with(address)),
            "{text}: {:?}",
            kinds(text)
        );
    }
    // A direction letter that starts an accented word is left out, not the street with it.
    let text = "Post it to 100 Paulista Avenue São Paulo please";
    assert!(
        found(text, EntityType::Address)
            .iter()
            .any(|a| a.starts_with("100 Paulista Avenue")),
        "{:?}",
        kinds(text)
    );
    let text = "On 12 Oak Stéphane said Zoë's email is zoe.muller@example.com, tel 07700 900123";
    assert!(
        found(text, EntityType::Address).is_empty(),
        "{:?}",
        kinds(text)
    );
    assert!(has(text, EntityType::Email, "zoe.muller@example.com"));
    assert!(has(text, EntityType::Phone, "07700 900123"));
}

#[test]
fn capitalised_words_with_numbers_are_not_addresses() {
    for text in [
        "I'd like to come in Spring 2026 for Botox",
        "Katie 5 and her brother want to watch",
        "Botox 50 units and Juvederm Volbella 1 ml",
        "Xeomin 100 units, 12 sessions in June",
        "Room 5 at the Harley Street clinic",
        "Place 2 syringes on the tray",
        "Route 66 was closed on Monday",
        "my address has 3 Bedrooms, Kitchen",
        "Your appointment was moved to 10:30 Outpatients, Leeds.",
        "Post-op check is 6 Weeks, Outpatients.",
        "4 Dozen\nRoses\nDelivered 12345",
        "2 Consultations\nTotal 1500",
        "1 Metformin\nStarted in 2019",
        "BP 120/80 at rest, pulse 72.",
        "BP 135 85 sitting, review in 2 weeks.",
        "Meet me at Heathrow gate 5 tomorrow.",
        "Box 3 holds 25 syringes.",
        "Take 2 tablets from the 3º day",
        "Room B 12, second floor, Harley Street clinic.",
        "Take 1 D3 1000 IU daily",
        "Reception 07700 900123\nLondon",
    ] {
        assert!(
            !kinds(text).iter().any(|(k, _)| *k == EntityType::Address),
            "{text}: {:?}",
            kinds(text)
        );
    }
}
