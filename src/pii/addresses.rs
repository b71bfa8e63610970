//! Finding postal addresses as one span the way a caller gives one. US, UK and Commonwealth:
//! flat or unit, house number, street name and suffix (USPS list, UK and AU/NZ road words),
//! apartment or suite, then town, state or county and ZIP or postcode across commas and line
//! breaks; PO boxes and US military addresses. Continental and other countries: the street
//! word before the name (Rue, Via, Calle, Rua, ul., Jalan…), inside it (…straße, …vej,
//! …kuja, …straat) or after it (… utca, … Caddesi, … iela), the number after the name, then
//! the postcode before the town (10115 Berlin, 1012 AB Amsterdam, 00-950 Warszawa,
//! 1100-148 Lisboa) or after it, or the number first as an English speaker gives a street
//! abroad ("54 Via Travaglia"); a floor, side or flat after the number ("2. th.", "3º izq",
//! "5 A 7"); a post-office box abroad before its code and town ("Postfach 10 01 01, 70001
//! Stuttgart"); a country at the end of any address; and a letter's address
//! block, line by line (quoted lines too), down to the line with its code. A number and a name
//! with no road word ("88 Palárikova") only atop such a block that holds a flat or suite or
//! three lines, or right after a lead-in to an address with a town that ends the sentence.

use std::collections::HashSet;

use regex::Regex;

use super::pattern::{re, LazyPattern};

use super::name_words::{calendar_word, TITLES};
use super::{EntityType, Finding};

const STREET_SUFFIXES: &str = include_str!("vocab/street_suffixes.txt");

/// US states and territories (USPS codes, and names), Canadian provinces, Australian states.
const REGIONS: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|AS|GU|MP|PR|VI|FM|MH|PW|AA|AE|AP|AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT|ACT|NSW|QLD|SA|TAS|VIC|WA|Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming";

/// UK postcode (the shapes Royal Mail issues), Canadian postal code or Irish Eircode: codes
/// that say they are codes without a state before them.
const POSTCODE: &str = r"(?:(?:GIR ?0AA|[A-PR-UWYZ](?:\d{1,2}|[A-HK-Y]\d{1,2}|\d[A-HJKPS-UW]|[A-HK-Y]\d[ABEHMNPRV-Y]) ?\d[ABD-HJLNP-UW-Z]{2})|[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d|[AC-FHKNPRTV-Y]\d{2} ?[AC-FHKNPRTV-Y\d]{4})\b";

/// Street suffixes written short, which may take a full stop ("St.", "Ave."); a full word
/// never takes one, so a sentence's full stop stays out of the address.
const ABBREVIATIONS: &[&str] = &[
    "St", "Ave", "Av", "Rd", "Blvd", "Dr", "Ln", "Ct", "Pl", "Sq", "Ter", "Cir", "Trl", "Hwy",
    "Pkwy", "Expy", "Fwy", "Ext", "Hts", "Cres", "Gdns", "Aly",
];

/// Road words written before the street's name (case as written).
const ROAD_BEFORE: &str = r"C/|Pza\.|Ctra\.|Rue|Avenue|Av\.|Avda\.|Boulevard|Bd|Chemin|Allée|Impasse|Place|Quai|Route|Cours|Passage|Square|Via|Viale|Vicolo|Piazza|Piazzale|Corso|Strada|Contrada|Largo|Borgo|Rotonda|Calle|Carrer|Passeig|Plaça|Plaza|Paseo|Camino|Carretera|Ronda|Avinguda|Avenida|Pasaje|Glorieta|Vial|Travesía|Rua|Travessa|Praça|Alameda|Estrada|Beco|ul\.|ulica|al\.|aleja|pl\.|plac|os\.|Jalan|Jl\.|Gang|Gg\.|Str\.|Calea|Aleea|Bulevardul|Bd\.|Piața|Splaiul|Șoseaua|Intrarea|Rruga|Đường|Phố|Ngõ|Carrera|Diagonal|Transversal|Privada|Cerrada|Andador|Callejón|rue|avenue|via|viale|piazza|calle|avenida|rua|praça|plaza|strada|rruga";

/// Of the road words above, those an English sentence also puts after a number ("3 Square
/// Meals", "2 Gang Leaders"): not read as a street after its house number.
const NOT_AFTER_NUMBER: &[&str] = &[
    "Square",
    "Place",
    "Passage",
    "Route",
    "Cours",
    "Largo",
    "Diagonal",
    "Transversal",
    "Privada",
    "Vial",
    "Gang",
];
/// French road words in lower case after a house number ("12 rue de la Paix"); not "via" ("2
/// via Zoom").
const LOWER_AFTER_NUMBER: &str =
    "rue|avenue|boulevard|chemin|allée|impasse|place|quai|route|cours|passage|square";

/// Marks that open a quoted or listed line ("> ", "* ", "• ", and the "?" a bullet lost in
/// another encoding leaves).
pub(super) const LINE_MARKS: &[char] = &['>', '*', '•', '?'];

