//! Human units: duration strings ("1h30m", "250ms", "0.5s") to integer nanoseconds and sizes
//! ("512MiB", "2GB") to bytes, and back. Parsing is exact (decimal arithmetic, no floats), so
//! a value written by `format_*` reads back to the same integer.

use super::config::Nanos;

pub(crate) const DURATION_EXPECTED: &str = "expected a duration string such as \"250ms\", \
     \"30s\", \"15m\", \"2h\" (units: ns, us, ms, s, m, h, d)";

pub(crate) const SIZE_EXPECTED: &str = "expected a size string such as \"512MiB\", \"2GiB\" \
     (units: B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)";

pub(crate) const RATE_EXPECTED: &str = "expected a rate string such as \"0.5/s\", \
     \"30/m\", \"120/h\", \"2000/d\" (per s, m, h or d: second, minute, hour, day)";

/// The longest duration any key (or CSV cell) may hold: 10,000 days (27 years, 8.64e17 ns),
/// long enough to mean "never" (`abandon_after = "1000d"`). A u64 of nanoseconds holds 584
/// years, so simulated time (below the horizon, itself at most this) plus 20 such durations
/// cannot overflow; products with counts saturate in the model.
pub const MAX_DURATION_NANOS: Nanos = 10_000 * 86_400_000_000_000;

/// The largest size any key may hold: 1 TiB (2^40 bytes), so a million of them (instances'
/// slots, cache entries) still sum below 2^60.
pub const MAX_SIZE_BYTES: u64 = 1 << 40;

const DURATION_UNITS: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

const SIZE_UNITS: [(&str, u64); 9] = [
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
];

/// A decimal number split into its integer digits and fraction digits, e.g. "1.25" -> (1, 25, 2).
struct Decimal {
    whole: u128,
    fraction: u128,
    fraction_digits: u32,
}

/// Reads a decimal number at the start of `s`; returns it and the rest of the string.
fn read_decimal(s: &str) -> Result<(Decimal, &str), String> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, rest) = s.split_at(end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return Err(format!("expected a number at \"{s}\""));
    }
    if fraction.len() > 18 || whole.len() > 20 {
        return Err("too many digits".into());
    }
    let parse = |digits: &str| -> u128 { digits.parse().unwrap_or(0) };
    let decimal = Decimal {
        whole: parse(whole),
        fraction: parse(fraction),
        fraction_digits: fraction.len() as u32,
    };
    Ok((decimal, rest))
}

/// `decimal * unit` as an exact integer, or an error when it is not whole or too large.
fn scale(decimal: &Decimal, unit: u64, what: &str) -> Result<u64, String> {
    let unit = u128::from(unit);
    let denominator = 10u128.pow(decimal.fraction_digits);
    let fraction_scaled = decimal.fraction * unit;
    if !fraction_scaled.is_multiple_of(denominator) {
        return Err(format!("not a whole number of {what}"));
    }
    let total = decimal.whole * unit + fraction_scaled / denominator;
    u64::try_from(total).map_err(|_| "too large".to_string())
}

/// Parses "250ms", "1h30m", "0.5s", "0s". The reason on error is a short fragment.
pub fn parse_duration(text: &str) -> Result<Nanos, String> {
    let mut rest = text.trim();
    if rest.starts_with('-') {
        return Err("durations cannot be negative".into());
    }
    if rest.is_empty() {
        return Err("empty".into());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (decimal, after_number) = read_decimal(rest)?;
        let unit_end = after_number
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after_number.len());
        let (unit, after_unit) = after_number.split_at(unit_end);
        let unit = unit.trim();
        if unit.is_empty() {
            return Err("missing unit".into());
        }
        let Some(&(_, nanos)) = DURATION_UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(unknown_unit(unit));
        };
        let part = scale(&decimal, nanos, "nanoseconds").map_err(|why| {
            if why == "too large" {
                DURATION_TOO_LARGE.to_string()
            } else {
                why
            }
        })?;
        total = total.checked_add(part).ok_or(DURATION_TOO_LARGE)?;
        rest = after_unit;
    }
    if total > MAX_DURATION_NANOS {
        return Err(DURATION_TOO_LARGE.into());
    }
    Ok(total)
}

