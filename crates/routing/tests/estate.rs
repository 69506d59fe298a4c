//! The estate walking model: times by path, floor and garage; errors; SVG.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_routing::estate::{EstateModel, Stop};

const MODEL: &str = "
# a small estate
speed 1
lift 20 3
stairs 15
door 30
office 0 0
point gate 10 0
building 3 10 40 stairs
building 5 50 0 lift
ramp B1 10 -20
space B007 B1 10 -50
path office gate
path gate b:3
path gate b:5
path gate r:B1
";

fn room(b: &str, floor: i32) -> Stop {
    Stop::Room {
        building: b.into(),
        floor,
    }
}

#[test]
fn times_follow_paths_floors_and_garages() {
    let m = EstateModel::parse(MODEL).unwrap();
    // office → gate 10 m, gate → building 3 40 m, ground floor, half the door time.
    assert_eq!(
        m.seconds(&Stop::Office, &room("3", 1)).unwrap(),
        10.0 + 40.0 + 15.0
    );
    // Stairs: 5 floors up at 15 s.
    assert_eq!(
        m.seconds(&Stop::Office, &room("3", 6)).unwrap(),
        10.0 + 40.0 + 75.0 + 15.0
    );
    // Lift: wait 20 + 3 s a floor.
    assert_eq!(
        m.seconds(&Stop::Office, &room("5", 11)).unwrap(),
        10.0 + 40.0 + 20.0 + 30.0 + 15.0
    );
    // Within a building: door, stairs, door.
    assert_eq!(
        m.seconds(&room("3", 2), &room("3", 5)).unwrap(),
        30.0 + 45.0
    );
    // A space: to the ramp, then 30 m inside the garage.
    assert_eq!(
        m.seconds(&Stop::Office, &Stop::Space("B007".into()))
            .unwrap(),
        10.0 + 20.0 + 30.0
    );
    let stops = [
        Stop::Office,
        room("3", 2),
        room("5", 9),
        Stop::Space("B007".into()),
    ];
    let mx = m.matrix(&stops).unwrap();
    for i in 0..4 {
        assert_eq!(mx[i * 4 + i], 0.0);
        for j in 0..4 {
            assert_eq!(mx[i * 4 + j], mx[j * 4 + i], "walking is symmetric");
        }
    }
    assert!(
        m.seconds(&Stop::Office, &room("9", 1))
            .unwrap_err()
            .to_string()
            .contains("no building 9")
    );
}

#[test]
fn malformed_models_name_the_line() {
    let bad = MODEL.replace("building 5 50 0 lift", "building 5 50 0 escalator");
    assert_eq!(EstateModel::parse(&bad).unwrap_err().line, 10);
    let bad = MODEL.replace("path gate r:B1", "path gate r:B2");
    let e = EstateModel::parse(&bad).unwrap_err();
    assert!(
        e.to_string().contains("line 16") && e.to_string().contains("r:B2"),
        "{e}"
    );
    let unreachable = MODEL.replace("path gate b:5\n", "");
    assert!(
        EstateModel::parse(&unreachable)
            .unwrap_err()
            .to_string()
            .contains("building 5 cannot be reached")
    );
    assert!(
        EstateModel::parse("speed 1\n")
            .unwrap_err()
            .to_string()
            .contains("no office")
    );
}

#[test]
fn site_plan_draws_the_route() {
    let m = EstateModel::parse(MODEL).unwrap();
    let svg = m.svg(&[room("3", 2), Stop::Space("B007".into())]);
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert!(svg.contains("<polyline"));
    // Two numbered stops on the route.
    assert_eq!(svg.matches(r#"r="3.2""#).count(), 2);
    assert!(svg.contains(">1</text>") && svg.contains(">2</text>"));
}
