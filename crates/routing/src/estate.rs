//! The estate walking model: how long a collector takes between two stops.
//!
//! An estate is a small graph of named points joined by walkable paths
//! (metres, walked at a set speed): the office, building entrances, garage
//! ramps, junctions. Time to a room = walk to its building's entrance +
//! vertical time to its floor (a lift: wait + seconds per floor; else stairs:
//! seconds per floor) + from the landing to the door. Time to a parking space
//! = walk to its level's ramp + walk inside the garage to the space.
//!
//! # File format
//! One statement per line; `#` starts a comment; coordinates in metres.
//! ```text
//! speed 1.2                 # walking speed, m/s
//! lift 20 3                 # lift: wait seconds, seconds per floor
//! stairs 15                 # seconds per floor on foot
//! door 30                   # landing to door and back to the landing, seconds
//! office 0 0                # where collectors start
//! point gate 10 0           # a junction
//! building 3 40 20 lift     # building name, entrance x y, lift|stairs
//! ramp B1 80 0              # garage level and its ramp's x y
//! space B007 B1 90 12       # parking space code, level, x y
//! path office gate          # a walkable path between two named points
//! path gate b:3             # buildings are b:NAME, ramps r:LEVEL
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// A place a collector visits.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// The office.
    Office,
    /// A room: building name and floor (1 = ground).
    Room {
        /// Building name.
        building: String,
        /// Floor.
        floor: i32,
    },
    /// A parking space by code.
    Space(String),
}

/// A malformed model or an unknown place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if *line > 0 { format!("line {line}: ") } else { String::new() })]
pub struct EstateError {
    /// 1-based line (0 when not about a line).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> EstateError {
    EstateError {
        line,
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Building {
    node: usize,
    lift: bool,
}

/// A parsed estate model with all-pairs walking times between its points.
#[derive(Debug, Clone)]
pub struct EstateModel {
    speed: f64,
    lift_wait: f64,
    lift_per_floor: f64,
    stairs_per_floor: f64,
    door: f64,
    names: Vec<String>,
    xy: Vec<(f64, f64)>,
    paths: Vec<(usize, usize)>,
    buildings: BTreeMap<String, Building>,
    ramps: HashMap<String, usize>,
    spaces: BTreeMap<String, (String, f64, f64)>,
    office: usize,
    /// Walking seconds between points (shortest paths).
    walk: Vec<f64>,
}

fn num(line: usize, s: &str) -> Result<f64, EstateError> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| err(line, format!("{s:?} is not a number")))
}

