//! Which characters are hidden: one classification, taken from the Unicode Character Database
//! (compiled into `icu_properties`, [`UNICODE_VERSION`]), for the output sanitizer, audit
//! escaping, the `no_control` input rule and the names a consent page shows.
//!
//! A character is hidden when it is
//! - `Default_Ignorable_Code_Point` (zero-width characters, joiners, bidi controls, variation
//!   selectors, the soft hyphen, U+034F, the Hangul fillers, U+180B–U+180F, U+206A–U+206F, the
//!   tag characters and the rest of U+E0000–U+E0FFF, ...);
//! - of general category Cc (controls), Cf (format: U+FFF9–U+FFFB, U+1D173–U+1D17A, ...),
//!   Co (private use), Cs (surrogates), Zl, Zp (line and paragraph separators) or Cn
//!   (unassigned in this version);
//! - a blank that Unicode classes as a letter or a symbol: the Hangul fillers (U+115F, U+1160,
//!   U+3164, U+FFA0) and the braille blank U+2800.
//!
//! Emoji sequences are the one exception, judged by context ([`kept_in_emoji`]): a zero-width
//! joiner between two pictographs (👨‍👩‍👧, 🏳️‍🌈, 👩🏽‍💻) and a text or emoji presentation
//! selector (VS15, VS16) right after a pictograph (❤️), or VS16 in a keycap (1️⃣), are kept.
//! Everywhere else they are hidden. The other variation selectors (VS1–VS14, VS17–VS256) and
//! the tag characters are always hidden, tag sequences of subdivision flags (🏴 + tags)
//! included: a flag shows as 🏴, and no tag can carry text a person does not see.
//!
//! What stays possible: a pictograph shown with or without a presentation selector, or two
//! pictographs joined or not, differ little on screen; each is at most a bit or two, next to a
//! pictograph that shows.

use icu_properties::{
    CodePointMapData, CodePointMapDataBorrowed, CodePointSetData, CodePointSetDataBorrowed,
    props::{DefaultIgnorableCodePoint, EmojiModifier, ExtendedPictographic, GeneralCategory},
};

/// The version of Unicode whose character database the classification is built from (the
/// data compiled into `icu_properties`); a character unassigned in it is hidden.
pub const UNICODE_VERSION: (u8, u8, u8) = (18, 0, 0);

const CATEGORY: CodePointMapDataBorrowed<'static, GeneralCategory> =
    CodePointMapData::<GeneralCategory>::new();
const IGNORABLE: CodePointSetDataBorrowed<'static> =
    CodePointSetData::new::<DefaultIgnorableCodePoint>();
const PICTOGRAPH: CodePointSetDataBorrowed<'static> =
    CodePointSetData::new::<ExtendedPictographic>();
const MODIFIER: CodePointSetDataBorrowed<'static> = CodePointSetData::new::<EmojiModifier>();

/// Zero-width joiner.
pub(crate) const ZWJ: char = '\u{200D}';
/// Text presentation selector (VS15).
const VS15: char = '\u{FE0E}';
/// Emoji presentation selector (VS16).
const VS16: char = '\u{FE0F}';
/// Combining enclosing keycap.
const KEYCAP: char = '\u{20E3}';

