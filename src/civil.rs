//! Calendar dates and times without a zone, and their Unix times read as UTC: for `--deadline`
//! (squeue prints local times; `sys::local_time` converts those) and run-directory names.

/// `t` in Unix seconds (0 for a time before 1970).
pub fn unix_seconds(t: std::time::SystemTime) -> f64 {
    t.duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// A calendar date and time of day, without a zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    /// `YYYY-MM-DDTHH:MM[:SS]` (or a space for the `T`), as `squeue -o %e` and `date -Is` print.
    pub fn parse(text: &str) -> Option<Civil> {
        let (date, time) = text.split_once(['T', ' '])?;
        let mut d = date.splitn(3, '-');
        let (year, month, day) = (d.next()?.parse().ok()?, d.next()?.parse().ok()?, d.next()?.parse().ok()?);
        let mut t = time.split(':');
        let hour = t.next()?.parse().ok()?;
        let minute = t.next()?.parse().ok()?;
        let second = t.next().map_or(Some(0), |s| s.parse().ok())?;
        if t.next().is_some() {
            return None;
        }
        let c = Civil { year, month, day, hour, minute, second };
        let valid = (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
            && hour < 24
            && minute < 60
            && second < 60;
        valid.then_some(c)
    }

    /// Seconds since the Unix epoch, reading the time as UTC (days from civil, proleptic
    /// Gregorian, H. Hinnant's algorithm).
    pub fn utc_seconds(&self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400 + i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second)
    }
}

impl Civil {
    /// The UTC date and time of a Unix time (civil from days, H. Hinnant's algorithm).
    pub fn from_utc_seconds(secs: i64) -> Civil {
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        Civil {
            year: (yoe + era * 400 + i64::from(month <= 2)) as i32,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
        }
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_to_unix_matches_known_instants() {
        let c = |s: &str| Civil::parse(s).unwrap().utc_seconds();
        assert_eq!(c("1970-01-01T00:00:00"), 0);
        assert_eq!(c("2000-03-01T00:00:00"), 951_868_800);
        assert_eq!(c("2024-02-29T12:34:56"), 1_709_210_096);
        assert_eq!(c("1969-12-31T23:59:59"), -1);
        assert_eq!(c("2026-11-26 03:05:32"), 1_795_662_332);
    }

    #[test]
    fn utc_round_trips() {
        for secs in [0, -1, 951_782_400, 1_709_210_096, 1_795_662_332, 4_102_444_800, -86_400 * 365] {
            assert_eq!(Civil::from_utc_seconds(secs).utc_seconds(), secs);
        }
        let c = Civil::from_utc_seconds(1_795_652_497);
        assert_eq!((c.year, c.month, c.day, c.hour, c.minute, c.second), (2026, 11, 26, 0, 21, 37));
    }
}