impl EstateModel {
    /// Parses the file format above.
    pub fn parse(text: &str) -> Result<EstateModel, EstateError> {
        let mut m = EstateModel {
            speed: 1.2,
            lift_wait: 20.0,
            lift_per_floor: 3.0,
            stairs_per_floor: 15.0,
            door: 30.0,
            names: vec![],
            xy: vec![],
            paths: vec![],
            buildings: BTreeMap::new(),
            ramps: HashMap::new(),
            spaces: BTreeMap::new(),
            office: usize::MAX,
            walk: vec![],
        };
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut pending_paths = vec![];
        for (i, raw) in text.lines().enumerate() {
            let ln = i + 1;
            let l = raw.split('#').next().unwrap_or("").trim();
            if l.is_empty() {
                continue;
            }
            let f: Vec<&str> = l.split_whitespace().collect();
            let want = |n: usize, form: &str| {
                if f.len() == n {
                    Ok(())
                } else {
                    Err(err(ln, format!("expected `{form}`")))
                }
            };
            let mut add_point = |name: String, x: f64, y: f64| -> Result<usize, EstateError> {
                if index.contains_key(&name) {
                    return Err(err(ln, format!("{name} is defined twice")));
                }
                m.names.push(name.clone());
                m.xy.push((x, y));
                index.insert(name, m.names.len() - 1);
                Ok(m.names.len() - 1)
            };
            match f[0] {
                "speed" => {
                    want(2, "speed METRES_PER_SECOND")?;
                    m.speed = num(ln, f[1])?;
                    if m.speed <= 0.0 {
                        return Err(err(ln, "speed must be positive"));
                    }
                }
                "lift" => {
                    want(3, "lift WAIT_SECONDS SECONDS_PER_FLOOR")?;
                    (m.lift_wait, m.lift_per_floor) = (num(ln, f[1])?, num(ln, f[2])?);
                }
                "stairs" => {
                    want(2, "stairs SECONDS_PER_FLOOR")?;
                    m.stairs_per_floor = num(ln, f[1])?;
                }
                "door" => {
                    want(2, "door SECONDS")?;
                    m.door = num(ln, f[1])?;
                }
                "office" => {
                    want(3, "office X Y")?;
                    m.office = add_point("office".into(), num(ln, f[1])?, num(ln, f[2])?)?;
                }
                "point" => {
                    want(4, "point NAME X Y")?;
                    add_point(f[1].into(), num(ln, f[2])?, num(ln, f[3])?)?;
                }
                "building" => {
                    want(5, "building NAME X Y lift|stairs")?;
                    let lift = match f[4] {
                        "lift" => true,
                        "stairs" => false,
                        other => return Err(err(ln, format!("{other:?}: say lift or stairs"))),
                    };
                    let node = add_point(format!("b:{}", f[1]), num(ln, f[2])?, num(ln, f[3])?)?;
                    m.buildings.insert(f[1].into(), Building { node, lift });
                }
                "ramp" => {
                    want(4, "ramp LEVEL X Y")?;
                    let node = add_point(format!("r:{}", f[1]), num(ln, f[2])?, num(ln, f[3])?)?;
                    m.ramps.insert(f[1].into(), node);
                }
                "space" => {
                    want(5, "space CODE LEVEL X Y")?;
                    if m.spaces
                        .insert(f[1].into(), (f[2].into(), num(ln, f[3])?, num(ln, f[4])?))
                        .is_some()
                    {
                        return Err(err(ln, format!("space {} is defined twice", f[1])));
                    }
                }
                "path" => {
                    want(3, "path FROM TO")?;
                    pending_paths.push((ln, f[1].to_string(), f[2].to_string()));
                }
                other => return Err(err(ln, format!("unknown statement {other:?}"))),
            }
        }
        if m.office == usize::MAX {
            return Err(err(0, "no office: add `office X Y`"));
        }
        for (ln, a, b) in pending_paths {
            let ia = *index
                .get(&a)
                .ok_or_else(|| err(ln, format!("no point named {a}")))?;
            let ib = *index
                .get(&b)
                .ok_or_else(|| err(ln, format!("no point named {b}")))?;
            m.paths.push((ia, ib));
        }
        for (code, (level, _, _)) in &m.spaces {
            if !m.ramps.contains_key(level) {
                return Err(err(
                    0,
                    format!("space {code} is on level {level}, which has no ramp"),
                ));
            }
        }
        m.walk = m.shortest_paths();
        for (name, b) in &m.buildings {
            if !m.walk[m.office * m.names.len() + b.node].is_finite() {
                return Err(err(
                    0,
                    format!("building {name} cannot be reached from the office by any path"),
                ));
            }
        }
        for (level, &r) in &m.ramps {
            if !m.walk[m.office * m.names.len() + r].is_finite() {
                return Err(err(
                    0,
                    format!(
                        "the ramp of level {level} cannot be reached from the office by any path"
                    ),
                ));
            }
        }
        Ok(m)
    }

    fn len(&self, a: usize, b: usize) -> f64 {
        let (p, q) = (self.xy[a], self.xy[b]);
        ((p.0 - q.0).powi(2) + (p.1 - q.1).powi(2)).sqrt()
    }

    /// Floyd–Warshall over the points: estates have tens of points.
    fn shortest_paths(&self) -> Vec<f64> {
        let n = self.names.len();
        let mut d = vec![f64::INFINITY; n * n];
        for i in 0..n {
            d[i * n + i] = 0.0;
        }
        for &(a, b) in &self.paths {
            let t = self.len(a, b) / self.speed;
            d[a * n + b] = d[a * n + b].min(t);
            d[b * n + a] = d[b * n + a].min(t);
        }
        for k in 0..n {
            for i in 0..n {
                for j in 0..n {
                    let via = d[i * n + k] + d[k * n + j];
                    if via < d[i * n + j] {
                        d[i * n + j] = via;
                    }
                }
            }
        }
        d
    }

    fn vertical(&self, lift: bool, floors: i32) -> f64 {
        let floors = floors.unsigned_abs() as f64;
        if floors == 0.0 {
            0.0
        } else if lift {
            self.lift_wait + floors * self.lift_per_floor
        } else {
            floors * self.stairs_per_floor
        }
    }

    /// (graph node, seconds from that node to the stop) for a stop.
    fn access(&self, s: &Stop) -> Result<(usize, f64), EstateError> {
        match s {
            Stop::Office => Ok((self.office, 0.0)),
            Stop::Room { building, floor } => {
                let b = self
                    .buildings
                    .get(building)
                    .ok_or_else(|| err(0, format!("no building {building} in the model")))?;
                Ok((b.node, self.vertical(b.lift, floor - 1) + self.door / 2.0))
            }
            Stop::Space(code) => {
                let (level, x, y) = self
                    .spaces
                    .get(code)
                    .ok_or_else(|| err(0, format!("no parking space {code} in the model")))?;
                let r = self.ramps[level];
                let inside =
                    ((self.xy[r].0 - x).powi(2) + (self.xy[r].1 - y).powi(2)).sqrt() / self.speed;
                Ok((r, inside))
            }
        }
    }

