//! VIN decode: paste or upload VINs; one VIN is decoded at once, several become a bulk
//! decode (background tasks) with live progress, results and a CSV download.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::{Markup, html};

use super::bulk_control;
use super::bulks::{self, BulkSummary, TaskRow};
use super::error::PanelError;
use super::layout::{self, Notice, Section, when};
use super::session::PanelUser;
use crate::app::AppState;
use crate::vin::store::{self, Lookup};
use crate::vin::{Decoder, worker};

/// Most VINs one submission may carry (as the Decode API's bulk).
pub const MAX_VINS: usize = 10_000;
/// Rows shown on a bulk's page; the CSV has them all.
const SHOWN_ROWS: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/panel/decode", get(show).post(submit))
        .route("/panel/decode/bulks/{bulk_id}", get(bulk_page))
        .route("/panel/decode/bulks/{bulk_id}/progress", get(progress))
        .route("/panel/decode/bulks/{bulk_id}/csv", get(csv))
}

/// VINs from pasted text or an uploaded file: one per line, or the first column of CSV
/// (a `vin` header is skipped); several on a line may be separated by spaces.
pub fn parse_vins(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        if line.contains([',', ';', '\t']) {
            let first = line.split([',', ';', '\t']).next().unwrap_or("");
            let first = first.trim().trim_matches('"').trim();
            if !first.is_empty() && !first.eq_ignore_ascii_case("vin") {
                out.push(first.to_uppercase());
            }
        } else {
            out.extend(
                line.split_whitespace()
                    .filter(|t| !t.eq_ignore_ascii_case("vin"))
                    .map(str::to_uppercase),
            );
        }
    }
    out
}

fn decoder() -> Result<Decoder, PanelError> {
    Decoder::new().map_err(|e| PanelError::Internal(format!("VIN decoder data: {e}")))
}

fn progress_text(p: &bulks::Progress) -> String {
    let mut text = format!("{} of {} decoded", p.done(), p.total);
    if p.paused > 0 {
        text.push_str(&format!(", {} paused", p.paused));
    }
    text
}

fn bulk_name(b: &BulkSummary) -> String {
    b.file_name
        .clone()
        .unwrap_or_else(|| format!("Pasted VINs, {}", when(b.created_at)))
}

async fn decode_page(
    state: &AppState,
    user: &PanelUser,
    notice: Option<(Notice, &str)>,
    single: Option<Markup>,
) -> Result<Markup, PanelError> {
    let recent = bulks::recent(&state.db, user.id(), 20).await?;
    Ok(layout::page(
        "VIN decode",
        user,
        Section::Decode,
        html! {
            h1 { "VIN decode" }
            @if let Some((kind, text)) = notice { (layout::notice(kind, text)) }
            @if let Some(result) = single { (result) }
            section.card {
                h2 { "Decode VINs" }
                form method="post" action="/panel/decode" enctype="multipart/form-data" {
                    (layout::csrf(&user.csrf))
                    div.field {
                        label for="f-vins" { "VINs, one per line" }
                        textarea #f-vins name="vins" rows="6" spellcheck="false" autocapitalize="characters" {}
                    }
                    div.field {
                        label for="f-file" { "Or upload a text or CSV file (first column)" }
                        input #f-file name="file" type="file" accept=".txt,.csv,text/plain,text/csv";
                    }
                    p.hint { "One VIN is decoded at once; several start a bulk decode (at most " (MAX_VINS) ")." }
                    button type="submit" { "Decode" }
                }
            }
            h2 { "Recent bulk decodes" }
            @if recent.is_empty() {
                p { "None yet." }
            } @else {
                ul.bulks {
                    @for b in &recent {
                        li {
                            a href=(format!("/panel/decode/bulks/{}", b.id)) { (bulk_name(b)) }
                            " — " (progress_text(&b.progress))
                        }
                    }
                }
            }
        },
    ))
}

async fn show(State(state): State<AppState>, user: PanelUser) -> Result<Markup, PanelError> {
    decode_page(&state, &user, None, None).await
}

