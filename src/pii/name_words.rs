//! The words around a name that say one is coming or has been said (lead-ins, kinship
//! words, verbs, "here"/"speaking"), and the words inside or beside one that are not its
//! given name or surname (titles, particles, suffixes, street words).

pub(super) const TITLES: &[&str] = &[
    "mr",
    "mrs",
    "ms",
    "miss",
    "mx",
    "dr",
    "doctor",
    "prof",
    "professor",
    "sir",
    "dame",
    // Other languages' (as written before a name, full stop dropped).
    "herr",
    "frau",
    "mme",
    "mlle",
    "dott",
    "sig",
    "sra",
    "srta",
    "mevr",
    "dhr",
    "ing",
    "mgr",
    // More of them, from the countries' own usage: Spanish and Portuguese (Dra., Lic., Mtro.,
    // Doña), Italian (Avv.), Dutch (ir., drs., mw.), Austrian (Mag.), Czech and Slovak
    // degrees (Bc., MUDr., JUDr., PhDr., RNDr., MVDr.), Romanian (Dl., Dna.), Turkish (Bayan),
    // Polish and Czech (Pani, Paní), Nordic (Fru, Frk.), Croatian (Gđa), Indonesian (Bapak,
    // Sdr.), and Sheikh. Not the ones English also writes before a capital ("Bay Area", "Pan
    // Am", "HR Manager", "Doc Martens", "Me Too").
    "dra",
    "lic",
    "licda",
    "mtro",
    "mtra",
    "dona",
    "doña",
    "avv",
    "ir",
    "drs",
    "mw",
    "mag",
    "bc",
    "mudr",
    "judr",
    "phdr",
    "rndr",
    "mvdr",
    "dl",
    "dna",
    "bayan",
    "pani",
    "paní",
    "fru",
    "frk",
    "gđa",
    "bapak",
    "sdr",
    "sheikh",
];
/// Of the titles above, short ones that are a title only with their full stop ("Mag. Eva
/// Huber"; not "Mag Sulph 2 g").
pub(super) const TITLES_WITH_STOP: &[&str] =
    &["mag", "lic", "dl", "dna", "bc", "ir", "mw", "sdr", "frk"];
/// Words inside a name between its capitalised parts ("Nadine de la Fleche", "Ó Ceallaigh").
pub(super) const PARTICLES: &[&str] = &[
    "de", "da", "del", "della", "di", "du", "des", "la", "le", "van", "von", "der", "den", "ter",
    "ten", "bin", "binti", "ibn", "al", "el", "dos", "das", "ó", "ní", "mac", "nic",
];
pub(super) const SUFFIXES: &[&str] = &["jr", "sr", "ii", "iii", "iv", "md", "dds", "phd", "dvm"];

/// Words before a name strong enough to take a word that is in no name list, or one in
/// lower case: "my name is …", "this is …".
pub(super) const STRONG_LEAD_INS: &[&str] = &[
    "my name is",
    "my name's",
    "name is",
    "name:",
    "this is",
    "i'm",
    "i am",
    "it's",
    "patient:",
];
/// Words before a name that only a person follows: with the strong ones, they also take a
/// lower-case name (speech-to-text output).
pub(super) const PERSON_LEAD_INS: &[&str] = &[
    "speak to",
    "speaking to",
    "ask for",
    "referred by",
    "recommended by",
    "dear",
    "hello",
    "hi",
    // "Hi" as chat writes it ("Hey Kalani"); not "good morning" ("Good morning Sunshine").
    "hey",
    "hiya",
    "tell",
    "ask",
    "contact",
    // Reported speech: "said Antti", "says Fleming", "shouted at Jasmine".
    "said",
    "says",
    "asked",
    "told",
    "replied",
    "shouted at",
    "yelled at",
    // A booking held in someone's name: "it's under Étienne Vézina".
    "it's under",
    "booked under",
    "booking under",
    "under the name",
    "under the name of",
    // A name asked for and given ("What's your name? Mijo Dautanec").
    "name?",
];
/// Other words a name often follows (besides the kinship words below): a listed name after
/// them is one.
pub(super) const WEAK_LEAD_INS: &[&str] = &[
    "it is",
    "call me",
    "thanks",
    "thank you",
    "regards",
    "sincerely",
    "best",
    "from:",
    "patient",
    "client",
    "with",
    "for",
    "--",
    // Someone acted for; firms follow these too ("on behalf of Allergan Aesthetics").
    "in the name of",
    "on behalf of",
    "care of",
    "attn:",
    "attention:",
];
/// Words about a person that take even a given name that is also an ordinary word ("my sister
/// Hope").
pub(super) const KIN: &[&str] = &[
    "wife",
    "husband",
    "son",
    "daughter",
    "mother",
    "father",
    "partner",
    "sister",
    "brother",
    "friend",
    "mum",
    "mom",
    "dad",
    "niece",
    "nephew",
    "aunt",
    "uncle",
    "cousin",
    "boyfriend",
    "girlfriend",
    "colleague",
];
pub(super) const ANY_LEAD_IN: &[&[&str]] = &[STRONG_LEAD_INS, PERSON_LEAD_INS, WEAK_LEAD_INS, KIN];
/// Lead-ins that name the speaker outright.
pub(super) const NAME_LEAD_INS: &[&str] =
    &["my name is", "my name's", "name is", "name:", "call me"];
