//! Region and country of manufacture from the first two VIN characters (ISO 3779 / SAE WMI
//! ranges), used when vPIC does not know a WMI or its country.

/// ISO 3779's order of the second character within a range.
const ORDER: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ1234567890";

/// (first char, second from, second to, country), the commonly assigned ranges.
const COUNTRIES: &[(u8, u8, u8, &str)] = &[
    (b'A', b'A', b'H', "South Africa"),
    (b'J', b'A', b'0', "Japan"),
    (b'K', b'L', b'R', "South Korea"),
    (b'L', b'A', b'0', "China"),
    (b'M', b'A', b'E', "India"),
    (b'M', b'F', b'K', "Indonesia"),
    (b'M', b'L', b'R', "Thailand"),
    (b'N', b'L', b'R', "Turkey"),
    (b'P', b'A', b'E', "Philippines"),
    (b'P', b'L', b'R', "Malaysia"),
    (b'R', b'F', b'K', "Taiwan"),
    (b'S', b'A', b'M', "United Kingdom"),
    (b'S', b'N', b'T', "Germany"),
    (b'S', b'U', b'Z', "Poland"),
    (b'T', b'A', b'H', "Switzerland"),
    (b'T', b'J', b'P', "Czech Republic"),
    (b'T', b'R', b'V', "Hungary"),
    (b'T', b'W', b'1', "Portugal"),
    (b'U', b'U', b'7', "Romania"),
    (b'V', b'A', b'E', "Austria"),
    (b'V', b'F', b'R', "France"),
    (b'V', b'S', b'W', "Spain"),
    (b'W', b'A', b'0', "Germany"),
    (b'X', b'L', b'R', "Netherlands"),
    (b'X', b'S', b'W', "Russia"),
    (b'X', b'3', b'0', "Russia"),
    (b'Y', b'A', b'E', "Belgium"),
    (b'Y', b'F', b'K', "Finland"),
    (b'Y', b'S', b'W', "Sweden"),
    (b'Z', b'A', b'R', "Italy"),
    (b'1', b'A', b'0', "United States"),
    (b'4', b'A', b'0', "United States"),
    (b'5', b'A', b'0', "United States"),
    (b'2', b'A', b'0', "Canada"),
    (b'3', b'A', b'W', "Mexico"),
    (b'6', b'A', b'W', "Australia"),
    (b'7', b'A', b'E', "New Zealand"),
    (b'8', b'A', b'E', "Argentina"),
    (b'8', b'F', b'J', "Chile"),
    (b'9', b'A', b'E', "Brazil"),
    (b'9', b'3', b'9', "Brazil"),
    (b'9', b'F', b'J', "Colombia"),
];

/// The continent a VIN's first character assigns.
pub fn region(first: u8) -> Option<&'static str> {
    Some(match first {
        b'A'..=b'H' => "Africa",
        b'J'..=b'R' => "Asia",
        b'S'..=b'Z' => "Europe",
        b'1'..=b'5' => "North America",
        b'6' | b'7' => "Oceania",
        b'8' | b'9' => "South America",
        _ => return None,
    })
}

/// The country the first two VIN characters are assigned to, where commonly known.
pub fn country(first: u8, second: u8) -> Option<&'static str> {
    let pos = ORDER.iter().position(|&c| c == second)?;
    COUNTRIES.iter().find_map(|&(f, from, to, name)| {
        let from = ORDER.iter().position(|&c| c == from)?;
        let to = ORDER.iter().position(|&c| c == to)?;
        (f == first && (from..=to).contains(&pos)).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(vin: &str, expected: (Option<&str>, Option<&str>)) {
        let b = vin.as_bytes();
        assert_eq!((region(b[0]), country(b[0], b[1])), expected, "{vin}");
    }

    #[test]
    fn wmi_ranges() {
        check("WVW", (Some("Europe"), Some("Germany")));
        check("VF1", (Some("Europe"), Some("France")));
        check("VSS", (Some("Europe"), Some("Spain")));
        check("TMB", (Some("Europe"), Some("Czech Republic")));
        check("ZFA", (Some("Europe"), Some("Italy")));
        check("SAL", (Some("Europe"), Some("United Kingdom")));
        check("YV1", (Some("Europe"), Some("Sweden")));
        check("JHM", (Some("Asia"), Some("Japan")));
        check("KNA", (Some("Asia"), Some("South Korea")));
        check("1HG", (Some("North America"), Some("United States")));
        check("3VW", (Some("North America"), Some("Mexico")));
        check("9BW", (Some("South America"), Some("Brazil")));
        check("0AB", (None, None));
        check("KAB", (Some("Asia"), None));
    }
}
