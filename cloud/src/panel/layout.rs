//! The page shell every panel page shares: head (viewport, stylesheet, script), skip link,
//! navigation with the current section marked, and small form helpers.

use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::session::PanelUser;

/// The navigation sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Vehicles,
    Geofences,
    Decode,
    Keys,
    Account,
}

const NAV: [(Section, &str, &str); 5] = [
    (Section::Vehicles, "/panel/", "Vehicles"),
    (Section::Geofences, "/panel/geofences", "Geofences"),
    (Section::Decode, "/panel/decode", "VIN decode"),
    (Section::Keys, "/panel/keys", "API keys"),
    (Section::Account, "/panel/account", "Account"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="no-referrer";
            title { (title) " · Pitlane" }
            link rel="stylesheet" href=(assets::url("panel.css"));
            link rel="icon" href=(assets::url("favicon.svg")) type="image/svg+xml";
            script src=(assets::url("panel.js")) defer {}
        }
    }
}

/// A page for a signed-in user.
pub fn page(title: &str, user: &PanelUser, section: Section, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/panel/" { "Pitlane" }
                    nav aria-label="Main" {
                        ul {
                            @for (s, href, label) in NAV {
                                li {
                                    @if s == section {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    form.logout method="post" action="/panel/logout" {
                        (csrf(&user.csrf))
                        span.who { (user.session.email.as_deref().unwrap_or(&user.session.name)) }
                        button type="submit" { "Log out" }
                    }
                }
                main #main tabindex="-1" data-csrf=(user.csrf) { (content) }
            }
        }
    }
}

/// A page without navigation (login, registration, errors).
pub fn bare(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                a.skip href="#main" { "Skip to content" }
                header.top { a.brand href="/panel/" { "Pitlane" } }
                main #main tabindex="-1" { (content) }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A status message: `role=status` for news, `role=alert` for problems.
pub fn notice(kind: Notice, text: &str) -> Markup {
    match kind {
        Notice::Ok => html! { p.notice.ok role="status" { (text) } },
        Notice::Problem => html! { p.notice.problem role="alert" { (text) } },
    }
}

/// Which kind of [`notice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Ok,
    Problem,
}

/// A labelled input.
pub fn field(label: &str, name: &str, kind: &str, autocomplete: &str, value: &str) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) type=(kind) autocomplete=(autocomplete) value=(value) required;
        }
    }
}

/// Unix seconds as `2026-11-22 05:01 UTC`.
pub fn when(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "–".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rendered_in_utc() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(when(1_795_000_000), "2026-11-18 11:06 UTC");
    }

    #[test]
    fn text_is_escaped() {
        let page = bare("<t>", html! { p { ("<script>") } }).into_string();
        assert!(page.contains("&lt;script&gt;"), "{page}");
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains(r#"<meta name="viewport""#), "{page}");
        assert!(
            page.contains(r##"<a class="skip" href="#main">"##),
            "{page}"
        );
    }
}