/// Road words that end a street's name, written as one word with it ("Hauptstraße").
const ROAD_INSIDE: &str = r"straße|strasse|gasse|weg|platz|allee|damm|ufer|steig|pfad|markt|vej|gade|stræde|vænget|vägen|väg|gatan|gata|gränd|torget|stigen|backen|veien|vei|gaten|plassen|kuja|tie|katu|polku|kaari|rinne|laan|straat|gracht|singel|plein|kade|dreef|steeg|dijk|hof";

/// Road words written after the street's name as a word of their own ("Kossuth utca").
const ROAD_AFTER: &str = r"u\.|krt\.|körút|köz|sor|mnt\.?|pst\.?|tn\.?|Mahallesi|Mah\.|Sok\.|Bulvarı|nám\.|třída|trieda|utca|út|útja|tér|sokak|sokağı|Sokak|caddesi|Caddesi|Cad\.|Sk\.|iela|gatvė|prospektas|tänav|maantee|tee|allé|Allé|gate|gata|vei|veien|vegen|Straße|Strasse|Str\.|Weg|Platz|Allee|Gasse|vej|gade|gatan|vägen|cesta|ulica|bulevardi|tie|katu|kuja|dolina|náměstí|námestie|trg";

/// Road words after the name that English also writes in lower case after a name ("Heathrow
/// gate 5"): a street only with a postcode and town after its number.
const WITH_CODE_ONLY: &[&str] = &["gate"];

/// Countries an address may end with (English names, and the names the countries use).
const COUNTRIES: &str = r"United States(?: of America)?|USA|U\.S\.A\.|United Kingdom|UK|Canada|Australia|New Zealand|Ireland|Éire|Germany|Deutschland|Austria|Österreich|Switzerland|Schweiz|Suisse|Svizzera|Liechtenstein|Luxembourg|Luxemburg|France|Belgium|Belgique|België|(?:Kingdom of the )?Netherlands|Nederland|Denmark|Danmark|Sweden|Sverige|Norway|Norge|Finland|Suomi|Iceland|Ísland|Estonia|Eesti|Latvia|Latvija|Lithuania|Lietuva|Poland|Polska|Czech Republic|Czechia|Česko|Slovakia|Slovensko|Slovenia|Slovenija|Croatia|Hrvatska|Bosnia and Herzegovina|Serbia|Albania|Shqipëria|Hungary|Magyarország|Romania|România|Bulgaria|Greece|Cyprus|Malta|Italy|Italia|Spain|España|Portugal|Brazil|Brasil|Argentina|Chile|Colombia|Mexico|México|Venezuela|Turkey|Türkiye|Algeria|Morocco|Tunisia|Egypt|Jordan|Bahrain|United Arab Emirates|Nigeria|Ghana|Kenya|South Africa|Ethiopia|Tanzania|India|Pakistan|Bangladesh|Indonesia|Philippines|Thailand|Vietnam|Viet Nam|Azerbaijan|Uzbekistan";

/// Postcodes written before or after the town in continental and other countries.
const POSTCODE_ABROAD: &str =
    r"(?:[A-Z]{1,2}-)?\d{4,5}|\d{4} ?[A-Z]{2}|\d{2}-\d{3}|\d{4}-\d{3}|\d{3} \d{2}|\d{5}-\d{3}";

/// The small words inside a country's name as it is written ("United States of America",
/// "Macedónia do Norte", "Zuid-Georgia en de Zuidelijke Sandwicheilanden").
const JOINING_WORDS: &str =
    "of|and|the|do|da|das|dos|de|del|della|di|du|y|e|en|a|i|og|och|et|und|la|le|van|der|den|het";

/// A line that opens with one of these is a phone's or a reference's, not the end of an address
/// block ("Fax 5551234", "Ref 1234567" under a town).
const NOT_A_PLACE_LINE: &[&str] = &[
    "tel",
    "tél",
    "t",
    "ph",
    "phone",
    "telephone",
    "fax",
    "mobile",
    "mob",
    "m",
    "cell",
    "home",
    "work",
    "office",
    "telefon",
    "teléfono",
    "telefono",
    "celular",
    "handy",
    "tlf",
    "gsm",
    "call",
    "ref",
    "reference",
    "booking",
    "order",
    "invoice",
    "account",
    "room",
    "policy",
    "member",
    "patient",
    "nhs",
];

/// Six-digit postcodes (Romania): only after a street with its road word, never after a bare
/// word and number, where "07700 900123" (a UK mobile) would read as a street and its code.
const SIX_DIGIT_CODE: &str = r"\d{6}";

