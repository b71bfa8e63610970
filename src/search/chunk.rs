//! Splitting a document into passages of a speakable size: headings stay with the text under
//! them, paragraphs are kept whole where they fit, and consecutive passages overlap a little
//! so an answer that straddles a boundary is still found.

/// Target passage length in characters.
pub const TARGET_CHARS: usize = 700;
/// Characters repeated from the end of one passage at the start of the next.
pub const OVERLAP_CHARS: usize = 120;

/// One passage: the heading it sits under (if any) and its text (heading included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    pub heading: Option<String>,
    pub text: String,
}

fn tail(s: &str, n: usize) -> &str {
    let count = s.chars().count();
    if count <= n {
        return s;
    }
    let skip = count - n;
    let start = s.char_indices().nth(skip).map_or(0, |(i, _)| i);
    // Start the overlap at a word boundary.
    let t = &s[start..];
    t.find(' ').map_or(t, |i| &t[i + 1..])
}

/// Splits plain text or Markdown into passages.
pub fn passages(body: &str) -> Vec<Passage> {
    // Sections: a heading line (`#`…) and the paragraphs under it.
    let mut sections: Vec<(Option<String>, Vec<String>)> = vec![(None, Vec::new())];
    let mut paragraph = String::new();
    let flush = |paragraph: &mut String, sections: &mut Vec<(Option<String>, Vec<String>)>| {
        let p = paragraph.trim();
        if !p.is_empty() {
            if let Some(last) = sections.last_mut() {
                last.1
                    .push(p.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
        paragraph.clear();
    };
    for line in body.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            flush(&mut paragraph, &mut sections);
            sections.push((
                Some(trimmed.trim_start_matches('#').trim().to_string()),
                Vec::new(),
            ));
        } else if trimmed.is_empty() {
            flush(&mut paragraph, &mut sections);
        } else {
            paragraph.push(' ');
            paragraph.push_str(trimmed);
        }
    }
    flush(&mut paragraph, &mut sections);

    let mut out = Vec::new();
    for (heading, paragraphs) in sections {
        let prefix = heading
            .as_ref()
            .map(|h| format!("{h}. "))
            .unwrap_or_default();
        let mut current = String::new();
        for p in paragraphs {
            // Split an over-long paragraph at sentence ends.
            let pieces: Vec<String> = if p.chars().count() > TARGET_CHARS {
                let mut v = Vec::new();
                let mut piece = String::new();
                for sentence in p.split_inclusive(['.', '!', '?']) {
                    if piece.chars().count() + sentence.chars().count() > TARGET_CHARS
                        && !piece.is_empty()
                    {
                        v.push(piece.trim().to_string());
                        piece.clear();
                    }
                    piece.push_str(sentence);
                }
                if !piece.trim().is_empty() {
                    v.push(piece.trim().to_string());
                }
                v
            } else {
                vec![p]
            };
            for piece in pieces {
                if !current.is_empty()
                    && current.chars().count() + piece.chars().count() > TARGET_CHARS
                {
                    let overlap = tail(&current, OVERLAP_CHARS).to_string();
                    out.push(Passage {
                        heading: heading.clone(),
                        text: format!("{prefix}{}", current.trim()),
                    });
                    current = overlap;
                }
                if !current.is_empty() {
                    current.push(' ');
                }
                current.push_str(&piece);
            }
        }
        // A heading with no text under it is not a passage.
        if !current.trim().is_empty() {
            out.push(Passage {
                heading: heading.clone(),
                text: format!("{prefix}{}", current.trim()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_stay_with_their_text() {
        let p = passages("# Opening hours\nWe are open 9 to 5 on weekdays.\n\n# Prices\nA rhinoplasty consultation costs £150.");
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].text, "Opening hours. We are open 9 to 5 on weekdays.");
        assert_eq!(p[1].heading.as_deref(), Some("Prices"));
        assert!(p[1].text.starts_with("Prices. A rhinoplasty"));
    }

    #[test]
    fn long_text_is_split_with_overlap_and_nothing_is_lost() {
        let sentence = "Swelling after rhinoplasty usually settles over two weeks. ";
        let body = sentence.repeat(60);
        let p = passages(&body);
        assert!(p.len() >= 4, "{}", p.len());
        for w in p.windows(2) {
            assert!(w[0].text.chars().count() <= TARGET_CHARS + OVERLAP_CHARS + 80);
            let end: String = w[0]
                .text
                .chars()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            assert!(w[1].text.contains(end.trim()), "passages overlap");
        }
    }

    #[test]
    fn plain_text_without_headings_is_one_passage_when_short() {
        let p = passages("Parking is free behind the clinic.");
        assert_eq!(
            p,
            vec![Passage {
                heading: None,
                text: "Parking is free behind the clinic.".into()
            }]
        );
        assert!(passages("   \n\n ").is_empty());
    }
}
