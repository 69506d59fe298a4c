//! Reading instances: the Solomon text format and VRPLIB (coordinates or
//! explicit matrices, time windows, service times). Errors name the line.

use crate::Instance;

/// A malformed instance file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number (0 when the problem is the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

/// Parses either format, telling them apart by their keywords.
pub fn parse(text: &str) -> Result<Instance, ParseError> {
    let is_vrplib = text.lines().any(|l| {
        let t = l.trim_start().to_ascii_uppercase();
        t.starts_with("DIMENSION")
            || t.starts_with("NODE_COORD_SECTION")
            || t.starts_with("EDGE_WEIGHT_SECTION")
    });
    if is_vrplib {
        parse_vrplib(text)
    } else {
        parse_solomon(text)
    }
}

fn number(line: usize, tok: &str) -> Result<f64, ParseError> {
    tok.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| err(line, format!("{tok:?} is not a number")))
}

fn integer(line: usize, tok: &str) -> Result<i64, ParseError> {
    let v = number(line, tok)?;
    if v.fract() != 0.0 {
        return Err(err(line, format!("{tok:?} is not a whole number")));
    }
    Ok(v as i64)
}

/// The Solomon format: name, `VEHICLE` / `NUMBER CAPACITY`, `CUSTOMER` with
/// one row per node (number, x, y, demand, ready, due, service); node 0 is the depot.
pub fn parse_solomon(text: &str) -> Result<Instance, ParseError> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .collect();
    let name = lines
        .iter()
        .find(|(_, l)| !l.is_empty())
        .map(|(_, l)| l.to_string())
        .ok_or_else(|| err(0, "the file is empty"))?;
    let mut it = lines
        .iter()
        .skip_while(|(_, l)| !l.to_ascii_uppercase().starts_with("NUMBER"));
    it.next()
        .ok_or_else(|| err(0, "no VEHICLE section (a line `NUMBER CAPACITY`)"))?;
    let &(vl, vline) = it
        .by_ref()
        .find(|(_, l)| !l.is_empty())
        .ok_or_else(|| err(0, "no vehicle count and capacity after `NUMBER CAPACITY`"))?;
    let v: Vec<&str> = vline.split_whitespace().collect();
    if v.len() != 2 {
        return Err(err(
            vl,
            format!("expected the vehicle count and capacity, found {vline:?}"),
        ));
    }
    let fleet = integer(vl, v[0])?;
    let capacity = integer(vl, v[1])?;
    if fleet <= 0 || capacity <= 0 {
        return Err(err(vl, "vehicle count and capacity must be positive"));
    }
    let mut it = it.skip_while(|(_, l)| !l.to_ascii_uppercase().starts_with("CUST"));
    it.next()
        .ok_or_else(|| err(0, "no CUSTOMER section (a header line starting `CUST NO.`)"))?;
    let (mut ids, mut coords, mut demand, mut ready, mut due, mut service) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for &(ln, l) in it {
        if l.is_empty() {
            continue;
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        // Column headings (`CUST NO.  XCOORD. …`) are not data.
        if f[0].parse::<f64>().is_err() && ids.is_empty() {
            continue;
        }
        if f.len() != 7 {
            return Err(err(
                ln,
                format!(
                    "expected 7 columns (number, x, y, demand, ready, due, service), found {}",
                    f.len()
                ),
            ));
        }
        let id = integer(ln, f[0])?;
        if ids.is_empty() && id != 0 {
            return Err(err(
                ln,
                "the first customer row must be the depot, number 0",
            ));
        }
        if ids.iter().any(|x: &String| x == &id.to_string()) {
            return Err(err(ln, format!("customer {id} appears twice")));
        }
        let (r, d) = (number(ln, f[4])?, number(ln, f[5])?);
        if d < r {
            return Err(err(ln, format!("due date {d} is before ready time {r}")));
        }
        let dem = integer(ln, f[3])?;
        let s = number(ln, f[6])?;
        if dem < 0 || s < 0.0 {
            return Err(err(ln, "demand and service time must not be negative"));
        }
        ids.push(id.to_string());
        coords.push((number(ln, f[1])?, number(ln, f[2])?));
        demand.push(dem);
        ready.push(r);
        due.push(d);
        service.push(s);
    }
    if ids.len() < 2 {
        return Err(err(
            0,
            "no customers: the CUSTOMER section needs the depot and at least one customer",
        ));
    }
    if let Some(i) = demand.iter().position(|&d| d > capacity) {
        return Err(err(
            0,
            format!(
                "customer {} demands {} but a vehicle carries {capacity}",
                ids[i], demand[i]
            ),
        ));
    }
    Ok(Instance::euclidean(
        &name,
        ids,
        coords,
        demand,
        ready,
        due,
        service,
        capacity,
        fleet as usize,
    ))
}