/// Parses "512MiB", "2GB", "1.5GiB", "0B".
/// "unknown unit", with what was probably meant when the "unit" is the rest of a number written
/// as TOML or Rust would and sim does not: an exponent (`1e3s`: unit "e") or a digit separator
/// (`1_000s`: unit "_").
fn unknown_unit(unit: &str) -> String {
    let hint = if unit.starts_with(['e', 'E']) {
        ": exponents (1e3) are not allowed here, write the digits out (1000)"
    } else if unit.starts_with('_') {
        ": digit separators (1_000) are not allowed here, write 1000"
    } else {
        ""
    };
    format!("unknown unit \"{unit}\"{hint}")
}

pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err("sizes cannot be negative".into());
    }
    let (decimal, unit) = read_decimal(text)?;
    let unit = unit.trim();
    if unit.is_empty() {
        return Err("missing unit".into());
    }
    let Some(&(_, bytes)) = SIZE_UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(unknown_unit(unit));
    };
    let bytes = scale(&decimal, bytes, "bytes").map_err(|why| {
        if why == "too large" {
            SIZE_TOO_LARGE.to_string()
        } else {
            why
        }
    })?;
    if bytes > MAX_SIZE_BYTES {
        return Err(SIZE_TOO_LARGE.into());
    }
    Ok(bytes)
}

/// The seconds in one rate unit: the duration units from a second up, so a rate is written the
/// way a duration is (`"30/m"` as `"30m"`).
const RATE_UNITS: [(&str, f64); 4] = [("s", 1.0), ("m", 60.0), ("h", 3_600.0), ("d", 86_400.0)];

/// Parses "120/h", "0.5/s", "30/m", "2000/d" to events per second. The reason on error is a
/// short fragment.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err("rates cannot be negative".into());
    }
    let Some((number, unit)) = text.split_once('/') else {
        return Err("missing \"/unit\"".into());
    };
    let (number, unit) = (number.trim(), unit.trim());
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!(
            "expected a number before \"/\", found \"{number}\""
        ));
    }
    let count: f64 = number
        .parse()
        .map_err(|_| format!("expected a number before \"/\", found \"{number}\""))?;
    if unit.is_empty() {
        return Err("missing unit after \"/\"".into());
    }
    let Some(&(_, seconds)) = RATE_UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(unknown_unit(unit));
    };
    Ok(count / seconds)
}

const DURATION_TOO_LARGE: &str = "more than the limit of 10000d";
const SIZE_TOO_LARGE: &str = "more than the limit of 1TiB";

/// The largest unit that represents `nanos` exactly: 5400s -> "90m", 0 -> "0s".
pub fn format_duration(nanos: Nanos) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let order = ["d", "h", "m", "s", "ms", "us", "ns"];
    for name in order {
        let Some(&(_, unit)) = DURATION_UNITS.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        if nanos.is_multiple_of(unit) {
            return format!("{}{name}", nanos / unit);
        }
    }
    format!("{nanos}ns")
}

