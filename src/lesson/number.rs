//! The one way a number is written for a learner: in formulas, in grids and bars on
//! screen, in `--plain` text and in notices, so the grid and the formula under it agree.

/// A number as a learner would write it: `155`, `-155`, `0.5`, `0.111`, `123.5`, `0.0021`.
///
/// Whole numbers without a point; otherwise three decimals (one from 100 up), trailing
/// zeros dropped; values under 0.01 keep two significant digits, so a small value never
/// reads as 0.
pub fn fmt_num(v: f32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == v.round() && v.abs() < 1.0e9 {
        let s = format!("{v:.0}");
        return if s == "-0" { "0".into() } else { s };
    }
    let a = v.abs();
    if a < 1.0e-4 {
        // a tiny value (a probability near 0): 6.6e-10, not 0.00000000066
        return format!("{v:.1e}");
    }
    let decimals = if a >= 100.0 {
        1
    } else if a >= 0.01 {
        3
    } else {
        // small values keep two significant digits
        (2.0 - a.log10().floor()) as usize
    };
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// [`fmt_num`] in at most `max` characters, for a grid cell: decimals are dropped (rounding)
/// until it fits; whole numbers are never cut. Every value a built-in lesson shows fits in
/// 6, so its grids read exactly as its formulas.
pub fn fmt_fit(v: f32, max: usize) -> String {
    let full = fmt_num(v);
    if full.chars().count() <= max || !v.is_finite() {
        return full;
    }
    let Some(point) = full.find('.') else {
        return full;
    };
    let have = full.len() - point - 1;
    for decimals in (0..have).rev() {
        let s = format!("{v:.decimals$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        let s = if s == "-0" { "0".to_string() } else { s };
        if s.chars().count() <= max || decimals == 0 {
            return s;
        }
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_a_person_writes_them() {
        assert_eq!(fmt_num(155.0), "155");
        assert_eq!(fmt_num(-155.0), "-155");
        assert_eq!(fmt_num(-0.0), "0");
        assert_eq!(fmt_num(0.5), "0.5");
        assert_eq!(fmt_num(0.25), "0.25");
        assert_eq!(fmt_num(1.5), "1.5");
        assert_eq!(fmt_num(1.0 / 9.0), "0.111");
        assert_eq!(fmt_num(2.0 / 3.0), "0.667");
        assert_eq!(fmt_num(0.0021), "0.0021");
        assert_eq!(fmt_num(123.46), "123.5");
        assert_eq!(fmt_num(-0.0001), "-0.0001");
        // issue 23: a probability near 0 is not a row of zeros
        assert_eq!(fmt_num(6.56e-10), "6.6e-10");
        assert_eq!(fmt_num(-0.00003), "-3.0e-5");
        assert_eq!(fmt_num(f32::NAN), "NaN");
        assert_eq!(fmt_num(f32::NEG_INFINITY), "-inf");
    }

    #[test]
    fn grid_cells_fit_their_width_and_agree_when_they_can() {
        for v in [155.0, -155.0, 0.5, 1.0 / 9.0, -0.257, 0.0021, 123.46] {
            assert_eq!(fmt_fit(v, 6), fmt_num(v), "{v}");
        }
        assert_eq!(fmt_fit(-0.00244, 6), "-0.002");
        assert_eq!(fmt_fit(-0.0004, 6), "0");
        assert_eq!(fmt_fit(-1234.56, 6), "-1235");
        assert_eq!(fmt_fit(1_000_000.0, 6), "1000000");
    }
}