/// VRPLIB: `KEY : value` lines, then sections. Supports `EUC_2D` (rounded,
/// as in TSPLIB), `EXACT_2D`/`FLOAT_2D` (double precision) and `EXPLICIT`
/// matrices (`FULL_MATRIX`, `LOWER_ROW`, `UPPER_ROW`, `LOWER_DIAG_ROW`,
/// `UPPER_DIAG_ROW`), with `DEMAND_SECTION`, `TIME_WINDOW_SECTION`,
/// `SERVICE_TIME_SECTION` and `DEPOT_SECTION`.
pub fn parse_vrplib(text: &str) -> Result<Instance, ParseError> {
    let mut name = String::from("unnamed");
    let mut dim: Option<usize> = None;
    let mut capacity: Option<i64> = None;
    let mut fleet: Option<usize> = None;
    let mut weight_type = String::from("EUC_2D");
    let mut weight_format = String::from("FULL_MATRIX");
    let mut coords: Vec<Option<(f64, f64)>> = vec![];
    let mut demand: Vec<i64> = vec![];
    let mut windows: Vec<Option<(f64, f64)>> = vec![];
    let mut service: Vec<f64> = vec![];
    let mut weights: Vec<(usize, f64)> = vec![];
    let mut depot: Option<usize> = None;
    let mut ids: Vec<String> = vec![];
    let mut section = String::new();
    let need_dim = |dim: Option<usize>, ln: usize| {
        dim.ok_or_else(|| err(ln, "DIMENSION must come before the sections"))
    };
    for (i, raw) in text.lines().enumerate() {
        let ln = i + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let upper = l.to_ascii_uppercase();
        if upper == "EOF" {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_uppercase(), v.trim());
            if !k.contains(' ') && k.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                section.clear();
                match k.as_str() {
                    "NAME" => name = v.to_string(),
                    "DIMENSION" => {
                        let n = integer(ln, v)?;
                        if n < 2 {
                            return Err(err(
                                ln,
                                "DIMENSION must be at least 2 (a depot and a customer)",
                            ));
                        }
                        let n = n as usize;
                        dim = Some(n);
                        coords = vec![None; n];
                        demand = vec![0; n];
                        windows = vec![None; n];
                        service = vec![0.0; n];
                        ids = (1..=n).map(|i| i.to_string()).collect();
                    }
                    "CAPACITY" => capacity = Some(integer(ln, v)?),
                    "VEHICLES" => fleet = Some(integer(ln, v)?.max(1) as usize),
                    "EDGE_WEIGHT_TYPE" => weight_type = v.to_ascii_uppercase(),
                    "EDGE_WEIGHT_FORMAT" => weight_format = v.to_ascii_uppercase(),
                    "SERVICE_TIME" => {
                        let s = number(ln, v)?;
                        let n = need_dim(dim, ln)?;
                        service = vec![s; n];
                    }
                    _ => {} // TYPE, COMMENT and other keys carry nothing the solver needs
                }
                continue;
            }
        }
        if upper.ends_with("_SECTION") {
            section = upper.clone();
            continue;
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        let n = need_dim(dim, ln)?;
        let node = |tok: &str| -> Result<usize, ParseError> {
            let id = integer(ln, tok)?;
            if id < 1 || id as usize > n {
                return Err(err(ln, format!("node {id} is outside 1..{n}")));
            }
            Ok(id as usize - 1)
        };
        match section.as_str() {
            "NODE_COORD_SECTION" => {
                if f.len() != 3 {
                    return Err(err(ln, "a coordinate line is `node x y`"));
                }
                coords[node(f[0])?] = Some((number(ln, f[1])?, number(ln, f[2])?));
            }
            "DEMAND_SECTION" => {
                if f.len() != 2 {
                    return Err(err(ln, "a demand line is `node demand`"));
                }
                let d = integer(ln, f[1])?;
                if d < 0 {
                    return Err(err(ln, "demand must not be negative"));
                }
                demand[node(f[0])?] = d;
            }
            "TIME_WINDOW_SECTION" => {
                if f.len() != 3 {
                    return Err(err(ln, "a time-window line is `node earliest latest`"));
                }
                let (a, b) = (number(ln, f[1])?, number(ln, f[2])?);
                if b < a {
                    return Err(err(
                        ln,
                        format!("window closes ({b}) before it opens ({a})"),
                    ));
                }
                windows[node(f[0])?] = Some((a, b));
            }
            "SERVICE_TIME_SECTION" => {
                if f.len() != 2 {
                    return Err(err(ln, "a service-time line is `node duration`"));
                }
                let s = number(ln, f[1])?;
                if s < 0.0 {
                    return Err(err(ln, "service time must not be negative"));
                }
                service[node(f[0])?] = s;
            }
            "DEPOT_SECTION" => {
                for tok in f {
                    if tok == "-1" {
                        break;
                    }
                    if depot.is_none() {
                        depot = Some(node(tok)?);
                    }
                }
            }
            "EDGE_WEIGHT_SECTION" => {
                for tok in f {
                    weights.push((ln, number(ln, tok)?));
                }
            }
            "" => {
                return Err(err(
                    ln,
                    format!("unexpected line outside any section: {l:?}"),
                ));
            }
            _ => {} // sections the solver does not use
        }
    }
    let n = dim.ok_or_else(|| err(0, "no DIMENSION"))?;
    let capacity = capacity.unwrap_or(i64::MAX / 4);
    let depot = depot.unwrap_or(0);
    let dist = match weight_type.as_str() {
        "EXPLICIT" => explicit_matrix(n, &weight_format, &weights)?,
        "EUC_2D" | "EXACT_2D" | "FLOAT_2D" => {
            let pts: Vec<(f64, f64)> = coords
                .iter()
                .enumerate()
                .map(|(i, c)| c.ok_or_else(|| err(0, format!("node {} has no coordinates", i + 1))))
                .collect::<Result<_, _>>()?;
            let mut d = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    let e = ((pts[i].0 - pts[j].0).powi(2) + (pts[i].1 - pts[j].1).powi(2)).sqrt();
                    d[i * n + j] = if weight_type == "EUC_2D" {
                        e.round()
                    } else {
                        e
                    };
                }
            }
            d
        }
        other => {
            return Err(err(
                0,
                format!(
                    "EDGE_WEIGHT_TYPE {other} is not supported (use EUC_2D, EXACT_2D or EXPLICIT)"
                ),
            ));
        }
    };
    // Reorder so that the depot is node 0.
    let mut order: Vec<usize> = vec![depot];
    order.extend((0..n).filter(|&i| i != depot));
    let horizon = f64::MAX / 4.0;
    let w = |i: usize| windows[i].unwrap_or((0.0, horizon));
    let inst = Instance {
        name,
        ids: order.iter().map(|&i| ids[i].clone()).collect(),
        demand: order.iter().map(|&i| demand[i]).collect(),
        ready: order.iter().map(|&i| w(i).0).collect(),
        due: order.iter().map(|&i| w(i).1).collect(),
        service: order.iter().map(|&i| service[i]).collect(),
        capacity,
        fleet: fleet.unwrap_or(n - 1),
        dist: order
            .iter()
            .flat_map(|&i| order.iter().map(move |&j| (i, j)))
            .map(|(i, j)| dist[i * n + j])
            .collect(),
        penalty: vec![None; n],
        coords: if coords.iter().all(Option::is_some) {
            Some(order.iter().filter_map(|&i| coords[i]).collect())
        } else {
            None
        },
    };
    if let Some(i) = inst.demand.iter().position(|&d| d > inst.capacity) {
        return Err(err(
            0,
            format!(
                "node {} demands {} but a vehicle carries {}",
                inst.ids[i], inst.demand[i], inst.capacity
            ),
        ));
    }
    Ok(inst)
}

