//! Validation rules: check digit, model year, per-position errors, WMI and VAG model codes.

use pitlane_cloud::vin::{Decoder, Severity, Source, Vin, VinIssue};

fn decoder() -> Decoder {
    Decoder::new()
        .expect("embedded data loads")
        .with_current_year(2026)
}

fn check_digit(vin: &str, expected: char) {
    let v = Vin::parse(vin).expect("well-formed");
    assert_eq!(v.expected_check_digit(), expected, "{vin}");
}

#[test]
fn check_digits() {
    check_digit("1HGCM82633A004352", '3');
    check_digit("11111111111111111", '1');
    check_digit("1M8GDM9AXKP042788", 'X');
    check_digit("JH4KA453XKC037671", 'X');
    check_digit("1G8ZF52801Z322733", '0');
    check_digit("1HGCM82643A004352", '3');
}

/// Decodes and returns (valid, the issues as (severity, positions)).
fn issues(vin: &str) -> (bool, Vec<(Severity, Vec<usize>)>) {
    let r = decoder().decode(vin);
    (
        r.valid,
        r.issues
            .iter()
            .map(|i| (i.severity(), i.positions()))
            .collect(),
    )
}

#[test]
fn bad_vins_name_the_position() {
    use Severity::{Error, Warning};
    // Wrong check digit on a North American VIN: fatal.
    assert_eq!(issues("1HGCM82643A004352"), (false, vec![(Error, vec![9])]));
    // Letters that VINs never use, at the positions they stand.
    assert_eq!(
        issues("1HGCM8O633A0I4352"),
        (false, vec![(Error, vec![7]), (Error, vec![13])])
    );
    // Too short, with a bad character: both reported.
    assert_eq!(
        issues("1HGCM8263Q"),
        (false, vec![(Error, vec![]), (Error, vec![10])])
    );
    // Outside North America the check digit is reported but not fatal.
    let (valid, found) = issues("WVWZZZAUZFW000002");
    assert!(valid);
    assert!(found.contains(&(Warning, vec![9])), "{found:?}");
    // Position 10 cannot be U, Z or 0 in North America.
    let (valid, found) = issues("1HGCM8263UA004352");
    assert!(!valid);
    assert!(found.contains(&(Error, vec![10])), "{found:?}");
    // A car's serial number (positions 13-17) is numeric in North America.
    let (valid, found) = issues("1HGCM82633A00A352");
    assert!(!valid);
    assert!(found.contains(&(Error, vec![14])), "{found:?}");
}

#[test]
fn messages_say_what_is_allowed() {
    let r = decoder().decode("1HGCM8O633A004352");
    let text = r
        .issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    assert!(
        text.contains(
            "position 7: 'O' is not allowed; allowed: digits 0-9 and letters A-Z except I, O and Q"
        ),
        "{text}"
    );
    let r = decoder().decode("1HGCM82643A004352");
    assert_eq!(
        r.issues[0].to_string(),
        "position 9: check digit is '4' but positions 1-8 and 10-17 give '3'"
    );
}

#[test]
fn wmi_country_region_and_type() {
    let r = decoder().decode("1HGCM82633A004352");
    assert_eq!(r.wmi.as_deref(), Some("1HG"));
    assert_eq!(r.region, Some("North America"));
    assert_eq!(r.vehicle_type, Some("Passenger Car"));
    assert_eq!(
        (r.make, r.model, r.year),
        (Some("Honda"), Some("Accord"), Some(2003))
    );
    // Small manufacturers: position 3 is '9' and positions 12-14 complete the WMI.
    let v = Vin::parse("1G9AB12C3D4567890").expect("well-formed");
    assert_eq!(v.wmi(), "1G9567");
    // Unknown WMI: a warning, region and country still from the first characters.
    let r = decoder().decode("LZZ1ABCD0FA000001");
    assert!(
        r.issues
            .iter()
            .any(|i| matches!(i, VinIssue::UnknownWmi { .. }))
    );
    assert_eq!(
        (r.region, r.country, r.source),
        (Some("Asia"), Some("China"), Source::None)
    );
}

#[test]
fn model_year_ambiguity_is_reported() {
    // A truck WMI without a light-truck type: position 7 does not decide, the data does.
    let r = decoder().decode("1FTFW1RT0PW000001");
    assert_eq!(r.year, Some(2023));
    assert!(
        r.issues.contains(&VinIssue::AmbiguousYear {
            chosen: 2023,
            other: 1993
        }),
        "{:?}",
        r.issues
    );
    // A car WMI: position 7 is a letter, so 2010-2039; no ambiguity.
    let r = decoder().decode("5YJ3E1EA5KF000001");
    assert!(
        !r.issues
            .iter()
            .any(|i| matches!(i, VinIssue::AmbiguousYear { .. }))
    );
}

fn vag(vin: &str, make: &str, model: Option<&str>, year: Option<u16>) {
    let r = decoder().decode(vin);
    assert_eq!(
        (r.make, r.model, r.year),
        (Some(make), model, year),
        "{vin}: {:?}",
        r.issues
    );
    assert_eq!(
        r.source,
        if model.is_some() {
            Source::VagModelCode
        } else {
            Source::Wmi
        }
    );
}

#[test]
fn european_vag_vins_use_model_codes() {
    vag(
        "WVWZZZAUZFW000002",
        "Volkswagen",
        Some("Golf (Mk7)"),
        Some(2015),
    );
    vag(
        "WVWZZZ1KZ6W000001",
        "Volkswagen",
        Some("Golf (Mk5/Mk6)"),
        Some(2006),
    );
    vag(
        "WVWZZZ3CZEE000001",
        "Volkswagen",
        Some("Passat (B6/B7)"),
        Some(2014),
    );
    vag(
        "TMBZZZNEZHW000001",
        "Skoda",
        Some("Octavia (Mk3)"),
        Some(2017),
    );
    // An unknown code gives the make only, never a guessed model.
    vag("WVWZZZXXZFW000001", "Volkswagen", None, Some(2015));
}
