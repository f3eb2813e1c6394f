//! Colours: parsing the site owner's primary colour and choosing a readable text colour on it
//! (WCAG 2.1 relative luminance and contrast ratio). Pure Rust but for JavaScript's `Math.pow`.

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color {
    /// Red, 0..=255.
    pub r: u8,
    /// Green, 0..=255.
    pub g: u8,
    /// Blue, 0..=255.
    pub b: u8,
}

impl Color {
    /// The widget's own blue, used when the page sets none.
    pub const DEFAULT_PRIMARY: Color = Color {
        r: 0x0a,
        g: 0x5c,
        b: 0xd6,
    };
    /// Text on a light primary.
    pub const DARK_TEXT: Color = Color {
        r: 0x11,
        g: 0x18,
        b: 0x27,
    };
    /// Text on a dark primary.
    pub const WHITE: Color = Color {
        r: 0xff,
        g: 0xff,
        b: 0xff,
    };

    /// Reads `#rgb` or `#rrggbb` (the `#` is optional).
    pub fn parse_hex(value: &str) -> Option<Self> {
        let hex = value.trim().trim_start_matches('#');
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |s: &str| u8::from_str_radix(s, 16).ok();
        match hex.len() {
            3 => {
                let mut digits = hex.chars().map(|c| channel(&format!("{c}{c}")));
                Some(Self {
                    r: digits.next()??,
                    g: digits.next()??,
                    b: digits.next()??,
                })
            }
            6 => Some(Self {
                r: channel(&hex[0..2])?,
                g: channel(&hex[2..4])?,
                b: channel(&hex[4..6])?,
            }),
            _ => None,
        }
    }

    /// `#rrggbb`.
    pub fn to_hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }

    /// WCAG relative luminance, 0 (black) ..= 1 (white).
    pub fn relative_luminance(self) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                // JavaScript's own `Math.pow`: the loader computes the same colours with it
                // (pixel for pixel), and it spares the wasm Rust's software `powf`.
                js_sys::Math::pow((c + 0.055) / 1.055, 2.4)
            }
        };
        0.2126 * linear(self.r) + 0.7152 * linear(self.g) + 0.0722 * linear(self.b)
    }

    /// WCAG contrast ratio between two colours, 1 ..= 21.
    pub fn contrast_ratio(self, other: Color) -> f64 {
        let (a, b) = (self.relative_luminance(), other.relative_luminance());
        let (light, dark) = if a > b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }

    /// A straight blend towards `other`: `t = 0` is `self`, `t = 1` is `other`.
    pub fn mix(self, other: Color, t: f64) -> Color {
        let blend = |a: u8, b: u8| {
            (f64::from(a) + (f64::from(b) - f64::from(a)) * t.clamp(0.0, 1.0)).round() as u8
        };
        Color {
            r: blend(self.r, other.r),
            g: blend(self.g, other.g),
            b: blend(self.b, other.b),
        }
    }

    /// This colour, darkened just enough to be readable (4.5:1) as text on `background`: for
    /// quick replies and links in the brand colour on a light surface.
    pub fn readable_on(self, background: Color) -> Color {
        let mut ink = self;
        for step in 1..=20 {
            if ink.contrast_ratio(background) >= 4.5 {
                break;
            }
            ink = self.mix(Color { r: 0, g: 0, b: 0 }, f64::from(step) * 0.05);
        }
        ink
    }

    /// The surface and text colours for this brand colour, meeting WCAG AA (4.5:1) for text.
    ///
    /// White text is kept on any colour where it already reads as intended (3:1, the level of
    /// large text), because that is how brands use their colour; lighter colours get dark text.
    /// Mid-tones such as `#0a7cff` reach 4.5:1 with neither, so rather than show hard-to-read
    /// text the surface is shaded (darker under white text, lighter under dark text) in small
    /// steps until it does. Most brand colours come back unchanged.
    pub fn accessible_surface(self) -> (Color, Color) {
        const AA_TEXT: f64 = 4.5;
        const WHITE_STILL_READS: f64 = 3.0;
        let text = if self.contrast_ratio(Self::WHITE) >= WHITE_STILL_READS {
            Self::WHITE
        } else {
            Self::DARK_TEXT
        };
        let away = if text == Self::WHITE {
            Color { r: 0, g: 0, b: 0 }
        } else {
            Self::WHITE
        };
        let mut surface = self;
        for step in 1..=20 {
            if surface.contrast_ratio(text) >= AA_TEXT {
                break;
            }
            surface = self.mix(away, f64::from(step) * 0.05);
        }
        (surface, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn parses_short_and_long_hex() {
        assert_eq!(
            Color::parse_hex("#0a7cff"),
            Some(Color {
                r: 10,
                g: 124,
                b: 255
            })
        );
        assert_eq!(Color::parse_hex("fff"), Some(Color::WHITE));
        assert_eq!(Color::parse_hex("#12345"), None);
        assert_eq!(Color::parse_hex("red"), None);
        assert_eq!(Color::parse_hex("#ggg"), None);
    }

    #[test]
    fn text_on_any_primary_colour_meets_wcag_aa() {
        for r in (0..=255).step_by(17) {
            for g in (0..=255).step_by(17) {
                for b in (0..=255).step_by(17) {
                    let brand = Color { r, g, b };
                    let (surface, text) = brand.accessible_surface();
                    let ratio = surface.contrast_ratio(text);
                    assert!(
                        ratio >= 4.5,
                        "{} -> {} on {}: {ratio:.2}",
                        brand.to_hex(),
                        text.to_hex(),
                        surface.to_hex()
                    );
                }
            }
        }
    }

    #[test]
    fn brand_ink_on_white_is_always_readable() {
        for hex in ["#ffeb3b", "#00ff00", "#0a7cff", "#7c3aed", "#ffffff"] {
            let ink = Color::parse_hex(hex).unwrap().readable_on(Color::WHITE);
            assert!(
                ink.contrast_ratio(Color::WHITE) >= 4.5,
                "{hex} -> {}",
                ink.to_hex()
            );
        }
        let purple = Color::parse_hex("#7c3aed").unwrap();
        assert_eq!(
            purple.readable_on(Color::WHITE),
            purple,
            "dark enough already"
        );
    }

    #[test]
    fn very_light_and_very_dark_brands_keep_their_colour_and_get_the_right_text() {
        let yellow = Color::parse_hex("#ffeb3b").unwrap();
        assert_eq!(yellow.accessible_surface(), (yellow, Color::DARK_TEXT));
        let navy = Color::parse_hex("#1a1a2e").unwrap();
        assert_eq!(navy.accessible_surface(), (navy, Color::WHITE));
        // A mid blue is shaded just enough for white text.
        let blue = Color::parse_hex("#0a7cff").unwrap();
        let (surface, text) = blue.accessible_surface();
        assert_eq!(text, Color::WHITE);
        assert_ne!(surface, blue);
        assert!(surface.contrast_ratio(text) >= 4.5);
    }
}