pub(super) struct Addresses {
    street: Regex,
    /// Streets led by their road word (Rue…, ul.…) or by their number (12 rue…).
    street_abroad: [Regex; 2],
    /// A word and the number after it: a street when the word ends in a road word
    /// ("Hauptstraße 12") or is one ("… utca 12"), or, with no road word ("Harmica 9c/7"),
    /// when a postcode and town follow. One scan serves the three.
    word_and_number: Regex,
    /// A house number and one word that holds its road word ("48 Bratskovvej").
    number_and_word: Regex,
    road_inside: Vec<String>,
    road_after: HashSet<String>,
    boxed: Regex,
    /// A post-office box as other countries write it ("Postfach 10 01 01", "BP 45"): an
    /// address only with the postcode and town after it.
    boxed_abroad: LazyPattern,
    tail: Regex,
    tail_abroad: Regex,
    /// The postcode before the town only (what a name and number without a road word need).
    code_then_town: Regex,
    country: Regex,
    /// The lines of a letter's address block after its street: one that ends it (a code,
    /// after a town, region or country or alone), and one that may stand in it (a town, a
    /// region, a flat or suite).
    block_line: [LazyPattern; 2],
    /// A town that ends the sentence after a numbered street (", Puolanka.").
    town_last: LazyPattern,
    /// The rest of a street's line after its number and first word: more words of its name,
    /// a flat or suite ("606 Bastián| Navarro", "98 Rybacka| Suite 788").
    rest_of_street_line: LazyPattern,
    suffixes: HashSet<&'static str>,
}

pub(super) fn street_suffixes() -> HashSet<&'static str> {
    STREET_SUFFIXES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

