//! The one logging decision both binaries share: whether log lines carry ANSI colours.

use std::ffi::OsString;

/// Whether log lines may carry ANSI colours: only on a terminal (not journald, a pipe or a
/// file), and not when `NO_COLOR` is set to anything non-empty (no-color.org). The caller
/// passes `std::io::stderr().is_terminal()` and `std::env::var_os("NO_COLOR")`.
pub fn colours(stderr_is_terminal: bool, no_color: Option<OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        let check = |terminal: bool, no_color: Option<&str>, expected: bool| {
            let got = super::colours(terminal, no_color.map(Into::into));
            assert_eq!(got, expected, "terminal {terminal}, NO_COLOR {no_color:?}");
        };
        check(true, None, true);
        check(true, Some(""), true);
        check(true, Some("1"), false);
        check(false, None, false);
        check(false, Some("1"), false);
    }
}
