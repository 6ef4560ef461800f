//! Vehicles: the list (online state, VIN, make/model/year, last seen) on the panel's front
//! page with the claimed devices, and one vehicle's page: live status, trouble codes with
//! descriptions and history, telemetry charts, commands, and its claim and pairing state.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::{Markup, html};
use serde::Deserialize;

use super::chart;
use super::commands;
use super::error::PanelError;
use super::fleet::{self, Linked};
use super::layout::{self, Notice, Section, when};
use super::session::PanelUser;
use crate::app::AppState;
use crate::devices::{error_codes, is_id, vehicles};
use crate::telemetry::state::DeviceState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/panel/", get(list))
        .route("/panel/vehicles/{vehicle_id}", get(show))
        .route("/panel/vehicles/{vehicle_id}/status", get(status))
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    done: Option<String>,
    /// A command just sent without script: its status is shown.
    command: Option<String>,
}

fn ms_to_s(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

fn online_badge(linked: &Linked) -> Markup {
    match (&linked.paired, &linked.state) {
        (None, _) => html! { span.badge.unknown { "no device" } },
        (Some(_), None) => html! { span.badge.unknown { "never seen" } },
        (Some(_), Some(s)) if s.online => html! { span.badge.online { "online" } },
        (Some(_), Some(_)) => html! { span.badge.offline { "offline" } },
    }
}

fn last_seen(state: Option<&DeviceState>) -> String {
    state
        .map(|s| when(ms_to_s(s.last_seen_ms)))
        .unwrap_or_else(|| "–".into())
}

/// A vehicle the caller owns, or 404 (someone else's reads as missing).
pub async fn owned(state: &AppState, user: &PanelUser, id: &str) -> Result<Linked, PanelError> {
    if !is_id(id) {
        return Err(PanelError::NotFound);
    }
    let vehicle = vehicles::owned(&state.db, user.id(), id).await?;
    fleet::linked(&state.db, vehicle).await
}

async fn list(
    State(state): State<AppState>,
    user: PanelUser,
    Query(q): Query<PageQuery>,
) -> Result<Markup, PanelError> {
    let mut cars = Vec::new();
    for v in vehicles::list(&state.db, user.id()).await? {
        cars.push(fleet::linked(&state.db, v).await?);
    }
    let devices = fleet::claimed_devices(&state.db, user.id()).await?;
    Ok(layout::page(
        "Vehicles",
        &user,
        Section::Vehicles,
        html! {
            h1 { "Vehicles" }
            @if q.done.as_deref() == Some("welcome") {
                (layout::notice(Notice::Ok, "Welcome to Pitlane: your account is active."))
            }
            @if cars.is_empty() {
                p { "No vehicles yet. A vehicle appears here once it is added from its VIN ("
                    code { "POST /v1/user/devices/fromvin" } ") with your wallet account." }
            } @else {
                div.scroll {
                    table.vehicles {
                        thead { tr {
                            th scope="col" { "Vehicle" } th scope="col" { "VIN" } th scope="col" { "State" } th scope="col" { "Last seen" }
                        } }
                        tbody {
                            @for c in &cars {
                                tr {
                                    td { a href=(format!("/panel/vehicles/{}", c.vehicle.id)) { (c.vehicle.definition.name()) } }
                                    td.mono { (c.vehicle.vin.as_deref().unwrap_or("–")) }
                                    td { (online_badge(c)) }
                                    td { (last_seen(c.state.as_ref())) }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Claimed devices" }
            @if devices.is_empty() {
                p { "None. Claim a device with " code { "POST /v1/aftermarket/device/by-serial/{serial}/commands/claim" } "." }
            } @else {
                div.scroll {
                    table {
                        thead { tr { th scope="col" { "Serial" } th scope="col" { "Address" } th scope="col" { "Claimed" } th scope="col" { "Paired to" } } }
                        tbody {
                            @for (d, paired) in &devices {
                                tr {
                                    td { (d.serial) }
                                    td.mono { (d.address.to_checksum()) }
                                    td { (d.claimed_at.map(when).unwrap_or_else(|| "–".into())) }
                                    td { (paired.map(|t| format!("vehicle #{t}")).unwrap_or_else(|| "not paired".into())) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

fn status_fields(linked: &Linked) -> Vec<(&'static str, &'static str, String)> {
    let s = linked.state.as_ref();
    let text = |v: Option<&String>| v.cloned().unwrap_or_else(|| "–".into());
    vec![
        (
            "online",
            "Connection",
            match (&linked.paired, s) {
                (None, _) => "no device paired".into(),
                (Some(_), None) => "never seen".into(),
                (Some(_), Some(s)) => {
                    if s.online {
                        "online".into()
                    } else {
                        "offline".into()
                    }
                }
            },
        ),
        ("lastSeen", "Last seen", last_seen(s)),
        (
            "ignition",
            "Ignition",
            text(s.and_then(|s| s.ignition.as_ref())),
        ),
        (
            "reportedVin",
            "VIN reported by the device",
            text(s.and_then(|s| s.vin.as_ref())),
        ),
        (
            "firmware",
            "Firmware",
            text(s.and_then(|s| s.firmware.as_ref())),
        ),
        ("bus", "Bus", text(s.and_then(|s| s.bus.as_ref()))),
    ]
}

fn dtc_table(query: &error_codes::Query) -> Markup {
    html! {
        @if query.codes.is_empty() {
            p { "No trouble codes." }
        } @else {
            div.scroll {
                table {
                    thead { tr { th scope="col" { "Code" } th scope="col" { "Description" } } }
                    tbody {
                        @for c in &query.codes {
                            tr {
                                td.mono { (c.code.to_string()) }
                                td {
                                    (c.description)
                                    @if c.manufacturer_specific { " " span.hint { "(manufacturer-specific)" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn show(
    State(state): State<AppState>,
    user: PanelUser,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Markup, PanelError> {
    let linked = owned(&state, &user, &id).await?;
    let history = error_codes::list(&state.db, &linked.vehicle).await?;
    let series = match &linked.paired {
        Some(p) => fleet::telemetry(&state.db, &p.address).await?,
        None => Vec::new(),
    };
    let sent = match q.command.as_deref() {
        Some(rid) => commands::status_of(&state, &linked, rid).await?,
        None => None,
    };
    let v = &linked.vehicle;
    let base = format!("/panel/vehicles/{}", v.id);
    Ok(layout::page(
        &v.definition.name(),
        &user,
        Section::Vehicles,
        html! {
            p { a href="/panel/" { "← Vehicles" } }
            h1 { (v.definition.name()) " " (online_badge(&linked)) }
            @if q.done.as_deref() == Some("codes-cleared") {
                (layout::notice(Notice::Ok, if sent.is_some() {
                    "Trouble codes cleared in the record. The car was asked to clear them too: its answer shows under Commands."
                } else {
                    "Trouble codes cleared in the record."
                }))
            }
            dl.facts {
                dt { "VIN" } dd.mono { (v.vin.as_deref().unwrap_or("–")) }
                dt { "Make, model, year" } dd { (v.definition.make) ", " (v.definition.model) ", " (v.definition.year) }
                dt { "Country" } dd { (v.country_code) }
            }
            section.card data-live-status=(format!("{base}/status")) aria-labelledby="status-title" {
                h2 #status-title { "Live status" }
                dl.facts {
                    @for (key, label, value) in status_fields(&linked) {
                        dt { (label) } dd data-field=(key) { (value) }
                    }
                }
            }
            (commands::panel(&user, &linked, sent.as_ref()))
            section.card aria-labelledby="registry-title" {
                h2 #registry-title { "Claim and pairing" }
                dl.facts {
                    dt { "Vehicle token" }
                    dd { (linked.token.as_ref().map(|t| format!("#{} (minted {})", t.token_id, when(t.minted_at))).unwrap_or_else(|| "not minted".into())) }
                    dt { "Paired device" }
                    dd { @match (&linked.paired, &linked.device) {
                        (Some(p), Some(d)) => { (d.serial) " · " span.mono { (p.address.to_checksum()) } " · device #" (p.aftermarket_token_id) }
                        (Some(p), None) => { span.mono { (p.address.to_checksum()) } }
                        _ => { "none" }
                    } }
                    dt { "Claimed" }
                    dd { (linked.device.as_ref().and_then(|d| d.claimed_at).map(when).unwrap_or_else(|| "–".into())) }
                }
            }
            section.card aria-labelledby="dtc-title" {
                h2 #dtc-title { "Trouble codes" }
                @match history.first() {
                    None => p { "None reported yet." },
                    Some(latest) => {
                        p.hint { "Latest report, " (when(latest.requested_at)) " (from the " (latest.source.as_str()) ")"
                            @if let Some(c) = latest.cleared_at { ", cleared " (when(c)) } "." }
                        (dtc_table(latest))
                        @if latest.cleared_at.is_none() && !latest.codes.is_empty() {
                            p { a.button href=(format!("{base}/clear-codes")) { "Clear codes" } }
                        }
                    }
                }
                @if history.len() > 1 {
                    details {
                        summary { "History (" (history.len() - 1) " earlier reports)" }
                        @for q in &history[1..] {
                            h3 { (when(q.requested_at)) " · " (q.source.as_str())
                                @if let Some(c) = q.cleared_at { " · cleared " (when(c)) } }
                            (dtc_table(q))
                        }
                    }
                }
            }
            section.card aria-labelledby="telemetry-title" {
                h2 #telemetry-title { "Telemetry" }
                @if series.is_empty() { p { "No telemetry yet." } } @else { (chart::charts(&series)) }
            }
        },
    ))
}

/// The live status fields as JSON (the page's script refreshes them).
async fn status(
    State(state): State<AppState>,
    user: PanelUser,
    Path(id): Path<String>,
) -> Response {
    match owned(&state, &user, &id).await {
        Ok(linked) => {
            let map: serde_json::Map<String, serde_json::Value> = status_fields(&linked)
                .into_iter()
                .map(|(k, _, v)| (k.to_owned(), serde_json::Value::String(v)))
                .collect();
            Json(map).into_response()
        }
        Err(e) => e.into_json(),
    }
}
