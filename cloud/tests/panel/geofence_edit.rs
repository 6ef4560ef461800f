//! Editing a geofence: the form comes filled with what is stored, a preview moves the cells
//! to another resolution, saving validates as the API's PUT (bad cells, a taken name), and
//! another user's geofence, a missing or forged CSRF token change nothing.

use std::collections::BTreeSet;
use std::str::FromStr;

use h3o::{CellIndex, Resolution};
use pitlane_cloud::devices::geofences::{self, Geofence, GeofenceInput};
use pitlane_cloud::panel::map;
use reqwest::StatusCode;

use crate::support::{Panel, backends};
use crate::vehicles::vehicle;

/// Seven resolution-9 cells around Berlin's centre.
fn depot() -> Vec<String> {
    map::disk(52.52, 13.405, 9, 1)
        .expect("disk")
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn stored(panel: &Panel, user_id: &str, id: &str) -> Geofence {
    geofences::list(&panel.state.db, user_id)
        .await
        .expect("list")
        .into_iter()
        .find(|g| g.id == id)
        .expect("the geofence")
}

async fn fence(panel: &Panel, user_id: &str, name: &str, cells: &[String]) -> String {
    let input = GeofenceInput::parse(name, "TriggerEntry", cells, &[]).expect("input");
    geofences::create(&panel.state.db, user_id, &input)
        .await
        .expect("create")
}

#[tokio::test]
async fn a_geofence_is_edited_in_a_prefilled_form_by_its_owner_only() {
    for pg in backends() {
        let panel = Panel::start(pg).await;
        let (owner, mut a) = panel.logged_in("edit@example.com").await;
        let car = vehicle(&panel, &owner.id).await;
        let depot = depot();
        let id = fence(&panel, &owner.id, "Depot", &depot).await;
        fence(&panel, &owner.id, "Yard", &depot[..1]).await;
        let edit_path = format!("/panel/geofences/{id}/edit");

        let list = a.get("/panel/geofences").await;
        assert!(
            list.body.contains(&format!("href=\"{edit_path}\"")),
            "{}",
            list.body
        );
        let form = a.get(&edit_path).await;
        assert_eq!(form.status, StatusCode::OK);
        for text in [
            "value=\"Depot\"",
            "<option value=\"TriggerEntry\" selected>",
            "name=\"resolution\" type=\"number\" min=\"0\" max=\"15\" autocomplete=\"off\" value=\"9\"",
            &depot[0],
            &depot[6],
        ] {
            assert!(form.body.contains(text), "{text}: {}", form.body);
        }
        assert_eq!(form.body.matches("data-cell=").count(), 7);
        let csrf = form.csrf();
        let cells = depot.join("\n");
        let fields = |name: &str, cells: &str, resolution: &str, action: &str| {
            vec![
                ("csrf".to_owned(), csrf.clone()),
                ("name".to_owned(), name.to_owned()),
                ("type".to_owned(), "PrivacyFence".to_owned()),
                ("device".to_owned(), car.id.clone()),
                ("cells".to_owned(), cells.to_owned()),
                ("resolution".to_owned(), resolution.to_owned()),
                ("action".to_owned(), action.to_owned()),
            ]
        };
        // Preview at resolution 10: every cell becomes its seven children, nothing is saved.
        let preview = a
            .post(
                &edit_path,
                &pairs(&fields("Depot", &cells, "10", "preview")),
            )
            .await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert_eq!(preview.body.matches("data-cell=").count(), 49);
        assert_eq!(stored(&panel, &owner.id, &id).await.cells.len(), 7);

        // The API's validation: a bad cell, another geofence's name.
        let bad = a
            .post(
                &edit_path,
                &pairs(&fields("Depot", &format!("{} nope", depot[0]), "", "save")),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("is not an H3 cell index"), "{}", bad.body);
        let taken = a
            .post(&edit_path, &pairs(&fields("Yard", &cells, "", "save")))
            .await;
        assert_eq!(taken.status, StatusCode::CONFLICT);
        assert!(
            taken.body.contains("already have a geofence named"),
            "{}",
            taken.body
        );
        let too_fine = a
            .post(&edit_path, &pairs(&fields("Depot", &cells, "13", "save")))
            .await;
        assert_eq!(too_fine.status, StatusCode::BAD_REQUEST);
        assert!(
            too_fine.body.contains("more than 2000 cells"),
            "{}",
            too_fine.body
        );

        // Forged or missing tokens and another user change nothing.
        let (_, mut b) = panel.logged_in("edit-intruder@example.com").await;
        assert_eq!(b.get(&edit_path).await.status, StatusCode::NOT_FOUND);
        let b_csrf = b.get("/panel/geofences").await.csrf();
        let mut theirs = fields("Mine now", &cells, "8", "save");
        theirs[0].1 = b_csrf.clone();
        theirs[3].1 = String::new();
        assert_eq!(
            b.post(&edit_path, &pairs(&theirs)).await.status,
            StatusCode::NOT_FOUND
        );
        for token in ["", "forged", b_csrf.as_str()] {
            let mut forged = fields("Forged", &cells, "8", "save");
            forged[0].1 = token.to_owned();
            assert_eq!(
                a.post(&edit_path, &pairs(&forged)).await.status,
                StatusCode::FORBIDDEN,
                "{token:?}"
            );
        }
        let unchanged = &stored(&panel, &owner.id, &id).await;
        assert_eq!(
            (unchanged.name.as_str(), unchanged.cells.len()),
            ("Depot", 7)
        );

        // Saved at resolution 8: the seven cells become their one or two parents.
        let saved = a
            .post(
                &edit_path,
                &pairs(&fields("Depot east", &cells, "8", "save")),
            )
            .await;
        assert_eq!(
            saved.location(),
            "/panel/geofences?done=updated",
            "{}",
            saved.body
        );
        let now = &stored(&panel, &owner.id, &id).await;
        assert_eq!(now.name, "Depot east");
        assert_eq!(now.kind.as_str(), "PrivacyFence");
        assert_eq!(now.device_ids, vec![car.id.clone()]);
        let res8 = Resolution::try_from(8).expect("resolution");
        let parents: BTreeSet<String> = depot
            .iter()
            .map(|c| {
                CellIndex::from_str(c)
                    .expect("cell")
                    .parent(res8)
                    .expect("parent")
                    .to_string()
            })
            .collect();
        assert_eq!(now.cells, parents.into_iter().collect::<Vec<_>>());
        let list = a.get("/panel/geofences?done=updated").await;
        assert!(
            list.body.contains("Geofence saved.") && list.body.contains("Depot east"),
            "{}",
            list.body
        );
        panel.stop().await;
    }
}
