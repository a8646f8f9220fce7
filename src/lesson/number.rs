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

/// [`fmt_num`] in exactly at most `max` characters (at least 3), for a grid cell whose
/// width is fixed (issue 23: an edited value never widens its grid): [`fmt_fit`] first;
/// a value still too wide is written in thousands (`k`), millions (`M`), billions (`G`)
/// or trillions (`T`), `2.6M` for 2,550,000, rounded to what fits.
pub fn fmt_cell(v: f32, max: usize) -> String {
    let max = max.max(3);
    let fit = fmt_fit(v, max);
    if fit.chars().count() <= max || !v.is_finite() {
        return fit;
    }
    let mut scaled = v;
    for suffix in ["k", "M", "G", "T", "P"] {
        scaled /= 1000.0;
        let s = fmt_fit(scaled, max - 1);
        // 999.6k rounds to 1000: take the next suffix instead; -155 in three columns
        // would read 0k: keep the whole number, too wide, rather than a wrong one
        if s == "0" {
            return fit;
        }
        if s.chars().count() < max && s.trim_start_matches('-') != "1000" {
            return format!("{s}{suffix}");
        }
    }
    fit
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

    #[test]
    fn a_fixed_cell_writes_wide_values_compactly() {
        for (v, max) in [
            (255.0, 3),
            (-155.0, 4),
            (1.5, 4),
            (-0.5, 4),
            (1_499_898.5, 4),
        ] {
            let s = fmt_cell(v, max);
            assert!(s.chars().count() <= max, "{v} in {max}: {s}");
        }
        assert_eq!(fmt_cell(-155.0, 4), fmt_num(-155.0));
        assert_eq!(fmt_cell(1_499_898.5, 4), "1.5M");
        assert_eq!(fmt_cell(999_999.0, 3), "1M");
        assert_eq!(fmt_cell(-2_560_000.0, 5), "-2.6M");
        assert_eq!(fmt_cell(12_345.0, 4), "12k");
        // never a wrong 0k: a number that cannot fit stays whole
        assert_eq!(fmt_cell(-155.0, 3), "-155");
    }
}
