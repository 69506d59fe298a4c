//! Importing rooms, spaces and owners from the spreadsheets offices keep.

use crate::{App, AppError, AppResult};
use doorstep_domain::DomainError;
use doorstep_import::{ImportError, ParsedImport, RowError, parse_file};
use doorstep_store::{
    Estate, ImportBatch, ImportOutcome, ImportOwner, RoomInput, RoomKey, SpaceInput,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// What an import found and did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Encoding or format detected.
    pub encoding: &'static str,
    /// Data rows read.
    pub rows: usize,
    /// Rows without errors.
    pub valid_rows: usize,
    /// Every error, by row.
    pub errors: Vec<ImportRowError>,
    /// Whether anything was written.
    pub applied: bool,
    /// What was created, if applied.
    pub outcome: Option<ImportOutcome>,
}

/// One row's error.
#[derive(Debug, Clone, Serialize)]
pub struct ImportRowError {
    /// Spreadsheet row number.
    pub row: usize,
    /// Column header.
    pub field: String,
    /// Value found.
    pub value: String,
    /// What is wrong.
    pub message: String,
    /// The whole message.
    pub text: String,
}

impl From<&RowError> for ImportRowError {
    fn from(e: &RowError) -> Self {
        ImportRowError {
            row: e.row,
            field: e.field.clone(),
            value: e.value.clone(),
            message: e.message.clone(),
            text: e.to_string(),
        }
    }
}

fn file_error(e: ImportError) -> AppError {
    AppError::Invalid(DomainError::invalid("file", e.to_string()))
}

impl App {
    /// Imports `bytes` (xlsx/xls/csv) into `estate`. Nothing is written if any
    /// row is invalid, unless `skip_invalid`, which imports the valid rows.
    pub async fn import_file(
        &self,
        estate: &Estate,
        file_name: &str,
        bytes: &[u8],
        skip_invalid: bool,
    ) -> AppResult<ImportReport> {
        let parsed = parse_file(file_name, bytes).map_err(file_error)?;
        let mut errors: Vec<ImportRowError> =
            parsed.errors.iter().map(ImportRowError::from).collect();
        let rows = parsed.rows.len()
            + parsed
                .errors
                .iter()
                .map(|e| e.row)
                .collect::<HashSet<_>>()
                .len();
        let (batch, conflicts, valid_rows) = self.to_batch(estate, &parsed).await?;
        errors.extend(conflicts);
        errors.sort_by_key(|e| e.row);
        let mut report = ImportReport {
            encoding: parsed.encoding,
            rows,
            valid_rows,
            errors,
            applied: false,
            outcome: None,
        };
        if (!report.errors.is_empty() && !skip_invalid) || valid_rows == 0 {
            return Ok(report);
        }
        report.outcome = Some(self.store.apply_import(estate.id, &batch).await?);
        report.applied = true;
        Ok(report)
    }

    /// Turns valid rows into a batch, reporting rows that clash with what the estate already has.
    async fn to_batch(
        &self,
        estate: &Estate,
        parsed: &ParsedImport,
    ) -> AppResult<(ImportBatch, Vec<ImportRowError>, usize)> {
        let existing_rooms: HashSet<RoomKey> = self
            .store
            .list_rooms(estate.id, "", i64::MAX, 0)
            .await?
            .into_iter()
            .map(|r| RoomKey {
                building: r.building,
                entrance: r.entrance,
                number: r.number,
            })
            .collect();
        let existing_spaces: HashSet<String> = self
            .store
            .list_spaces(estate.id, "", i64::MAX, 0)
            .await?
            .into_iter()
            .map(|s| s.code)
            .collect();
        let mut batch = ImportBatch::default();
        let mut conflicts = Vec::new();
        let mut owners: HashMap<(String, String), usize> = HashMap::new();
        let mut valid = 0;
        for row in &parsed.rows {
            let key = row.room.as_ref().map(|r| RoomKey {
                building: r.building.clone(),
                entrance: r.entrance.clone(),
                number: r.number.clone(),
            });
            let mut bad = false;
            if let Some(k) = &key
                && existing_rooms.contains(k)
            {
                let label =
                    doorstep_domain::estate::room_label(&k.building, &k.entrance, &k.number);
                conflicts.push(conflict(
                    row.row,
                    "房号",
                    &k.number,
                    format!("{label} already exists in estate {}", estate.code),
                ));
                bad = true;
            }
            if let Some(s) = &row.space
                && existing_spaces.contains(&s.code)
            {
                conflicts.push(conflict(
                    row.row,
                    "车位",
                    &s.code,
                    format!(
                        "parking space {} already exists in estate {}",
                        s.code, estate.code
                    ),
                ));
                bad = true;
            }
            if bad {
                continue;
            }
            valid += 1;
            if let Some(r) = row.room.as_ref().filter(|_| !row.co_owner) {
                batch.rooms.push(RoomInput {
                    building: r.building.clone(),
                    entrance: r.entrance.clone(),
                    floor: r.floor,
                    number: r.number.clone(),
                    area: r.area,
                });
            }
            if let Some(s) = &row.space {
                batch.spaces.push(SpaceInput {
                    code: s.code.clone(),
                    level: s.level.clone(),
                });
            }
            if let Some(o) = &row.owner {
                let first_phone = o.phones.first().map(|p| p.to_string()).unwrap_or_default();
                let idx = *owners
                    .entry((o.name.clone(), first_phone))
                    .or_insert_with(|| {
                        batch.owners.push(ImportOwner {
                            name: o.name.clone(),
                            phones: o.phones.clone(),
                            rooms: vec![],
                            spaces: vec![],
                        });
                        batch.owners.len() - 1
                    });
                if let Some(k) = key {
                    batch.owners[idx].rooms.push(k);
                }
                if let Some(s) = &row.space {
                    batch.owners[idx].spaces.push(s.code.clone());
                }
            }
        }
        Ok((batch, conflicts, valid))
    }
}

fn conflict(row: usize, field: &str, value: &str, message: String) -> ImportRowError {
    ImportRowError {
        row,
        field: field.into(),
        value: value.into(),
        text: format!("row {row}, {field}: {value:?}: {message}"),
        message,
    }
}