fn explicit_matrix(n: usize, format: &str, w: &[(usize, f64)]) -> Result<Vec<f64>, ParseError> {
    let expected = match format {
        "FULL_MATRIX" => n * n,
        "LOWER_ROW" | "UPPER_ROW" => n * (n - 1) / 2,
        "LOWER_DIAG_ROW" | "UPPER_DIAG_ROW" => n * (n + 1) / 2,
        other => {
            return Err(err(
                0,
                format!("EDGE_WEIGHT_FORMAT {other} is not supported"),
            ));
        }
    };
    if w.len() != expected {
        let line = w.last().map(|x| x.0).unwrap_or(0);
        return Err(err(
            line,
            format!(
                "EDGE_WEIGHT_SECTION has {} numbers; a {format} for {n} nodes needs {expected}",
                w.len()
            ),
        ));
    }
    if format == "FULL_MATRIX" {
        // Kept as given: a full matrix may be asymmetric.
        return Ok(w.iter().map(|x| x.1).collect());
    }
    let mut d = vec![0.0; n * n];
    let mut k = 0;
    for i in 0..n {
        let cols = match format {
            "LOWER_ROW" => 0..i,
            "UPPER_ROW" => i + 1..n,
            "LOWER_DIAG_ROW" => 0..i + 1,
            _ => i..n,
        };
        for j in cols {
            d[i * n + j] = w[k].1;
            d[j * n + i] = w[k].1;
            k += 1;
        }
    }
    Ok(d)
}
