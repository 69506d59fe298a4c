//! Uploading the office's room/owner spreadsheet: the report lists every bad
//! row by number and column, and nothing is written unless all rows are good
//! (or the clerk chose to skip the bad ones).

use super::{ConsoleUser, page, render};
use crate::ui::Flash;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::response::Response;
use axum::routing::get;
use doorstep_app::{App, AppError};
use doorstep_domain::{DomainError, Lang, Permission};
use maud::{Markup, html};

/// Largest upload accepted: 20 MiB (a 100,000-row workbook is well below).
const MAX_UPLOAD: usize = 20 * 1024 * 1024;

pub fn router() -> Router<App> {
    Router::new().route(
        "/console/{code}/import",
        get(form_page)
            .post(upload)
            .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
    )
}

fn upload_form(l: Lang, code: &str) -> Markup {
    html! {
        form.card #import method="post" action={"/console/" (code) "/import"} enctype="multipart/form-data" {
            p.muted { (l.pick(
                "支持 Excel（.xlsx/.xls）和 CSV（UTF-8 或 GBK）。表头示例：楼栋、单元、楼层、房号、面积、业主、电话、车位、车位区域。",
                "Excel (.xlsx/.xls) or CSV (UTF-8 or GBK). Headers such as 楼栋, 单元, 楼层, 房号, 面积, 业主, 电话, 车位, 车位区域."
            )) }
            label { (l.pick("文件", "File")) input type="file" name="file" accept=".xlsx,.xls,.csv,.txt" required; }
            label.inline { input type="checkbox" name="skip_invalid" value="on"; (l.pick("跳过有错误的行，只导入正确的行", "Skip invalid rows and import the valid ones")) }
            button type="submit" { (l.pick("导入", "Import")) }
        }
    }
}

async fn form_page(State(app): State<App>, cu: ConsoleUser, Path(code): Path<String>) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app
            .estate_for(&cu.user, &code, Permission::EditMasterData)
            .await?;
        Ok::<_, AppError>(page(
            l,
            &format!(
                "{} · {}",
                e.name,
                l.pick("导入房屋与业主", "Import rooms and owners")
            ),
            Some(&cu.user),
            Some(&e.code),
            &Flash::default(),
            upload_form(l, &e.code),
        ))
    }
    .await;
    render(l, r)
}

async fn upload(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    mut form: Multipart,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app.estate_for(&cu.user, &code, Permission::EditMasterData).await?;
        let bad_upload = |m: String| AppError::Invalid(DomainError::invalid("file", m));
        let mut file: Option<(String, Vec<u8>)> = None;
        let mut skip_invalid = false;
        while let Some(field) = form.next_field().await.map_err(|err| bad_upload(err.body_text()))? {
            match field.name() {
                Some("file") => {
                    let name = field.file_name().unwrap_or("upload.csv").to_string();
                    let bytes = field.bytes().await.map_err(|err| bad_upload(err.body_text()))?;
                    file = Some((name, bytes.to_vec()));
                }
                Some("skip_invalid") => skip_invalid = true,
                _ => {}
            }
        }
        let (name, bytes) = file.ok_or_else(|| bad_upload("choose a file to import".into()))?;
        let report = app.import_file(&e, &name, &bytes, skip_invalid).await;
        let title = format!("{} · {}", e.name, l.pick("导入结果", "Import result"));
        let (flash, body) = match report {
            Err(AppError::Invalid(d)) => (Flash { ok: None, err: Some(d.to_string()) }, html! {}),
            Err(other) => return Err(other),
            Ok(rep) => {
                let summary = match (&rep.outcome, l) {
                    (Some(o), Lang::Zh) => format!("已导入：房屋 {} 户、车位 {} 个、新业主 {} 人（已有业主 {} 人）、新楼栋 {} 栋", o.rooms_created, o.spaces_created, o.owners_created, o.owners_matched, o.buildings_created),
                    (Some(o), Lang::En) => format!("Imported {} rooms, {} spaces, {} new owners ({} already on file), {} new buildings", o.rooms_created, o.spaces_created, o.owners_created, o.owners_matched, o.buildings_created),
                    (None, Lang::Zh) => format!("未导入任何数据：共 {} 行，其中 {} 行有错误。请修改后重新上传，或勾选“跳过有错误的行”。", rep.rows, rep.rows - rep.valid_rows),
                    (None, Lang::En) => format!("Nothing imported: {} rows, {} with errors. Fix them and upload again, or tick “skip invalid rows”.", rep.rows, rep.rows - rep.valid_rows),
                };
                let flash = if rep.applied { Flash { ok: Some(summary), err: None } } else { Flash { ok: None, err: Some(summary) } };
                (flash, html! {
                    p.muted { (l.pick("文件编码：", "Encoding: ")) (rep.encoding) " · " (rep.rows) (l.pick(" 行数据", " data rows")) }
                    @if !rep.errors.is_empty() {
                        div.table { table #import-errors {
                            thead { tr { th { (l.pick("行号", "Row")) } th { (l.pick("列", "Column")) } th { (l.pick("内容", "Value")) } th { (l.pick("问题", "Problem")) } } }
                            tbody { @for err in &rep.errors { tr { td { (err.row) } td { (err.field) } td { (err.value) } td { (err.message) } } } }
                        } }
                    }
                })
            }
        };
        Ok(page(l, &title, Some(&cu.user), Some(&e.code), &flash, html! { (body) h2 { (l.pick("再次导入", "Import another file")) } (upload_form(l, &e.code)) }))
    }
    .await;
    render(l, r)
}
