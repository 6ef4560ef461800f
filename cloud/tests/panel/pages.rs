//! The pages' forms: API keys, VIN decode (single and bulk, with the CSV), geofences, and
//! that none of them reaches another user's records.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Browser, Panel, backends};

/// Three valid VINs from the test fixtures with their decoded make.
const VINS: [(&str, &str); 3] = [
    ("1HGCM82633A004352", "Honda"),
    ("JH4DC4340RS003205", "Acura"),
    ("KNAE55HD7R6000001", "Kia"),
];

fn the_key(body: &str) -> Option<String> {
    let start = body.find("ak_live_")?;
    Some(body[start..].split('"').next()?.to_owned())
}

#[tokio::test]
async fn api_keys_are_shown_once_listed_with_last_use_and_deleted() {
    for pg in backends() {
        let panel = Panel::start(pg).await;
        let (_, mut a) = panel.logged_in("keys@example.com").await;
        let created = a
            .submit("/panel/keys", "/panel/keys", &[("name", "fleet sync")])
            .await;
        assert_eq!(created.status, StatusCode::OK);
        let key = the_key(&created.body).expect("the key is shown");
        assert!(created.body.contains("will not be shown again"));

        let list = a.get("/panel/keys").await;
        assert!(
            list.body.contains("fleet sync") && list.body.contains("never"),
            "{}",
            list.body
        );
        assert!(
            the_key(&list.body).is_none(),
            "the secret never appears again"
        );

        // The key works with the API, and the page shows it was used.
        let login = reqwest::Client::new()
            .post(panel.url("/v1/auth/login"))
            .json(&serde_json::json!({ "apiKey": key }))
            .send()
            .await
            .expect("login");
        assert_eq!(login.status(), StatusCode::OK);
        let list = a.get("/panel/keys").await;
        assert!(
            !list.body.contains(">never<"),
            "last use recorded: {}",
            list.body
        );

        let empty = a
            .submit("/panel/keys", "/panel/keys", &[("name", "  ")])
            .await;
        assert_eq!(empty.status, StatusCode::BAD_REQUEST);

        let id_start =
            list.body.find("/panel/keys/key_").expect("delete form") + "/panel/keys/".len();
        let id = list.body[id_start..]
            .split('/')
            .next()
            .expect("id")
            .to_owned();
        let done = a
            .submit("/panel/keys", &format!("/panel/keys/{id}/delete"), &[])
            .await;
        assert_eq!(done.location(), "/panel/keys?done=deleted");
        assert!(a.get("/panel/keys").await.body.contains("No keys yet"));
        panel.stop().await;
    }
}