/// Months, days and feasts that are also given names: always capitalised, rarely a person.
pub(super) fn calendar_word(word: &str) -> bool {
    word.parse::<chrono::Month>().is_ok()
        || word.parse::<chrono::Weekday>().is_ok()
        || matches!(word, "easter" | "christmas")
}
/// Verbs of speaking after which "to" or "at" leads to a person rather than a place ("spoke
/// to Sarah", "shouted at Mark"; not "drove to Chelsea", "sent to Chester").
pub(super) const SPEAKING_VERBS: &[&str] = &[
    "said",
    "say",
    "says",
    "saying",
    "speak",
    "speaks",
    "spoke",
    "speaking",
    "talk",
    "talks",
    "talked",
    "talking",
    "chat",
    "chatted",
    "chatting",
    "shouted",
    "shout",
    "shouts",
    "shouting",
    "yelled",
    "yell",
    "screamed",
    "whispered",
    "replied",
    "reply",
    "explain",
    "explained",
    "introduce",
    "introduced",
    "listen",
    "listened",
    "listening",
    "sorry",
    "thanks",
    "goodbye",
    "hello",
    "hi",
];

/// Words that, after a given name opening a sentence, make it the subject of a sentence about
/// a person ("Robert called …"); besides these, any word ending in "-ed".
pub(super) const PERSON_VERBS: &[&str] = &[
    "is",
    "was",
    "has",
    "had",
    "will",
    "would",
    "can",
    "could",
    "should",
    "says",
    "said",
    "wants",
    "needs",
    "asked",
    "asks",
    "rang",
    "rings",
    "came",
    "comes",
    "left",
    "told",
    "called",
    "calls",
    "phoned",
    "emailed",
    "texted",
    "booked",
    "cancelled",
    "wanted",
    "needed",
    "thinks",
    "thought",
    "knows",
    "knew",
    "saw",
    "sees",
    "went",
    "goes",
    "is",
    "isn't",
    "wasn't",
    "won't",
    "can't",
    "hasn't",
    "didn't",
    "doesn't",
    "also",
    "just",
    "lives",
    "works",
    "began",
    "wrote",
    "spent",
    "spoke",
    "gave",
    "sent",
    "come",
    "call",
    "ring",
];
/// Lead-ins that take a lower-case given name: the strong ones, a person's, a kinship word ("my
/// wife, jose, she wants…").
pub(super) const LOWER_CASE_LEAD_INS: &[&[&str]] = &[STRONG_LEAD_INS, PERSON_LEAD_INS, KIN];
/// Words after a name that say it was one ("Derrick here", "Sarah speaking").
pub(super) const FOLLOW_ONS: &[&str] = &[" here", " speaking", " calling"];

/// Street words that end a street far more often than they end a name ("Harley Street").
pub(super) const STREET_ONLY: &[&str] = &[
    "Street",
    "St",
    "Road",
    "Rd",
    "Avenue",
    "Ave",
    "Lane",
    "Ln",
    "Drive",
    "Close",
    "Way",
    "Place",
    "Square",
    "Court",
    "Crescent",
    "Terrace",
    "Gardens",
    "Boulevard",
    "Parkway",
    "Highway",
];

/// Words that open a question about someone ("Could Ilkka call me back?", "Can Oto Očenáš
/// come with me?"): a name between one of them and a verb is the question's subject.
pub(super) const AUXILIARIES: &[&str] = &[
    "could", "can", "would", "will", "did", "does", "has", "should", "might",
];

/// A flat's or suite's word: a name never runs on into one ("Dr. Toby Renehan Apt. 007").
pub(super) const UNIT_WORDS: &[&str] = &[
    "apt",
    "apartment",
    "suite",
    "unit",
    "flat",
    "studio",
    "room",
    "floor",
    "level",
];

/// Words of an organisation's name, never of a person's ("referred by Royal Free Hospital").
pub(super) const INSTITUTION_WORDS: &[&str] = &[
    "aesthetics",
    "pharma",
    "pharmaceuticals",
    "laboratories",
    "hospital",
    "clinic",
    "centre",
    "center",
    "practice",
    "surgery",
    "medical",
    "health",
    "healthcare",
    "group",
    "ltd",
    "limited",
    "inc",
    "llc",
    "university",
    "college",
    "school",
    "pharmacy",
    "team",
    "reception",
    "foundation",
    "trust",
    "partners",
    "associates",
    "company",
    // Legal forms written as a capitalised word ("Karvonen Forsman Oy").
    "gmbh",
    "oy",
    "oyj",
    "plc",
    "llp",
    "tbk",
    "limitada",
    "ltda",
    "corp",
    "persero",
    "sons",
];

