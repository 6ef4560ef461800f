//! The vehicle pages: list, one vehicle with its trouble codes, live status JSON, commands
//! refused without a paired device, and nothing of it for another user.

use pitlane_cloud::devices::definitions::{self, Mmy};
use pitlane_cloud::devices::error_codes::{self, Source};
use pitlane_cloud::devices::vehicles::{self, NewVehicle, UserDevice};
use reqwest::StatusCode;

use crate::support::{Panel, backends};

pub async fn vehicle(panel: &Panel, user_id: &str) -> UserDevice {
    let mmy = Mmy::new("Hyundai", "Sonata", 2013, 2026).expect("mmy");
    let def = definitions::find_or_create(&panel.state.db, &mmy)
        .await
        .expect("definition");
    vehicles::create(
        &panel.state.db,
        user_id,
        NewVehicle {
            definition_id: def.id,
            country_code: "DEU".into(),
            vin: Some("5NPEB4AC1DH000001".into()),
            can_protocol: None,
        },
    )
    .await
    .expect("vehicle")
}

#[tokio::test]
async fn a_vehicle_is_listed_and_shown_to_its_owner_only() {
    for pg in backends() {
        let panel = Panel::start(pg).await;
        let (owner, mut a) = panel.logged_in("driver@example.com").await;
        let car = vehicle(&panel, &owner.id).await;
        let codes = error_codes::parse_codes(&["P0300".into(), "P1234".into()]).expect("codes");
        error_codes::submit(&panel.state.db, &car, &codes, Source::User)
            .await
            .expect("submit");

        let list = a.get("/panel/").await;
        assert_eq!(list.status, StatusCode::OK);
        for text in ["2013 Hyundai Sonata", "5NPEB4AC1DH000001", "no device"] {
            assert!(list.body.contains(text), "{text}: {}", list.body);
        }
        let page_path = format!("/panel/vehicles/{}", car.id);
        let page = a.get(&page_path).await;
        assert_eq!(page.status, StatusCode::OK);
        for text in [
            "P0300",
            "Random/Multiple Cylinder Misfire Detected",
            "P1234",
            "manufacturer-specific",
            "not minted",
            "Pair an aftermarket device",
        ] {
            assert!(page.body.contains(text), "{text}: {}", page.body);
        }
        let status = a.get(&format!("{page_path}/status")).await;
        let json: serde_json::Value = serde_json::from_str(&status.body).expect("json");
        assert_eq!(json["online"], "no device paired");

        // Commands need a paired device.
        let csrf = page.csrf();
        let refused = a
            .post(
                &format!("{page_path}/commands"),
                &[("csrf", &csrf), ("action", "doors.unlock")],
            )
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused.body.contains("Pair an aftermarket device"),
            "{}",
            refused.body
        );
        let unknown = a
            .post(
                &format!("{page_path}/commands"),
                &[("csrf", &csrf), ("action", "sign.typed_data")],
            )
            .await;
        assert_eq!(
            unknown.status,
            StatusCode::BAD_REQUEST,
            "only the four vehicle commands"
        );

        let (_, mut b) = panel.logged_in("stranger@example.com").await;
        assert!(!b.get("/panel/").await.body.contains("Sonata"));
        let b_csrf = b.get("/panel/").await.csrf();
        for path in [
            page_path.clone(),
            format!("{page_path}/status"),
            format!("{page_path}/commands/{}", car.id),
        ] {
            assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
        }
        let theirs = b
            .post(
                &format!("{page_path}/commands"),
                &[("csrf", &b_csrf), ("action", "doors.unlock")],
            )
            .await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND);
        let json = b
            .post_json(
                &format!("{page_path}/commands.json"),
                &b_csrf,
                serde_json::json!({ "action": "doors.unlock" }),
            )
            .await;
        assert_eq!(json.status, StatusCode::NOT_FOUND);
        assert_eq!(
            b.get("/panel/vehicles/not-an-id").await.status,
            StatusCode::NOT_FOUND
        );
        panel.stop().await;
    }
}