/// The largest binary unit that represents `bytes` exactly: 536870912 -> "512MiB".
pub fn format_size(bytes: u64) -> String {
    if bytes == 0 {
        return "0B".into();
    }
    for (name, unit) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if bytes.is_multiple_of(unit) {
            return format!("{}{name}", bytes / unit);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An exponent or a digit separator reads as an unknown unit; the message says which.
    #[test]
    fn an_exponent_or_a_digit_separator_is_named_as_such() {
        for (parsed, says) in [
            (
                parse_duration("1e3s"),
                "unknown unit \"e\": exponents (1e3) are not allowed",
            ),
            (
                parse_duration("1_000s"),
                "unknown unit \"_\": digit separators (1_000)",
            ),
            (parse_size("1e30GiB"), "unknown unit \"e30GiB\": exponents"),
            (parse_size("1_024MiB"), "digit separators"),
        ] {
            let why = parsed.map(|_| ()).unwrap_err();
            assert!(why.contains(says), "{why}");
        }
        assert_eq!(parse_duration("30 sec"), Err("unknown unit \"sec\"".into()));
    }

    #[test]
    fn durations_parse_with_units_compounds_and_decimals() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("0.5s"), Ok(500_000_000));
        assert_eq!(parse_duration("2d"), Ok(172_800_000_000_000));
        assert_eq!(parse_duration("50us"), Ok(50_000));
        assert_eq!(parse_duration("50µs"), Ok(50_000));
        assert_eq!(parse_duration("7ns"), Ok(7));
        assert_eq!(parse_duration("0s"), Ok(0));
    }

    #[test]
    fn bad_durations_say_why() {
        assert_eq!(parse_duration("30"), Err("missing unit".into()));
        assert_eq!(parse_duration("30 sec"), Err("unknown unit \"sec\"".into()));
        assert_eq!(
            parse_duration("-5s"),
            Err("durations cannot be negative".into())
        );
        assert_eq!(
            parse_duration("0.5ns"),
            Err("not a whole number of nanoseconds".into())
        );
        assert_eq!(
            parse_duration("s"),
            Err("expected a number at \"s\"".into())
        );
        assert_eq!(
            parse_duration("99999999999d"),
            Err("more than the limit of 10000d".into())
        );
        // The examples of issue 11: both overflowed the model's time arithmetic.
        for text in [
            "18446744073709551615ns",
            "213503d",
            "10000d1ns",
            "240000h1s",
        ] {
            assert_eq!(
                parse_duration(text),
                Err("more than the limit of 10000d".into()),
                "{text}"
            );
        }
        assert_eq!(parse_duration("10000d"), Ok(MAX_DURATION_NANOS));
        assert_eq!(parse_size("1TiB"), Ok(MAX_SIZE_BYTES));
        assert_eq!(
            parse_size("1025GiB"),
            Err("more than the limit of 1TiB".into())
        );
        assert_eq!(
            parse_size("99999999999999999999TB"),
            Err("more than the limit of 1TiB".into())
        );
    }

    #[test]
    fn rates_parse_per_second_minute_hour_and_day() {
        assert_eq!(parse_rate("0.5/s"), Ok(0.5));
        assert_eq!(parse_rate("30/m"), Ok(0.5));
        assert_eq!(parse_rate("1800/h"), Ok(0.5));
        assert_eq!(parse_rate("43200/d"), Ok(0.5));
        assert_eq!(parse_rate(" 120 / h "), Ok(120.0 / 3600.0));
        assert_eq!(parse_rate("0/s"), Ok(0.0));
        assert_eq!(parse_rate("120"), Err("missing \"/unit\"".into()));
        assert_eq!(parse_rate("120/hour"), Err("unknown unit \"hour\"".into()));
        assert_eq!(parse_rate("120/"), Err("missing unit after \"/\"".into()));
        assert_eq!(parse_rate("-1/s"), Err("rates cannot be negative".into()));
        assert_eq!(
            parse_rate("1e3/s"),
            Err("expected a number before \"/\", found \"1e3\"".into())
        );
        assert_eq!(
            parse_rate("1.2.3/s"),
            Err("expected a number before \"/\", found \"1.2.3\"".into())
        );
    }

    #[test]
    fn sizes_parse_binary_and_decimal_units() {
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("0B"), Ok(0));
        assert_eq!(parse_size("512"), Err("missing unit".into()));
        assert_eq!(
            parse_size("1.5B"),
            Err("not a whole number of bytes".into())
        );
    }

    #[test]
    fn formatting_picks_the_largest_exact_unit_and_round_trips() {
        assert_eq!(format_duration(5_400_000_000_000), "90m");
        assert_eq!(format_duration(250_000_000), "250ms");
        assert_eq!(format_duration(1_500_000_000), "1500ms");
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_size(512 << 20), "512MiB");
        assert_eq!(format_size(1000), "1000B");
        for nanos in [
            1,
            999,
            1_000_000_001,
            86_400_000_000_000,
            MAX_DURATION_NANOS,
        ] {
            assert_eq!(parse_duration(&format_duration(nanos)), Ok(nanos));
        }
        for bytes in [1, 1024, 3 << 29, MAX_SIZE_BYTES] {
            assert_eq!(parse_size(&format_size(bytes)), Ok(bytes));
        }
    }
}