impl Addresses {
    pub(super) fn new() -> Self {
        let suffixes = street_suffixes();
        let alternation = |short: bool| {
            let mut words: Vec<&str> = suffixes
                .iter()
                .copied()
                .filter(|s| ABBREVIATIONS.contains(s) == short)
                .collect();
            words.sort_by_key(|s| std::cmp::Reverse(s.len()));
            words
                .iter()
                .map(|s| regex::escape(s))
                .collect::<Vec<_>>()
                .join("|")
        };
        let suffix = format!(
            r"(?:(?:{})(?-u:\b)|(?:{})(?-u:\b)\.?)",
            alternation(false),
            alternation(true)
        );
        let word = r"(?:\p{Lu}[\p{L}'’-]*|\d+(?:st|nd|rd|th))";
        let sep = r"(?:\s*,\s*|\s*\n\s*|[ \t]+)";
        let town = r"\p{Lu}[\p{L}'’-]*\.?(?:[ \t]+\p{Lu}[\p{L}'’-]*\.?){0,3}";
        // A town abroad: particles inside ("Reguengos de Monsaraz"), a province after ("(PG)").
        // A particle stands between two words of the name, never last: "Amsterdam last year"
        // ends at "Amsterdam".
        let town_abroad = r"\p{Lu}[\p{L}'’-]*\.?(?:[ \t]+(?:(?:de|da|do|dos|das|del|di|la|le|les|los|las|el|en|sur|sous|lès|am|an|der|im|op|aan|nad|pod|upon)[ \t]+){0,2}\p{Lu}[\p{L}'’-]*\.?)*(?:[ \t]+\(\p{Lu}{2}\))?";
        let name_word = r"(?:\p{Lu}[\p{L}'’.-]*|de|da|do|dos|das|del|della|di|du|des|la|le|les|y|e|van|von|der|den|het)";
        let number = r"(?:\d{1,5}[a-zA-Z]?(?:\s?[/-]\s?\d{1,5}[a-zA-Z]?)?|[Ss]/[Nn])(?-u:\b)";
        // A flat, floor or door after the number: a word and its number ("Piso 3", "lgh
        // 1102"), a Danish floor and side ("2. th.", "st. tv."), a Spanish or Portuguese
        // floor ("3º izq", "4º B", "1.º Esq.") or a Norwegian flat number ("H0101"); first, a
        // Nordic staircase and flat straight after the number ("5 A 7"; not "1 D3").
        let unit_abroad = r"(?:[ \t][A-H][ \t]\d{1,3}(?-u:\b))?(?:\s*,?\s*(?:(?:Piso|Piano|Puerta|Planta|Appartamento|Apartment|Appt\.?|Apt\.?|Apto\.?|Suite|Unit|Edif\.|Edificio|Depto\.|Dpto\.|Int\.|Interior|Esc\.|Escalera|lok\.|m\.|Stiege|Top|Etage|Bloco|Andar|lgh\.?)\s*\d+[a-zA-Z]?(?-u:\b)|(?:\d{1,2}\.|st\.|kl\.)[ \t]?(?:th|tv|mf|sal)(?-u:\b)\.?|\d{1,2}\.?[º°ª](?:[ \t]?(?:izq(?:da|uierda)?|dcha|dcho|der(?:echa)?|esq|dto|[A-Z]|\d{1,2}[ºª]?)(?-u:\b)\.?)?|H\d{4}(?-u:\b))){0,2}";
        let unit = r"(?:Flat|Apartment|Apt\.?|Unit|Suite|Ste\.?|Studio|Room|Floor|Level)";
        // A road word starts at a word's start; the ASCII boundary cannot see one before a
        // letter outside ASCII ("Đường"), so those words go without it.
        let (ascii, other): (Vec<&str>, Vec<&str>) = ROAD_BEFORE
            .split('|')
            .partition(|w| w.starts_with(|c: char| c.is_ascii()));
        let road_before = format!(
            r"(?:(?-u:\b)(?:{})|(?:{}))",
            ascii.join("|"),
            other.join("|")
        );
        let after_number: Vec<&str> = ascii
            .iter()
            .chain(&other)
            .copied()
            .filter(|w| w.starts_with(char::is_uppercase) && !NOT_AFTER_NUMBER.contains(w))
            .collect();
        let road_after_number = format!("{}|{LOWER_AFTER_NUMBER}", after_number.join("|"));
        Addresses {
            street: re(&format!(
                r"(?P<unit>(?-u:\b){unit}\s+#?\d+[A-Za-z]?(?:\s*,\s*|\s*\n\s*|\s+))?(?P<number>(?-u:\b)\d{{1,6}}[A-Za-z]?(?:[/-]\d{{1,5}}[A-Za-z]?)?,?\s+)?(?:(?:N|S|E|W|North|South|East|West)\.?\s+)?(?:{word}[ \t]+){{1,3}}{suffix}(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)(?-u:\b))?(?:\s*,?\s*{unit}\s*#?\d+[A-Za-z]?(?-u:\b)|\s*,?\s*#\s?\d+[A-Za-z]?(?-u:\b))?"
            )),
            // One pattern per way of writing, so each is searched for by its own literal (the
            // road word) rather than every capital letter in the text.
            street_abroad: [
                format!(r"{road_before}[ \t]+(?:{name_word}[ \t]+){{0,4}}\p{{Lu}}[\p{{L}}'’.-]*,?[ \t]+(?:No\.?[ \t]*)?{number}"),
                // The number first, then the road word: "12 rue de la Paix", and the order an
                // English speaker gives a street abroad in ("54 Via Travaglia").
                format!(r"(?-u:\b)\d{{1,5}}[a-zA-Z]?(?:[ \t]?(?:bis|ter))?,?[ \t]+(?:{road_after_number})[ \t]+(?:(?:{name_word}|l'|d')[ \t]+){{0,4}}\p{{Lu}}[\p{{L}}'’-]*"),
            ]
            .map(|way| re(&format!("{way}{unit_abroad}"))),
            word_and_number: re(&format!(
                r"\p{{L}}[\p{{L}}'’.-]*[ \t]+{number}{unit_abroad}"
            )),
            number_and_word: re(&format!(
                r"(?-u:\b)\d{{1,5}}[a-zA-Z]?,?[ \t]+\p{{Lu}}[\p{{L}}'’-]*{unit_abroad}"
            )),
            road_inside: ROAD_INSIDE.split('|').map(str::to_string).collect(),
            // Each as written, and without its full stop ("mnt." and "mnt").
            road_after: ROAD_AFTER
                .split('|')
                .map(|w| w.replace(['\\', '?'], ""))
                .flat_map(|w| [w.trim_end_matches('.').to_string(), w])
                .collect(),
            tail_abroad: re(&format!(
                r"^{sep}(?:(?:{POSTCODE_ABROAD}|{SIX_DIGIT_CODE}),?{sep}{town_abroad}|{town_abroad},?[ \t]+(?:{POSTCODE_ABROAD})\b|{town}{sep}(?:\p{{Lu}}[\p{{L}}'’-]*[ \t]+){{0,3}}\p{{Lu}}[\p{{L}}'’-]*[ \t]+\d{{5}}\b)"
            )),
            code_then_town: re(&format!(r"^{sep}(?:{POSTCODE_ABROAD}),?{sep}{town_abroad}")),
            country: re(&format!(r"^(?:\s*,\s*|\s*\n\s*)(?:{COUNTRIES})\b")),
            block_line: [
                // Ends the block: a code, after a town, a region or a country of up to seven
                // words, capitalised, in brackets or a small joining word between them ("United
                // States of America", "Holy See (Vatican City State)", "Macedónia do Norte");
                // a seven-digit code (Chile) too, here only.
                LazyPattern::new(format!(
                    r"^(?:\p{{Lu}}[\p{{L}}'’.-]*(?:[ \t]+(?:\p{{Lu}}[\p{{L}}'’.-]*|(?:{JOINING_WORDS})|\([^()\n]{{1,40}}\))){{0,6}},?[ \t]+)?(?:{POSTCODE}|(?:{POSTCODE_ABROAD})\b|\d{{5}}(?:-\d{{4}})?\b|\d{{7}}\b)$"
                )),
                // May stand in it: a town, a region, a flat or suite on its own line.
                LazyPattern::new(format!(
                    r"^(?:{town_abroad}|{REGIONS}|(?:{unit}|Piso|Piano|Puerta|Planta|Appartamento|Apto\.?|Dpto\.?|Depto\.?)[ \t]*#?\d+[A-Za-z]?)$"
                )),
            ],
            town_last: LazyPattern::new(format!(r"^,[ \t]+{town}")),
            rest_of_street_line: LazyPattern::new(format!(
                r"^(?:[ \t]+[\p{{L}}'’-]+){{0,3}}(?:[ \t]*,?[ \t]*(?:{unit}|Piso|Dpto\.|Depto\.|Puerta)[ \t]*#?\d+[A-Za-z]?)?[ \t]*(?:\r?\n|$)"
            )),
            boxed: re(
                r"(?-u:\b)(?:(?:Unit|PSC)\s+\d{3,5},?\s+Box\s+\d{3,5}|USNS?\s+[A-Z][a-zA-Z]+|USCGC\s+[A-Z][a-zA-Z]+|P\.?\s?O\.?\s+Box\s+\d{1,6})",
            ),
            boxed_abroad: LazyPattern::new(
                r"(?-u:\b)(?:Postfach|Postboks|Postbus|Boîte [Pp]ostale|B\.P\.|BP|Case [Pp]ostale|Casella [Pp]ostale|Apartado(?: de [Cc]orreos)?|Caixa [Pp]ostal|Skrytka [Pp]ocztowa)[ \t]+\d{1,6}(?:[ \t]\d{2}){0,3}(?-u:\b)".to_string(),
            ),
            tail: re(&format!(
                r"^{sep}(?:(?:[AFD]PO)\s+A[AEP]\s+\d{{5}}|(?:{town}{sep})?(?:{REGIONS})\.?(?:\s*,\s*|[ \t]+)(?:{POSTCODE}|\d{{5}}(?:-\d{{4}})?\b|\d{{4}}\b)|(?:{town}{sep})?{POSTCODE}|(?P<no_code>{town},?[ \t]+(?:{REGIONS})\b))"
            )),
            suffixes,
        }
    }

