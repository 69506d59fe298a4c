//! Check-in locations against geofences: the browser's fix (WGS-84, as
//! `navigator.geolocation` reports it) compared with a circle around a
//! building or parking level.

use serde::Serialize;

/// A location fix: millionths of a degree, accuracy in metres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// Latitude × 10⁶.
    pub lat_e6: i64,
    /// Longitude × 10⁶.
    pub lng_e6: i64,
    /// Radius of 95 % confidence, metres (as the browser reports it).
    pub accuracy_m: i64,
}

/// A circle around a building or parking level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fence {
    /// Centre latitude × 10⁶.
    pub lat_e6: i64,
    /// Centre longitude × 10⁶.
    pub lng_e6: i64,
    /// Radius, metres.
    pub radius_m: i64,
}

/// What a check-in's location says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The fix is inside the fence.
    Inside,
    /// The fix is outside the fence (allowed, flagged).
    Outside,
    /// No fix (denied, timed out, underground): allowed, flagged.
    NoFix,
    /// No fence is set for the place: nothing to compare.
    NoFence,
}

impl Verdict {
    /// Storage code.
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Inside => "inside",
            Verdict::Outside => "outside",
            Verdict::NoFix => "no_fix",
            Verdict::NoFence => "no_fence",
        }
    }

    /// Whether staff should look at it.
    pub fn flagged(self) -> bool {
        matches!(self, Verdict::Outside | Verdict::NoFix)
    }

    /// Chinese label for the collector and staff.
    pub fn label_zh(self) -> &'static str {
        match self {
            Verdict::Inside => "在范围内",
            Verdict::Outside => "不在范围内（已标记）",
            Verdict::NoFix => "无定位（已标记）",
            Verdict::NoFence => "未设置范围",
        }
    }
}

/// Great-circle distance in metres (haversine on a sphere of radius
/// 6,371,008.8 m), rounded.
pub fn distance_m(a_lat_e6: i64, a_lng_e6: i64, b_lat_e6: i64, b_lng_e6: i64) -> i64 {
    const R: f64 = 6_371_008.8;
    let rad = |e6: i64| (e6 as f64 / 1e6).to_radians();
    let (la1, la2) = (rad(a_lat_e6), rad(b_lat_e6));
    let dla = la2 - la1;
    let dlo = rad(b_lng_e6) - rad(a_lng_e6);
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    (2.0 * R * h.sqrt().min(1.0).asin()).round() as i64
}

/// The verdict for a fix against the fences of the places visited (inside
/// any one of them is inside), with the distance to the nearest centre.
pub fn verdict(fix: Option<Fix>, fences: &[Fence]) -> (Verdict, Option<i64>) {
    let Some(fix) = fix else {
        return (Verdict::NoFix, None);
    };
    let nearest = fences
        .iter()
        .map(|f| {
            (
                distance_m(fix.lat_e6, fix.lng_e6, f.lat_e6, f.lng_e6),
                f.radius_m,
            )
        })
        .min_by_key(|(d, r)| d - r);
    match nearest {
        None => (Verdict::NoFence, None),
        Some((d, r)) if d <= r => (Verdict::Inside, Some(d)),
        Some((d, _)) => (Verdict::Outside, Some(d)),
    }
}

/// Checks a fix from a client: latitude within ±90°, longitude within ±180°,
/// accuracy 0–100 km.
pub fn check_fix(fix: &Fix) -> Result<(), crate::DomainError> {
    if !(-90_000_000..=90_000_000).contains(&fix.lat_e6) {
        return Err(crate::DomainError::invalid("lat", "must be within ±90°"));
    }
    if !(-180_000_000..=180_000_000).contains(&fix.lng_e6) {
        return Err(crate::DomainError::invalid("lng", "must be within ±180°"));
    }
    if !(0..=100_000).contains(&fix.accuracy_m) {
        return Err(crate::DomainError::invalid(
            "accuracy",
            "must be 0–100,000 metres",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        // One millidegree of latitude is about 111 m.
        assert_eq!(
            distance_m(31_230_000, 121_470_000, 31_231_000, 121_470_000),
            111
        );
        assert_eq!(
            distance_m(31_230_000, 121_470_000, 31_230_000, 121_470_000),
            0
        );
    }

    #[test]
    fn verdicts() {
        let fence = Fence {
            lat_e6: 31_230_000,
            lng_e6: 121_470_000,
            radius_m: 60,
        };
        let at = |dlat: i64| Fix {
            lat_e6: 31_230_000 + dlat,
            lng_e6: 121_470_000,
            accuracy_m: 10,
        };
        assert_eq!(
            verdict(Some(at(500)), &[fence]),
            (Verdict::Inside, Some(56))
        );
        assert_eq!(
            verdict(Some(at(600)), &[fence]),
            (Verdict::Outside, Some(67))
        );
        assert_eq!(verdict(None, &[fence]), (Verdict::NoFix, None));
        assert_eq!(verdict(Some(at(0)), &[]), (Verdict::NoFence, None));
        assert!(Verdict::Outside.flagged() && Verdict::NoFix.flagged());
        assert!(!Verdict::Inside.flagged());
        assert!(
            check_fix(&Fix {
                lat_e6: 91_000_000,
                lng_e6: 0,
                accuracy_m: 1
            })
            .is_err()
        );
    }
}
