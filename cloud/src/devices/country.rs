//! ISO 3166-1 alpha-3 country codes (the `countryCode` of a vehicle), checked against the
//! `celes` crate's table of the 249 officially assigned codes.

use super::DevicesError;

/// Validates and normalises (upper-case) a country code such as `USA` or `deu`.
pub fn parse(code: &str) -> Result<String, DevicesError> {
    let upper = code.trim().to_ascii_uppercase();
    let bad = || {
        DevicesError::BadInput(format!(
            "countryCode: \"{}\" is not an ISO 3166-1 alpha-3 country code",
            code.chars().take(16).collect::<String>()
        ))
    };
    if upper.len() != 3 || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad());
    }
    let country = celes::Country::from_alpha3(&upper).map_err(|_| bad())?;
    Ok(country.alpha3.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<&str>) {
        assert_eq!(parse(input).ok().as_deref(), expected, "{input}");
    }

    #[test]
    fn accepts_assigned_alpha3_codes_only() {
        check("USA", Some("USA"));
        check("deu", Some("DEU"));
        check(" GBR ", Some("GBR"));
        check("ALA", Some("ALA"));
        check("ZWE", Some("ZWE"));
        check("US", None);
        check("UK", None);
        check("XXX", None);
        check("EUR", None);
        check("U5A", None);
        check("", None);
        check("USAA", None);
        check("ÜSA", None);
    }
}