    /// Every pattern compiled only when first needed, compiled now (for the tests, which build
    /// every pattern).
    #[cfg(test)]
    pub(super) fn compile_lazy_patterns(&self) {
        for lazy in [
            &self.boxed_abroad,
            &self.town_last,
            &self.rest_of_street_line,
        ]
        .into_iter()
        .chain(&self.block_line)
        {
            lazy.get();
        }
    }

    /// The street suffixes, for telling a street from a surname.
    pub(super) fn suffixes(&self) -> &HashSet<&'static str> {
        &self.suffixes
    }

    /// Addresses in `text`; `lower` its ASCII lower case.
    pub(super) fn find(&self, text: &str, lower: &str, found: &mut Vec<Finding>) {
        if !text.bytes().any(|b| b.is_ascii_digit()) {
            return;
        }
        let context = |start: usize| {
            let mut from = start.saturating_sub(32);
            while !lower.is_char_boundary(from) {
                from -= 1;
            }
            let w = &lower[from..start];
            [
                "address",
                "live at",
                "lives at",
                "living at",
                "post",
                "send",
                "moved",
            ]
            .iter()
            .any(|c| w.contains(c))
        };
        for c in self.street.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            // Where it starts and ends, whether it has a house number, and whether a flat or
            // unit without one ends its line ("Studio 6\nNeil Oval"; or "Level 3 Car Park"
            // would be an address).
            let read = |c: &regex::Captures<'_>, base: usize| {
                let m = c.get(0)?;
                let unit_line = c.name("unit").is_some_and(|u| {
                    u.as_str()
                        .trim_end_matches([' ', '\t'])
                        .ends_with([',', '\n'])
                });
                Some((
                    base + m.start(),
                    base + m.end(),
                    c.name("number").is_some(),
                    unit_line,
                ))
            };
            let mut street = read(&c, 0);
            // A suffix or direction is a word of its own: "St" is not the start of "Stéphane",
            // nor "S" of "São". Read the street again without the word it cut.
            if ends_inside_word(text, m.end()) {
                let kept = text[m.start()..m.end()]
                    .trim_end_matches(|ch: char| !ch.is_whitespace())
                    .trim_end();
                let again = &text[m.start()..m.start() + kept.len()];
                street = self
                    .street
                    .captures(again)
                    .and_then(|c| read(&c, m.start()));
            }
            let Some((start, street_end, numbered, unit_line)) = street else {
                continue;
            };
            let (mut end, mut with_tail) = self.extend(text, street_end);
            if numbered && !with_tail {
                if let Some(town_end) = self.town_last(text, end) {
                    (end, with_tail) = (town_end, true);
                }
            }
            if !numbered && !unit_line && !with_tail {
                continue;
            }
            let score = match (with_tail, context(start)) {
                (true, _) => 0.9,
                (false, true) => 0.85,
                (false, false) => 0.75,
            };
            found.push((EntityType::Address, start, self.country(text, end), score));
        }
        // A street with its road word, from `start` to `street_end`, and what follows it.
        let street_abroad = |start: usize, street_end: usize, found: &mut Vec<Finding>| {
            let (end, with_tail) = match self.extend(text, street_end) {
                (end, true) => (end, true),
                _ => match ends_clean(text, street_end, self.tail_abroad.find(&text[street_end..]))
                {
                    Some(end) => (self.block(text, end).unwrap_or(end), true),
                    None => match self.town_last(text, street_end) {
                        Some(end) => (end, true),
                        None => (street_end, false),
                    },
                },
            };
            // The road word and the number say "street" already; a town and code, surer.
            let score = match (with_tail, context(start)) {
                (true, _) => 0.9,
                (false, true) => 0.85,
                (false, false) => 0.8,
            };
            found.push((EntityType::Address, start, self.country(text, end), score));
        };
        for m in self
            .street_abroad
            .iter()
            .flat_map(|way| way.find_iter(text))
        {
            street_abroad(m.start(), m.end(), found);
        }
        for m in self.word_and_number.find_iter(text) {
            let word_end = m.start() + m.as_str().find([' ', '\t']).unwrap_or(0);
            let word = &text[m.start()..word_end];
            let capital = word.chars().next().is_some_and(char::is_uppercase);
            let after = self.road_after.contains(word);
            if !capital && !after {
                continue;
            }
            let inside = capital && self.holds_road_word(word);
            let start = match (inside, after, capital) {
                // Up to two capitalised words before a word that holds its road word.
                (true, ..) => capitalised_before(text, m.start(), 2),
                // One to three capitalised words before a road word of its own.
                (false, true, _) => {
                    let start = capitalised_before(text, m.start(), 3);
                    if start == m.start() {
                        continue;
                    }
                    // "Karl Johans gate 1, 0154 Oslo", but not "Heathrow gate 5".
                    if WITH_CODE_ONLY.contains(&word)
                        && self.code_then_town.find(&text[m.end()..]).is_none()
                    {
                        continue;
                    }
                    start
                }
                // No road word: up to two more capitalised words, and a postcode and town
                // after, or it is not taken.
                (false, false, true) => {
                    let start = capitalised_before(text, m.start(), 2);
                    let tail = self.code_then_town.find(&text[m.end()..]);
                    if let Some(end) = ends_clean(text, m.end(), tail) {
                        let end = self.country(text, end);
                        found.push((EntityType::Address, start, end, 0.85));
                    }
                    continue;
                }
                _ => continue,
            };
            street_abroad(start, m.end(), found);
        }
        for m in self.number_and_word.find_iter(text) {
            let word = m
                .as_str()
                .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == ',')
                .trim_start_matches([' ', '\t']);
            let word = &word[..word.find([' ', '\t', ',', '\n']).unwrap_or(word.len())];
            if self.holds_road_word(word) {
                street_abroad(m.start(), m.end(), found);
                continue;
            }
            // No road word ("88 Palárikova", "93 Krvavi most"): a street only on a line of its
            // own above the rest of a letter's address block, or right after a lead-in to an
            // address ("lives at", "address:"; not "address has") with a town that ends the
            // sentence.
            if calendar(word) || TITLES.contains(&word.to_ascii_lowercase().as_str()) {
                continue;
            }
            // The rest of its line (more words of the name, perhaps a flat or suite), and
            // whether a flat or suite stands on it ("98 Rybacka Suite 788").
            let line_end = || {
                let rest = self.rest_of_street_line.get().find(&text[m.end()..])?;
                let line = text[m.end()..m.end() + rest.end()].trim_end_matches(['\n', '\r']);
                let line = line.trim_end_matches([' ', '\t']);
                let after_number = m
                    .as_str()
                    .trim_start_matches(|c: char| c.is_ascii_alphanumeric());
                let unit = after_number.contains(|c: char| c.is_ascii_digit())
                    || line.contains(|c: char| c.is_ascii_digit());
                Some((m.end() + line.len(), unit))
            };
            // A block that says "address" more than a list does ("4 Dozen\nRoses\nTotal
            // 12345"): a flat or suite in it, or a town and a region above its code.
            let block = starts_line(text, m.start())
                .then(line_end)
                .flatten()
                .and_then(|(end, unit_on_line)| {
                    let b = self.block_lines(text, end)?;
                    (b.unit || unit_on_line || b.lines >= 3).then_some(b.end)
                });
            let led_in = || {
                let before = lower[..m.start()].trim_end_matches([' ', '\t']);
                ADDRESS_LEAD_INS.iter().any(|w| before.ends_with(w))
            };
            let town = || {
                led_in()
                    .then(|| name_then_comma(text, m.end()))
                    .flatten()
                    .and_then(|comma| self.town_last(text, comma))
            };
            if let Some((end, score)) = block
                .map(|end| (end, 0.85))
                .or_else(|| town().map(|end| (end, 0.8)))
            {
                found.push((
                    EntityType::Address,
                    m.start(),
                    self.country(text, end),
                    score,
                ));
            }
        }
        for m in self.boxed_abroad.get().find_iter(text) {
            let tail = self.code_then_town.find(&text[m.end()..]);
            if let Some(end) = ends_clean(text, m.end(), tail) {
                let end = self.country(text, end);
                found.push((EntityType::Address, m.start(), end, 0.85));
            }
        }
        for m in self.boxed.find_iter(text) {
            let (end, with_tail) = self.extend(text, m.end());
            if with_tail || context(m.start()) {
                found.push((
                    EntityType::Address,
                    m.start(),
                    self.country(text, end),
                    0.85,
                ));
            }
        }
    }

    /// Whether a word ends in a road word after a stem of four letters or more
    /// ("Hauptstraße", "Bratskovvej").
    fn holds_road_word(&self, word: &str) -> bool {
        self.road_inside.iter().any(|r| {
            word.strip_suffix(r.as_str())
                .is_some_and(|stem| stem.chars().count() >= 4)
        })
    }

    /// Where an address ending at `end` ends once a country after it is taken.
    fn country(&self, text: &str, end: usize) -> usize {
        self.country
            .find(&text[end..])
            .map_or(end, |c| end + c.end())
    }

    /// Where an address that reaches `at` ends once its town, region and code are taken,
    /// on the same line or on the lines of a letter's address block below it.
    fn extend(&self, text: &str, at: usize) -> (usize, bool) {
        let (end, with_tail) = self.extend_inline(text, at);
        match self.block(text, end) {
            Some(end) => (end, true),
            None => (end, with_tail),
        }
    }

    /// Where the lines after `at` that finish an address block end: lines of capitalised
    /// words (a town, a region, a country), a flat or suite, up to the last line that holds a
    /// code ("Tajov\n> Slovakia 935 64"); no month or day ("March 2024"). A quoted or listed
    /// line is read without its marks. None when no code line follows, so the lines after
    /// (a name, "Best regards") are never taken.
    fn block(&self, text: &str, at: usize) -> Option<usize> {
        self.block_lines(text, at).map(|b| b.end)
    }

    /// [`Self::block`] with what the block held: how many lines it took and whether one was a
    /// flat or suite.
    fn block_lines(&self, text: &str, at: usize) -> Option<Block> {
        let mut pos = at;
        let mut end = None;
        let (mut lines, mut unit) = (0, false);
        for _ in 0..5 {
            let rest = &text[pos..];
            let Some(after) = rest
                .trim_start_matches([' ', '\t', ',', '\r'])
                .strip_prefix('\n')
            else {
                break;
            };
            let line = &after[..after.find('\n').unwrap_or(after.len())];
            let marks = line.len()
                - line
                    .trim_start_matches(|c: char| c == ' ' || c == '\t' || LINE_MARKS.contains(&c))
                    .len();
            let body = line[marks..].trim_end_matches([' ', '\t', '\r', ',', '.']);
            let not_a_place = body.split([' ', '\t', ':']).next().is_some_and(|w| {
                NOT_A_PLACE_LINE.contains(&w.trim_end_matches('.').to_lowercase().as_str())
            });
            if body.is_empty() || not_a_place || body.split([' ', '\t']).any(calendar) {
                break;
            }
            let body_start = pos + (rest.len() - after.len()) + marks;
            let body_end = body_start + body.len();
            lines += 1;
            if self.block_line[0].get().is_match(body) {
                end = Some(Block {
                    end: body_end,
                    lines,
                    unit,
                });
            } else if self.block_line[1].get().is_match(body) {
                unit |= body
                    .split([' ', '\t'])
                    .next()
                    .is_some_and(|w| UNIT_WORDS.contains(&w.trim_end_matches('.')));
            } else {
                break;
            }
            pos = body_end;
        }
        end
    }

    /// Where a town after a numbered street ends when it ends the sentence or the line
    /// ("9 Urputie, Puolanka").
    fn town_last(&self, text: &str, at: usize) -> Option<usize> {
        let m = self.town_last.get().find(&text[at..])?;
        let first = m.as_str()[1..]
            .trim_start()
            .split([' ', '\t', '.'])
            .next()
            .unwrap_or("");
        // Not a day or a month ("12 Mill Road, Monday."), not a title ("…, Dr. Smith").
        if calendar(first) || TITLES.contains(&first.to_ascii_lowercase().as_str()) {
            return None;
        }
        let end = at + m.end();
        let closes = m.as_str().ends_with('.')
            || text[end..]
                .chars()
                .next()
                .is_none_or(|c| matches!(c, '.' | '!' | '?' | '\n' | '\r'));
        closes.then_some(end)
    }

    /// Where an address that reaches `at` ends once its town, region and code are taken on
    /// its line. A code must end where the address ends (not be the first digits of a phone
    /// number), and a town and state with no code must end the sentence or the line.
    fn extend_inline(&self, text: &str, at: usize) -> (usize, bool) {
        let Some(c) = self.tail.captures(&text[at..]) else {
            return (at, false);
        };
        let end = at + c.get(0).map_or(0, |m| m.end());
        let rest = &text[end..];
        // A numeric code ("07911") followed by more digits is the start of something else.
        let numeric_code = text[..end].ends_with(|ch: char| ch.is_ascii_digit());
        let next_is_digit = numeric_code
            && rest
                .trim_start_matches([' ', '-'])
                .starts_with(|ch: char| ch.is_ascii_digit());
        let ends_here = rest
            .chars()
            .next()
            .is_none_or(|ch| matches!(ch, '.' | ',' | ';' | '!' | '?' | '\n' | ')'));
        if next_is_digit || (c.name("no_code").is_some() && !ends_here) {
            return (at, false);
        }
        (end, true)
    }
}