async fn bulk_decode(b: &mut Browser, vins: &str) -> String {
    let csrf = b.get("/panel/decode").await.csrf();
    let page = b
        .post_multipart(
            "/panel/decode",
            &[
                ("csrf", None, &csrf),
                ("vins", None, ""),
                ("file", Some("fleet.csv"), vins),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let location = page.location().to_owned();
    assert!(
        location.starts_with("/panel/decode/bulks/blk_"),
        "{location}"
    );
    location
}

#[tokio::test]
async fn bulk_decode_progress_reaches_done_and_the_csv_has_every_vin() {
    for pg in backends() {
        let panel = Panel::start(pg).await;
        let (_, mut a) = panel.logged_in("decode@example.com").await;
        let file = format!(
            "vin,note\n{}\n",
            VINS.map(|(v, _)| format!("{v},x")).join("\n")
        );
        let bulk = bulk_decode(&mut a, &file).await;
        let page = a.get(&bulk).await;
        assert!(
            page.body.contains("fleet.csv") && page.body.contains("<progress"),
            "{}",
            page.body
        );

        let mut progress = Value::Null;
        for _ in 0..300 {
            progress =
                serde_json::from_str(&a.get(&format!("{bulk}/progress")).await.body).expect("json");
            if progress["finished"] == true {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(progress["finished"], true, "{progress}");
        assert_eq!(progress["total"], 3);

        let page = a.get(&bulk).await;
        for (vin, make) in VINS {
            assert!(
                page.body.contains(vin) && page.body.contains(make),
                "{vin} {make}"
            );
        }
        let csv = a.get(&format!("{bulk}/csv")).await;
        assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
        assert!(
            csv.headers["content-disposition"]
                .to_str()
                .expect("ascii")
                .starts_with("attachment;")
        );
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(lines.len(), 4, "{}", csv.body);
        assert_eq!(lines[0], "vin,state,valid,make,model,year,body_type,errors");
        for ((vin, make), line) in VINS.iter().zip(&lines[1..]) {
            assert!(
                line.starts_with(&format!("{vin},completed,true,{make},")),
                "{line}"
            );
        }

        // Someone else sees none of it.
        let (_, mut b) = panel.logged_in("other@example.com").await;
        for path in [
            bulk.clone(),
            format!("{bulk}/csv"),
            format!("{bulk}/progress"),
        ] {
            assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
        }
        assert!(!b.get("/panel/decode").await.body.contains("fleet.csv"));
        panel.stop().await;
    }
}

#[tokio::test]
async fn one_pasted_vin_is_decoded_at_once_and_a_bad_one_is_explained() {
    let panel = Panel::start(false).await;
    let (_, mut a) = panel.logged_in("single@example.com").await;
    let csrf = a.get("/panel/decode").await.csrf();
    let ok = a
        .post_multipart(
            "/panel/decode",
            &[("csrf", None, &csrf), ("vins", None, "1hgcm82633a004352")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(
        ok.body.contains("Result for") && ok.body.contains("Honda") && ok.body.contains("Accord"),
        "{}",
        ok.body
    );
    let bad = a
        .post_multipart(
            "/panel/decode",
            &[("csrf", None, &csrf), ("vins", None, "1HGCM82633A004353")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("is not a valid VIN"), "{}", bad.body);
    let none = a
        .post_multipart(
            "/panel/decode",
            &[("csrf", None, &csrf), ("vins", None, "   ")],
        )
        .await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    let forged = a
        .post_multipart(
            "/panel/decode",
            &[("csrf", None, "nope"), ("vins", None, "1HGCM82633A004352")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    panel.stop().await;
}

#[tokio::test]
async fn geofences_are_previewed_created_drawn_and_deleted_by_their_owner_only() {
    for pg in backends() {
        let panel = Panel::start(pg).await;
        let (_, mut a) = panel.logged_in("fence@example.com").await;
        let area = [
            ("name", "Depot"),
            ("type", "TriggerEntry"),
            ("lat", "52.52"),
            ("lng", "13.405"),
            ("resolution", "9"),
            ("rings", "1"),
        ];
        let mut fields = area.to_vec();
        fields.push(("action", "preview"));
        let preview = a
            .submit("/panel/geofences", "/panel/geofences", &fields)
            .await;
        assert_eq!(preview.status, StatusCode::OK);
        assert_eq!(
            preview.body.matches("data-cell=").count(),
            7,
            "{}",
            preview.body
        );
        assert!(
            preview.body.contains("7 cells around N 52.52"),
            "{}",
            preview.body
        );

        let mut fields = area.to_vec();
        fields.push(("action", "create"));
        let created = a
            .submit("/panel/geofences", "/panel/geofences", &fields)
            .await;
        assert_eq!(
            created.location(),
            "/panel/geofences?done=created",
            "{}",
            created.body
        );
        let page = a.get("/panel/geofences").await;
        assert!(
            page.body.contains("Depot") && page.body.contains("7 cells"),
            "{}",
            page.body
        );
        assert_eq!(page.body.matches("<polygon class=\"cell\"").count(), 7);

        let dup = a
            .submit("/panel/geofences", "/panel/geofences", &fields)
            .await;
        assert_eq!(
            dup.status,
            StatusCode::BAD_REQUEST,
            "names are unique per user"
        );
        let bad = a
            .submit(
                "/panel/geofences",
                "/panel/geofences",
                &[
                    ("name", "Bad"),
                    ("type", "TriggerEntry"),
                    ("cells", "not-a-cell"),
                    ("action", "create"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.body.contains("is not an H3 cell index"), "{}", bad.body);

        let start =
            page.body.find("/panel/geofences/").expect("delete form") + "/panel/geofences/".len();
        let id = page.body[start..].split('/').next().expect("id").to_owned();
        let (_, mut b) = panel.logged_in("intruder@example.com").await;
        let refused = b
            .submit(
                "/panel/geofences",
                &format!("/panel/geofences/{id}/delete"),
                &[],
            )
            .await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND);
        assert!(
            a.get("/panel/geofences").await.body.contains("Depot"),
            "still there"
        );

        let done = a
            .submit(
                "/panel/geofences",
                &format!("/panel/geofences/{id}/delete"),
                &[],
            )
            .await;
        assert_eq!(done.location(), "/panel/geofences?done=deleted");
        assert!(!a.get("/panel/geofences").await.body.contains("Depot"));
        panel.stop().await;
    }
}

#[tokio::test]
async fn another_users_key_cannot_be_deleted() {
    let panel = Panel::start(false).await;
    let (alice, mut a) = panel.logged_in("owner@example.com").await;
    a.submit("/panel/keys", "/panel/keys", &[("name", "mine")])
        .await;
    let keys = pitlane_cloud::accounts::api_keys::list(&panel.state.db, &alice.id)
        .await
        .expect("list");
    let (_, mut b) = panel.logged_in("thief@example.com").await;
    let page = b
        .submit(
            "/panel/keys",
            &format!("/panel/keys/{}/delete", keys[0].id),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!b.get("/panel/keys").await.body.contains("mine"));
    assert_eq!(
        pitlane_cloud::accounts::api_keys::list(&panel.state.db, &alice.id)
            .await
            .expect("list")
            .len(),
        1
    );
    panel.stop().await;
}
