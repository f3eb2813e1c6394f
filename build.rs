//! Minifies the stylesheets compiled into the widget (`src/browser/styles.rs`) into `OUT_DIR`:
//! the same rules as `scripts/bundle-css.mjs` uses for the loader's copy (comments and needless
//! whitespace go; enough for our own CSS, which has no strings with significant spaces).

use std::{env, fs, path::Path};

fn minify(css: &str) -> String {
    // Comments out.
    let mut text = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |end| &rest[start + 2 + end + 2..]);
    }
    text.push_str(rest);
    // Whitespace runs become one space, then go entirely around `{};,>` and after `:`.
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(collapsed.len());
    let chars: Vec<char> = collapsed.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let tight = |c: char| matches!(c, '{' | '}' | ';' | ',' | '>');
        if c == ' ' {
            let before = out.chars().last();
            let after = chars.get(i + 1).copied();
            if before.is_some_and(|b| tight(b) || b == ':') || after.is_some_and(tight) {
                continue;
            }
        }
        out.push(c);
    }
    out.replace(";}", "}")
}

fn main() {
    let out = env::var("OUT_DIR").expect("OUT_DIR");
    for name in ["launcher.css", "widget.css"] {
        let source = Path::new("assets").join(name);
        println!("cargo:rerun-if-changed={}", source.display());
        let css = fs::read_to_string(&source).expect("stylesheet");
        fs::write(Path::new(&out).join(name), minify(&css)).expect("minified stylesheet");
    }
}