    /// Seconds from stop `a` to stop `b`.
    pub fn seconds(&self, a: &Stop, b: &Stop) -> Result<f64, EstateError> {
        if a == b {
            return Ok(0.0);
        }
        if let (
            Stop::Room {
                building: ba,
                floor: fa,
            },
            Stop::Room {
                building: bb,
                floor: fb,
            },
        ) = (a, b)
            && ba == bb
        {
            // Within one building: door, up or down, door.
            let lift = self
                .buildings
                .get(ba)
                .ok_or_else(|| err(0, format!("no building {ba} in the model")))?
                .lift;
            return Ok(self.door + self.vertical(lift, fa - fb));
        }
        let (na, ta) = self.access(a)?;
        let (nb, tb) = self.access(b)?;
        Ok(ta + self.walk[na * self.names.len() + nb] + tb)
    }

    /// The duration matrix (seconds, row-major) of `stops`.
    pub fn matrix(&self, stops: &[Stop]) -> Result<Vec<f64>, EstateError> {
        let mut out = Vec::with_capacity(stops.len() * stops.len());
        for a in stops {
            for b in stops {
                out.push(self.seconds(a, b)?);
            }
        }
        Ok(out)
    }

    fn stop_xy(&self, s: &Stop) -> Option<(f64, f64)> {
        match s {
            Stop::Office => Some(self.xy[self.office]),
            Stop::Room { building, .. } => self.buildings.get(building).map(|b| self.xy[b.node]),
            Stop::Space(code) => self.spaces.get(code).map(|(_, x, y)| (*x, *y)),
        }
    }

    /// The site plan as SVG, with `route` (office first and last implied)
    /// drawn over it and its stops numbered.
    pub fn svg(&self, route: &[Stop]) -> String {
        let mut pts: Vec<(f64, f64)> = self.xy.clone();
        pts.extend(self.spaces.values().map(|(_, x, y)| (*x, *y)));
        let (minx, maxx) = pts
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let (miny, maxy) = pts
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
        let pad = 15.0;
        let (w, h) = (maxx - minx + 2.0 * pad, maxy - miny + 2.0 * pad);
        // SVG's y grows downwards; the plan's grows upwards (north).
        let tx = |p: (f64, f64)| (p.0 - minx + pad, maxy - p.1 + pad);
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.1} {h:.1}" font-family="sans-serif" font-size="5">"#
        );
        let _ = write!(s, r##"<rect width="100%" height="100%" fill="#f7f7f2"/>"##);
        for &(a, b) in &self.paths {
            let (p, q) = (tx(self.xy[a]), tx(self.xy[b]));
            let _ = write!(
                s,
                r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#c9c9c0" stroke-width="2"/>"##,
                p.0, p.1, q.0, q.1
            );
        }
        for (name, b) in &self.buildings {
            let p = tx(self.xy[b.node]);
            let fill = if b.lift { "#d8e3f0" } else { "#eadfcf" };
            let _ = write!(
                s,
                r##"<rect x="{:.1}" y="{:.1}" width="10" height="10" fill="{fill}" stroke="#667"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                p.0 - 5.0,
                p.1 - 5.0,
                p.0,
                p.1 + 2.0,
                esc(name)
            );
        }
        for (level, &r) in &self.ramps {
            let p = tx(self.xy[r]);
            let _ = write!(
                s,
                r##"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="#999"/><text x="{:.1}" y="{:.1}">{}</text>"##,
                p.0 - 4.0,
                p.1 + 3.0,
                p.0 + 4.0,
                p.1 + 3.0,
                p.0,
                p.1 - 4.0,
                p.0 + 5.0,
                p.1,
                esc(level)
            );
        }
        for (x, y) in self.spaces.values().map(|(_, x, y)| (*x, *y)) {
            let p = tx((x, y));
            let _ = write!(
                s,
                r##"<rect x="{:.1}" y="{:.1}" width="2" height="3" fill="#bbb"/>"##,
                p.0 - 1.0,
                p.1 - 1.5
            );
        }
        let office = tx(self.xy[self.office]);
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#2a7"/><text x="{:.1}" y="{:.1}">office</text>"##,
            office.0,
            office.1,
            office.0 + 5.0,
            office.1 + 2.0
        );
        let mut line = vec![office];
        line.extend(route.iter().filter_map(|st| self.stop_xy(st)).map(tx));
        line.push(office);
        let d: Vec<String> = line
            .iter()
            .map(|p| format!("{:.1},{:.1}", p.0, p.1))
            .collect();
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#d33" stroke-width="1.5" stroke-dasharray="3 2"/>"##,
            d.join(" ")
        );
        for (i, p) in line[1..line.len() - 1].iter().enumerate() {
            let _ = write!(
                s,
                r##"<circle cx="{:.1}" cy="{:.1}" r="3.2" fill="#d33"/><text x="{:.1}" y="{:.1}" fill="#fff" text-anchor="middle" font-size="4">{}</text>"##,
                p.0,
                p.1,
                p.0,
                p.1 + 1.4,
                i + 1
            );
        }
        s.push_str("</svg>");
        s
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
