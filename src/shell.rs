//! Shell quoting, in one place: init-chown's command, exec-probes' probe script and local-pv's
//! node preparation commands all put values from the chart into `sh` command lines.

/// Single-quote a value for `sh`: nothing inside single quotes is special except the quote
/// itself, which becomes `'\''` (close, escaped quote, reopen).
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A word for a command line shown to the user: as it is when the shell reads it as itself
/// (letters, digits and `-_.=,:/@%+`), else quoted.
pub fn quote_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.=,:/@%+".contains(&b));
    if plain { s.to_string() } else { quote(s) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_sh() {
        for s in [
            "plain",
            "it's",
            "$(touch /tmp/x) `id` \"q\"",
            "a b\tc\n",
            "",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(s)))
                .output()
                .expect("sh runs");
            assert_eq!(String::from_utf8_lossy(&out.stdout), s);
        }
    }
}
