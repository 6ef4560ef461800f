//! Model year from VIN position 10, with NHTSA's position-7 rule (vPIC `fVinModelYear2`).
//!
//! Position 10 repeats every 30 years. For passenger cars, MPVs and light trucks built for
//! North America since 2010, a digit in position 7 means the 1980–2009 cycle and a letter the
//! 2010–2039 cycle. A year more than two years ahead is taken from the earlier cycle. Otherwise
//! the year is ambiguous and both candidates are returned.

/// The model year(s) a VIN can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelYear {
    /// The year of the later cycle (or the only year when conclusive).
    pub year: u16,
    /// The year of the earlier cycle, when position 7 cannot decide.
    pub alternate: Option<u16>,
}

/// The year of the 2010–2039 cycle a position-10 code stands for.
pub fn year_code(code: char) -> Option<u16> {
    let year = match code {
        'A'..='H' => 2010 + (code as u16 - 'A' as u16),
        'J'..='N' => 2018 + (code as u16 - 'J' as u16),
        'P' => 2023,
        'R'..='T' => 2024 + (code as u16 - 'R' as u16),
        'V'..='Y' => 2027 + (code as u16 - 'V' as u16),
        '1'..='9' => 2031 + (code as u16 - '1' as u16),
        _ => return None,
    };
    Some(year)
}

/// Model year from positions 10 and 7. `position7_rule` says whether NHTSA's position-7 rule
/// applies (a North American passenger car, MPV or light truck); `current_year` is the
/// calendar year now.
pub fn model_year(
    pos10: char,
    pos7: char,
    position7_rule: bool,
    current_year: u16,
) -> Option<ModelYear> {
    let mut year = year_code(pos10)?;
    let mut conclusive = false;
    if position7_rule {
        if pos7.is_ascii_digit() {
            year -= 30;
        }
        conclusive = true;
    }
    if year > current_year + 2 {
        year -= 30;
        conclusive = true;
    }
    Some(ModelYear {
        year,
        alternate: (!conclusive).then(|| year - 30),
    })
}

/// The current calendar year (UTC) from the system clock.
pub fn current_year() -> u16 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Days to civil year (Howard Hinnant's algorithm), valid for any date after 1970.
    let days = (secs / 86_400) as i64 + 719_468;
    let era = days / 146_097;
    let doe = days - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    u16::try_from(year).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pos10: char, pos7: char, rule: bool, expected: Option<(u16, Option<u16>)>) {
        let got = model_year(pos10, pos7, rule, 2026).map(|m| (m.year, m.alternate));
        assert_eq!(got, expected, "pos10 {pos10} pos7 {pos7} rule {rule}");
    }

    #[test]
    fn position_10_and_7() {
        check('A', 'C', true, Some((2010, None)));
        check('A', '5', true, Some((1980, None)));
        check('R', 'A', true, Some((2024, None)));
        check('R', '1', true, Some((1994, None)));
        check('P', 'B', true, Some((2023, None)));
        check('Y', '0', true, Some((2000, None)));
        check('1', 'A', true, Some((2001, None)));
        check('9', 'A', false, Some((2009, None)));
        check('T', 'A', true, Some((2026, None)));
        check('V', 'A', true, Some((2027, None)));
        check('W', 'A', true, Some((2028, None)));
        check('X', 'A', true, Some((1999, None)));
        check('X', 'A', false, Some((1999, None)));
        check('F', 'A', false, Some((2015, Some(1985))));
        check('L', '4', false, Some((2020, Some(1990))));
        check('U', 'A', true, None);
        check('Z', 'A', true, None);
        check('0', 'A', true, None);
    }

    #[test]
    fn clock_year_is_plausible() {
        assert!((2024..2200).contains(&current_year()));
    }
}