/// Whether `at` opens its line, after spaces and a quoted or listed line's marks.
fn starts_line(text: &str, at: usize) -> bool {
    text[..at]
        .trim_end_matches(|c: char| c == ' ' || c == '\t' || LINE_MARKS.contains(&c))
        .chars()
        .next_back()
        .is_none_or(|c| c == '\n')
}

/// Where the comma is that ends a street's name of at most two more words after `at` ("93
/// Krvavi| most, Zadar"): letters only, on the same line; None without one.
fn name_then_comma(text: &str, at: usize) -> Option<usize> {
    let rest = &text[at..];
    let stop = rest
        .find(['\n', ',', '.', ';', '?', '!'])
        .unwrap_or(rest.len());
    let name = &rest[..stop];
    let letters = name
        .chars()
        .all(|c| c.is_alphabetic() || matches!(c, ' ' | '\t' | '\'' | '’' | '-'));
    (rest[stop..].starts_with(',') && letters && name.split_whitespace().count() <= 2)
        .then_some(at + stop)
}

/// What a letter's address block below a street held (see `Addresses::block_lines`).
struct Block {
    /// Where its last line with a code ends.
    end: usize,
    /// Lines taken, the code's included.
    lines: usize,
    /// Whether one of them was a flat or suite ("Suite 988", "Piso 1").
    unit: bool,
}