/// Whether `c` is hidden (the [module](self) list), context aside: controls included.
pub fn is_hidden(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    matches!(
        CATEGORY.get(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::Unassigned
    ) || IGNORABLE.contains(c)
        || matches!(
            c,
            '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
        )
}

/// Whether `c` is one of the characters an emoji sequence may hold between or after its
/// pictographs: ZWJ, VS15, VS16.
pub(crate) fn is_emoji_joiner(c: char) -> bool {
    matches!(c, ZWJ | VS15 | VS16)
}

/// Whether `c`, hidden, is kept between `before` (the last character kept) and `after` (the
/// next one): a ZWJ between two pictographs (a skin tone or VS16 may end the first), VS15 or
/// VS16 right after a pictograph, VS16 between a keycap base and U+20E3.
pub(crate) fn kept_in_emoji(before: Option<char>, c: char, after: Option<char>) -> bool {
    // A pictograph that is itself hidden (a reserved Extended_Pictographic code point, Cn) is
    // removed: a joiner kept before it would then stand alone.
    let pictograph = |c: Option<char>| c.is_some_and(|c| PICTOGRAPH.contains(c) && !is_hidden(c));
    match c {
        ZWJ => {
            (pictograph(before) || before.is_some_and(|b| b == VS16 || MODIFIER.contains(b)))
                && pictograph(after)
        }
        VS15 | VS16 => {
            pictograph(before)
                || (c == VS16
                    && before.is_some_and(|b| matches!(b, '0'..='9' | '#' | '*'))
                    && after == Some(KEYCAP))
        }
        _ => false,
    }
}

/// Whether `c` at this place is hidden: [`is_hidden`] less the emoji exception.
pub(crate) fn is_hidden_at(before: Option<char>, c: char, after: Option<char>) -> bool {
    is_hidden(c) && !(is_emoji_joiner(c) && kept_in_emoji(before, c, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_is_the_stated_unicode_version() {
        // U+1FAE9 and U+1FAF9 are assigned in Unicode 16 and 17; the data must know at least as
        // much as it says. The version's own marker: the README of `icu_properties_data`.
        assert_eq!(UNICODE_VERSION, (18, 0, 0));
        assert!(!is_hidden('\u{1FAE9}'), "assigned in Unicode 16");
        assert!(!is_hidden('\u{1FAEA}'), "assigned in Unicode 17");
        assert!(is_hidden('\u{0378}'), "never assigned");
        assert!(is_hidden('\u{E0080}'), "reserved default ignorable");
    }

    #[test]
    fn hidden_by_property() {
        for c in [
            '\u{0}',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{AD}',
            '\u{34F}',
            '\u{61C}',
            '\u{115F}',
            '\u{1160}',
            '\u{17B4}',
            '\u{180B}',
            '\u{180E}',
            '\u{200B}',
            '\u{200C}',
            '\u{200E}',
            '\u{2028}',
            '\u{2029}',
            '\u{202E}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{206A}',
            '\u{206F}',
            '\u{2800}',
            '\u{3164}',
            '\u{E000}',
            '\u{FE00}',
            '\u{FE0F}',
            '\u{FEFF}',
            '\u{FFA0}',
            '\u{FFF0}',
            '\u{FFF9}',
            '\u{FFFB}',
            '\u{1BCA0}',
            '\u{1D173}',
            '\u{1D17A}',
            '\u{E0001}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{E0100}',
            '\u{E01EF}',
            '\u{F0000}',
            '\u{10FFFD}',
            '\u{10FFFF}',
        ] {
            assert!(is_hidden(c), "{c:?}");
        }
        for c in [
            'a',
            ' ',
            '\u{A0}',
            'é',
            '\u{301}',
            'ß',
            'ع',
            'א',
            '日',
            '😀',
            '\u{1F3FD}',
            '\u{2764}',
            '\u{3000}',
            '\u{20E3}',
            '\u{FFFD}',
            '—',
        ] {
            assert!(!is_hidden(c), "{c:?}");
        }
    }

    #[test]
    fn emoji_sequences_keep_their_joiners_and_nothing_else_does() {
        let kept = |s: &str| crate::sanitize::first_hidden(s).is_none();
        for good in [
            "👨\u{200D}👩\u{200D}👧",
            "🏳\u{FE0F}\u{200D}🌈",
            "👩\u{1F3FD}\u{200D}💻",
            "\u{2764}\u{FE0F}",
            "\u{2764}\u{FE0E}",
            "1\u{FE0F}\u{20E3}",
            "#\u{FE0F}\u{20E3}",
        ] {
            assert!(kept(good), "{good:?}");
        }
        for bad in [
            "a\u{200D}b",
            "😀\u{200D}",
            "\u{200D}😀",
            "😀\u{200D}\u{200D}😀",
            "😀\u{FE0F}\u{FE0F}",
            "a\u{FE0F}",
            "1\u{FE0F}",
            "😀\u{FE00}",
            "😀\u{E0100}",
            "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
        ] {
            assert!(!kept(bad), "{bad:?}");
        }
    }
}