/// Legal forms written after a firm's name, as written ("Sara Carvajal EIRL", "Jensen AB"):
/// the capitalised words before one are a firm, not a person.
pub(super) const LEGAL_FORMS_AFTER: &[&str] = &[
    "AB", "AG", "A/S", "ApS", "AS", "ASA", "A.Ş.", "a.s.", "BV", "B.V.", "Bhd", "Co", "Co.",
    "Corp", "Corp.", "d.d.", "d.o.o.", "e.V.", "EIRL", "GbR", "GmbH", "Inc", "Inc.", "KG", "Kft.",
    "LLC", "LLP", "Ltd", "Ltd.", "NV", "N.V.", "OHG", "Oy", "PLC", "plc", "Pty", "S.A.", "SA",
    "S.A.S.", "S.A.U", "SARL", "SAS", "S.L.", "SL", "SNC", "S.N.C.", "SpA", "SPA", "S.p.A.", "Srl",
    "SRL", "S.r.l.", "s.r.o.", "Tbk", "v.o.s.", "k.s.", "Zrt.", "Ltda", "Ltda.", "Limitada", "Osk",
    "Oyj", "Ky", "Tmi", "Tic", "Şti", "SIA", "OÜ", "Bt.", "I/S", "K/S", "P/S", "IVS", "Sp.k.",
    "Lda", "Lda.", "S/A", "j.d.o.o.", "VOF", "EURL",
];
/// Words after a name that make it a firm's ("Belkacem et Associés", "Catenazzi e figli",
/// "Baker and Sons"), as written and as whole words.
pub(super) const FIRM_TAILS: &[&str] = &[
    "and Sons",
    "& Sons",
    "and Partners",
    "& Partners",
    "& Co",
    "und Partner",
    "& Partner",
    "et Associés",
    "et Associes",
    "et Fils",
    "e figli",
    "e Figli",
    "y Asociados",
    "e Associados",
    "en Zonen",
    "och Söner",
];
/// Legal forms written before a firm's name ("CV Agustina Pranowo"; not "PT", which is a
/// physiotherapist too).
pub(super) const LEGAL_FORMS_BEFORE: &[&str] = &[
    "CV",
    "UD",
    "PD",
    "Perum",
    "Grupo",
    "Stowarzyszenie",
    "Fundacja",
    "Spółdzielnia",
];

/// A road's word just before a name makes the name a street's ("Av Tatiana Nogueira",
/// "Pasadizo de Viviana Salmerón", "allé Jean"), a ship's prefix a ship's ("USNV Mitchell").
/// Lower case, without a full stop; `ROAD_JOINS` may stand between the two.
pub(super) const ROAD_BEFORE_NAME: &[&str] = &[
    "av",
    "avenida",
    "avda",
    "rua",
    "calle",
    "carrer",
    "viale",
    "vía",
    "rue",
    "allé",
    "allée",
    "boulevard",
    "bd",
    "pasadizo",
    "paseo",
    "plaza",
    "praça",
    "travessa",
    "largo",
    "ul",
    "ulica",
    "aleja",
    "strada",
    "corso",
    "piazza",
    "camino",
    "cuesta",
    "callejón",
    "glorieta",
    "rambla",
    "usnv",
    "usns",
    "uss",
    "uscgc",
];

pub(super) const ROAD_JOINS: &[&str] = &["de", "del", "da", "do", "dos", "das", "di", "della"];

/// A name's last word that makes it a place ("Orlagh Ville", "Janice Town").
pub(super) const PLACE_AFTER: &[&str] = &["ville", "city", "town", "village"];

/// Words before a given name that make the two a place ("South Deanna", "Port Lucy", "Lake
/// Louise"), not a person.
pub(super) const PLACE_BEFORE: &[&str] = &[
    "north", "south", "east", "west", "lake", "port", "new", "mount", "mt", "fort", "saint", "san",
    "santa", "cape",
];

/// Words that open a sentence before a comma or a line before a colon and are no one's name,
/// though some name lists hold them ("Hello, this is…", "Bot: …").
pub(super) const NOT_CALLED: &[&str] = &[
    "hello",
    "hi",
    "hiya",
    "hey",
    "howdy",
    "greetings",
    "thanks",
    "yes",
    "yeah",
    "no",
    "well",
    "okay",
    "ok",
    "sorry",
    "please",
    "sure",
    "right",
    "morning",
    "evening",
    "afternoon",
    "bye",
    "cheers",
    "listen",
    "look",
    "oh",
    "um",
    "so",
    "dear",
    "great",
    "perfect",
    "lovely",
    "fine",
    "alright",
    "honestly",
    "anyway",
    // Roles that label a speaker ("Bot: …", "Caller: …").
    "bot",
    "user",
    "agent",
    "caller",
    "receptionist",
    "customer",
    "assistant",
    "operator",
    "system",
    "staff",
    "support",
    "guest",
    "host",
    "interviewer",
    "me",
    "you",
];

/// What a possessive name is followed by when it is a person's ("Fares's kid", "Tanya's
/// daughter"), besides the kinship words.
pub(super) const POSSESSED: &[&str] = &["kid", "kids", "child", "children", "baby", "boss"];
