//! Checks that tell a real identifier from a look-alike: NHS mod-11, NINO issuing rules, US SSN
//! never-issued ranges, Luhn, IBAN mod-97, and dates that exist.

/// Digits of `s`, ignoring spaces and dashes.
pub fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// NHS number: ten digits, weights 10..2 on the first nine; check = 11 − (sum mod 11), 11 → 0,
/// 10 → never valid.
pub fn nhs_number(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 10 {
        return false;
    }
    let sum: u32 = d[..9].iter().zip((2..=10).rev()).map(|(x, w)| x * w).sum();
    let check = match 11 - (sum % 11) {
        11 => 0,
        10 => return false,
        c => c,
    };
    check == d[9]
}

/// UK National Insurance number: two prefix letters (neither D, F, I, Q, U, V; second not O;
/// not BG, GB, NK, KN, NT, TN, ZZ), six digits, suffix A–D.
pub fn nino(s: &str) -> bool {
    let c: Vec<char> = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if c.len() != 9 {
        return false;
    }
    let (a, b) = (c[0], c[1]);
    let banned = |x: char| matches!(x, 'D' | 'F' | 'I' | 'Q' | 'U' | 'V');
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() || banned(a) || banned(b) || b == 'O' {
        return false;
    }
    let prefix: String = [a, b].iter().collect();
    if ["BG", "GB", "NK", "KN", "NT", "TN", "ZZ"].contains(&prefix.as_str()) {
        return false;
    }
    c[2..8].iter().all(|x| x.is_ascii_digit()) && matches!(c[8], 'A'..='D')
}

/// US SSN: area not 000, 666 or 900–999; group not 00; serial not 0000.
pub fn ssn(s: &str) -> bool {
    let d = digits(s);
    if d.len() != 9 {
        return false;
    }
    let area = d[0] * 100 + d[1] * 10 + d[2];
    let group = d[3] * 10 + d[4];
    let serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// Payment card: 12–19 digits passing Luhn.
pub fn card_number(s: &str) -> bool {
    let d = digits(s);
    if !(12..=19).contains(&d.len()) {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// IBAN: country letters, check digits, and mod-97 = 1 after moving the first four characters
/// to the end and turning letters into 10..35.
pub fn iban(s: &str) -> bool {
    let c: Vec<char> = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if !(15..=34).contains(&c.len())
        || !c[..2].iter().all(|x| x.is_ascii_uppercase())
        || !c[2..4].iter().all(|x| x.is_ascii_digit())
    {
        return false;
    }
    let mut rem: u64 = 0;
    for ch in c[4..].iter().chain(c[..4].iter()) {
        let v = match ch {
            '0'..='9' => *ch as u64 - '0' as u64,
            'A'..='Z' => *ch as u64 - 'A' as u64 + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers_follow_mod_11() {
        assert!(nhs_number("943 476 5919"));
        assert!(nhs_number("9434765919"));
        assert!(!nhs_number("401 023 2138"));
        // The nhs-number crate's own doc examples fail the check.
        assert!(!nhs_number("999 123 4560"));
        assert!(!nhs_number("987 654 4321"));
        assert!(!nhs_number("943 476 591"));
    }

    #[test]
    fn ninos_follow_the_issuing_rules() {
        assert!(nino("AB 12 34 56 C"));
        assert!(nino("ab123456d"));
        for bad in [
            "DA123456A",
            "AO123456A",
            "GB123456A",
            "ZZ123456A",
            "AB123456E",
            "AB12345C",
            "QQ123456C",
            "TN123456A",
        ] {
            assert!(!nino(bad), "{bad}");
        }
    }

    #[test]
    fn ssns_outside_never_issued_ranges() {
        assert!(ssn("123-45-6789"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "999-12-3456",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert!(!ssn(bad), "{bad}");
        }
    }

    #[test]
    fn cards_pass_luhn() {
        assert!(card_number("4111 1111 1111 1111"));
        assert!(card_number("5555-5555-5555-4444"));
        assert!(card_number("2223003122003222"));
        assert!(!card_number("4111 1111 1111 1112"));
        assert!(!card_number("1234"));
    }

    #[test]
    fn ibans_pass_mod_97() {
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(iban("DE89370400440532013000"));
        assert!(!iban("GB82 WEST 1234 5698 7654 33"));
        assert!(!iban("GB82"));
    }
}
