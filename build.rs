//! Minifies the stylesheets compiled into the widget (`src/browser/styles.rs`) into `OUT_DIR`,
//! with lightningcss (as `scripts/bundle.mjs` does for the loader's copy, with its npm build).
//! A stylesheet it cannot parse fails the build, naming the file and the place.

use std::{env, fs, path::Path};

use lightningcss::stylesheet::{MinifyOptions, ParserOptions, PrinterOptions, StyleSheet};

fn minify(name: &str, css: &str) -> String {
    let options = ParserOptions {
        filename: name.to_owned(),
        ..ParserOptions::default()
    };
    let mut sheet = StyleSheet::parse(css, options)
        .unwrap_or_else(|err| panic!("assets/{name}: {err} at {:?}", err.loc));
    sheet
        .minify(MinifyOptions::default())
        .unwrap_or_else(|err| panic!("assets/{name}: {err}"));
    sheet
        .to_css(PrinterOptions {
            minify: true,
            ..PrinterOptions::default()
        })
        .unwrap_or_else(|err| panic!("assets/{name}: {err}"))
        .code
}

fn main() {
    let out = env::var("OUT_DIR").expect("OUT_DIR");
    for name in ["launcher.css", "widget.css"] {
        let source = Path::new("assets").join(name);
        println!("cargo:rerun-if-changed={}", source.display());
        let css = fs::read_to_string(&source).expect("stylesheet");
        fs::write(Path::new(&out).join(name), minify(name, &css)).expect("minified stylesheet");
    }
}