/// The fields of the decode form.
#[derive(Debug, Default)]
struct Submission {
    csrf: String,
    text: String,
    file_name: Option<String>,
}

async fn read_form(mut multipart: Multipart) -> Result<Submission, PanelError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        PanelError::BadInput(format!("The upload could not be read: {}.", e.body_text()))
    };
    let mut s = Submission::default();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "csrf" => s.csrf = field.text().await.map_err(bad)?,
            "vins" => {
                let text = field.text().await.map_err(bad)?;
                s.text.push_str(&text);
                s.text.push('\n');
            }
            "file" => {
                let name = field.file_name().map(str::to_owned);
                let bytes = field.bytes().await.map_err(bad)?;
                if !bytes.is_empty() {
                    let text = String::from_utf8(bytes.to_vec())
                        .map_err(|_| PanelError::BadInput("The file must be UTF-8 text.".into()))?;
                    s.text.push_str(&text);
                    s.text.push('\n');
                    s.file_name = name.map(|n| n.chars().take(200).collect());
                }
            }
            _ => {}
        }
    }
    Ok(s)
}

fn report_view(lookup: &Lookup) -> Markup {
    let r = &lookup.report;
    html! {
        section.card.result aria-labelledby="result-title" {
            h2 #result-title { "Result for " span.mono { (lookup.vin) } }
            dl.facts {
                dt { "Make" } dd { (r.make.as_deref().unwrap_or("–")) }
                dt { "Model" } dd { (r.model.as_deref().unwrap_or("–")) }
                dt { "Year" } dd { (r.year.as_deref().unwrap_or("–")) }
                dt { "Body" } dd { (r.body_type.as_deref().unwrap_or("–")) }
            }
            @for tab in r.tabs.values() {
                details {
                    summary { (tab.tab_name) }
                    table {
                        tbody {
                            @for [label, value] in &tab.data {
                                tr { th scope="row" { (label) } td { (value) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn submit(
    State(state): State<AppState>,
    user: PanelUser,
    multipart: Multipart,
) -> Result<Response, PanelError> {
    let form = read_form(multipart).await?;
    if !user.csrf_ok(&form.csrf) {
        return Err(PanelError::Csrf);
    }
    let vins = parse_vins(&form.text);
    let problem = |text: String| problem_page(&state, &user, text);
    match vins.len() {
        0 => problem("Paste or upload at least one VIN.".into()).await,
        n if n > MAX_VINS => {
            problem(format!("At most {MAX_VINS} VINs at a time ({n} given).")).await
        }
        1 => {
            let decoder = decoder()?;
            let decoded = decoder.decode(&vins[0]);
            let errors: Vec<String> = decoded.errors().map(ToString::to_string).collect();
            if !errors.is_empty() {
                return problem(format!(
                    "{} is not a valid VIN: {}.",
                    vins[0],
                    errors.join("; ")
                ))
                .await;
            }
            let lookup =
                store::decode_cached(&state.db, &decoder, user.id(), &vins[0], false).await?;
            Ok(decode_page(&state, &user, None, Some(report_view(&lookup)))
                .await?
                .into_response())
        }
        _ => {
            let (bulk, _) =
                store::create_bulk(&state.db, user.id(), &vins, form.file_name.as_deref(), None)
                    .await?;
            worker::wake();
            Ok(Redirect::to(&format!("/panel/decode/bulks/{bulk}")).into_response())
        }
    }
}

async fn problem_page(
    state: &AppState,
    user: &PanelUser,
    text: String,
) -> Result<Response, PanelError> {
    let page = decode_page(state, user, Some((Notice::Problem, text.as_str())), None).await?;
    Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response())
}

fn results_table(rows: &[TaskRow]) -> Markup {
    html! {
        div.scroll {
            table.results {
                thead { tr {
                    th scope="col" { "VIN" } th scope="col" { "State" } th scope="col" { "Make" }
                    th scope="col" { "Model" } th scope="col" { "Year" } th scope="col" { "Body" }
                } }
                tbody {
                    @for row in rows.iter().take(SHOWN_ROWS) {
                        @let r = row.report.as_ref();
                        tr {
                            td.mono { (row.vin) }
                            td { (row.state) }
                            td { (r.and_then(|r| r.make.as_deref()).unwrap_or("–")) }
                            td { (r.and_then(|r| r.model.as_deref()).unwrap_or("–")) }
                            td { (r.and_then(|r| r.year.as_deref()).unwrap_or("–")) }
                            td { (r.and_then(|r| r.body_type.as_deref()).unwrap_or("–")) }
                        }
                    }
                }
            }
        }
        @if rows.len() > SHOWN_ROWS {
            p.hint { "The first " (SHOWN_ROWS) " of " (rows.len()) " are shown; the CSV has them all." }
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

async fn bulk_page(
    State(state): State<AppState>,
    user: PanelUser,
    Path(bulk_id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Markup, PanelError> {
    let bulk = bulks::bulk(&state.db, user.id(), &bulk_id).await?;
    let rows = bulks::tasks(&state.db, user.id(), &bulk_id).await?;
    let p = bulk.progress;
    let base = format!("/panel/decode/bulks/{}", bulk.id);
    Ok(layout::page(
        "Bulk decode",
        &user,
        Section::Decode,
        html! {
            p { a href="/panel/decode" { "← VIN decode" } }
            h1 { (bulk_name(&bulk)) }
            @if let Some((kind, text)) = q.done.as_deref().and_then(bulk_control::done_notice) {
                (layout::notice(kind, text))
            }
            section.card data-bulk-progress=(format!("{base}/progress")) data-finished=(p.finished()) {
                label for="bulk-progress" { "Progress" }
                progress #bulk-progress max=(p.total) value=(p.done()) { (p.done()) " of " (p.total) }
                p #bulk-progress-text role="status" aria-live="polite" {
                    (progress_text(&p))
                    @if p.finished() { ": done." }
                }
                (bulk_control::controls(&user, &bulk))
                p { a.button href=(format!("{base}/csv")) download { "Download CSV" } }
            }
            h2 { "Results" }
            (results_table(&rows))
        },
    ))
}

async fn progress(
    State(state): State<AppState>,
    user: PanelUser,
    Path(bulk_id): Path<String>,
) -> Response {
    match bulks::bulk(&state.db, user.id(), &bulk_id).await {
        Ok(b) => Json(serde_json::json!({
            "total": b.progress.total,
            "done": b.progress.done(),
            "paused": b.progress.paused,
            "finished": b.progress.finished(),
            "state": b.progress.state().as_str(),
            "text": progress_text(&b.progress),
        }))
        .into_response(),
        Err(e) => PanelError::from(e).into_json(),
    }
}

async fn csv(
    State(state): State<AppState>,
    user: PanelUser,
    Path(bulk_id): Path<String>,
) -> Result<Response, PanelError> {
    let rows = bulks::tasks(&state.db, user.id(), &bulk_id).await?;
    let decoder = decoder()?;
    let body = tokio::task::spawn_blocking(move || bulks::to_csv(&rows, &decoder))
        .await
        .map_err(|e| PanelError::Internal(e.to_string()))?
        .map_err(|e| PanelError::Internal(e.to_string()))?;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    // The bulk id is ours (`blk_` + hex), so it is safe in the header as it is.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{bulk_id}.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &[&str]) {
        assert_eq!(parse_vins(input), expected, "{input:?}");
    }

    #[test]
    fn vins_from_text_and_csv() {
        check("", &[]);
        check("1hgcm82633a004352\n\n", &["1HGCM82633A004352"]);
        check("A B\r\nC", &["A", "B", "C"]);
        check("vin,make\n\"X1\",Honda\nY2;Ford\n", &["X1", "Y2"]);
        check("\u{feff}VIN\nZ3\n", &["Z3"]);
        check(",empty first\nW4\tx", &["W4"]);
    }
}
