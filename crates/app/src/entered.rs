//! Finding rooms by what staff type, and entering metered amounts
//! (代收 water, electricity …) for a period, as pasted from a spreadsheet.

use crate::{App, AppResult};
use doorstep_domain::{Basis, DomainError, Fen, Period};
use doorstep_store::{Estate, Room};

/// Whether `text` names `room`: `3-1-202`, `3-202` (no entrance), or the label `3号楼1单元202室`.
pub fn names_room(text: &str, room: &Room) -> bool {
    let t = text.trim();
    let dashed = if room.entrance.is_empty() {
        format!("{}-{}", room.building, room.number)
    } else {
        format!("{}-{}-{}", room.building, room.entrance, room.number)
    };
    t == dashed || t == room.label()
}

impl App {
    /// Enters amounts for an entered fee item from lines of `room amount`
    /// (separated by a tab, comma or spaces, as pasted from Excel). Every
    /// line must be valid, or nothing is entered; the error lists the bad lines.
    pub async fn enter_amounts_text(
        &self,
        estate: &Estate,
        fee_item_id: i64,
        period: Period,
        text: &str,
    ) -> AppResult<u64> {
        let item = self.store.fee_item(estate.id, fee_item_id).await?;
        if item.spec.basis != Basis::Entered {
            return Err(DomainError::invalid(
                "fee_item",
                format!("{} is not billed by entered amounts", item.spec.name),
            )
            .into());
        }
        let rooms = self.store.list_rooms(estate.id, "", i64::MAX, 0).await?;
        let mut amounts = Vec::new();
        let mut errors = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let Some((room_text, amount_text)) = line.rsplit_once(['\t', ',', '，', ' ']) else {
                errors.push(format!(
                    "line {}: {line:?} needs a room and an amount",
                    i + 1
                ));
                continue;
            };
            let room = rooms.iter().find(|r| names_room(room_text, r));
            let amount = Fen::parse_yuan("amount", amount_text);
            match (room, amount) {
                (Some(r), Ok(a)) => amounts.push((r.id, a)),
                (None, _) => errors.push(format!(
                    "line {}: no room {:?} in this estate",
                    i + 1,
                    room_text.trim()
                )),
                (_, Err(e)) => errors.push(format!("line {}: {e}", i + 1)),
            }
        }
        if !errors.is_empty() {
            let shown: Vec<&str> = errors.iter().take(10).map(String::as_str).collect();
            let more = if errors.len() > 10 {
                format!(" (and {} more)", errors.len() - 10)
            } else {
                String::new()
            };
            return Err(DomainError::invalid(
                "amounts",
                format!("{}{more}; nothing was entered", shown.join("; ")),
            )
            .into());
        }
        if amounts.is_empty() {
            return Err(DomainError::invalid(
                "amounts",
                "no lines given; write one `room amount` per line, e.g. `3-1-202 35.60`",
            )
            .into());
        }
        Ok(self
            .store
            .set_entered_amounts(estate.id, fee_item_id, period, &amounts)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_domain::Area;

    #[test]
    fn room_references() {
        let r = Room {
            id: 1,
            estate_id: 1,
            building_id: 1,
            building: "3".into(),
            entrance: "1".into(),
            floor: 2,
            number: "202".into(),
            area: Area::parse("80").unwrap(),
            owners: vec![],
        };
        assert!(names_room("3-1-202", &r));
        assert!(names_room(" 3号楼1单元202室 ", &r));
        assert!(!names_room("3-202", &r));
        assert!(!names_room("3-1-203", &r));
    }
}