/// The words that open a flat's or suite's line, without a full stop.
const UNIT_WORDS: &[&str] = &[
    "Flat",
    "Apartment",
    "Apt",
    "Unit",
    "Suite",
    "Ste",
    "Studio",
    "Room",
    "Floor",
    "Level",
    "Piso",
    "Piano",
    "Puerta",
    "Planta",
    "Appartamento",
    "Apto",
    "Dpto",
    "Depto",
];

/// What comes just before a street with no road word in it when a caller gives an address
/// (lower case): "lives at 93 Krvavi most, Zadar".
const ADDRESS_LEAD_INS: &[&str] = &[
    "address:",
    "address is",
    "lives at",
    "live at",
    "living at",
    "send it to",
    "post it to",
];

/// A day or a month, in any case ("Monday", "march").
fn calendar(word: &str) -> bool {
    calendar_word(&word.to_ascii_lowercase())
}

/// Whether `at` falls between two letters (the patterns' ASCII word boundary does not see a
/// letter outside ASCII after it).
fn ends_inside_word(text: &str, at: usize) -> bool {
    let letter_before = text[..at]
        .chars()
        .next_back()
        .is_some_and(char::is_alphabetic);
    letter_before && text[at..].chars().next().is_some_and(char::is_alphabetic)
}

/// Where a tail found at `at` ends, unless it ends on a numeric code that more digits follow
/// (the start of a phone number, not a postcode).
fn ends_clean(text: &str, at: usize, tail: Option<regex::Match<'_>>) -> Option<usize> {
    let end = at + tail?.end();
    let numeric_code = text[..end].ends_with(|ch: char| ch.is_ascii_digit());
    let more_digits = text[end..]
        .trim_start_matches([' ', '-'])
        .starts_with(|ch: char| ch.is_ascii_digit());
    (!(numeric_code && more_digits)).then_some(end)
}

/// Where the run of up to `most` capitalised words just before `at` (each followed by spaces
/// or tabs) begins; `at` when there is none.
fn capitalised_before(text: &str, at: usize, most: usize) -> usize {
    let mut start = at;
    for _ in 0..most {
        let before = text[..start].trim_end_matches([' ', '\t']);
        if before.len() == start {
            break;
        }
        let word_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphabetic() || matches!(c, '\'' | '’' | '.' | '-'))
            .last()
            .map_or(before.len(), |(i, _)| i);
        let word = &before[word_start..];
        if !word.chars().next().is_some_and(char::is_uppercase) {
            break;
        }
        start = word_start;
    }
    start
}
