//! Trouble codes a device reported over MQTT before its owner paired it reach the vehicle's
//! error-code history when the owner claims and pairs it over HTTP: once, however often the
//! device is paired to that vehicle again; never a report without a valid code, nor one of
//! another car.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k256::ecdsa::signature::hazmat::RandomizedPrehashSigner;
use pitlane_shared::eip712::TypedData;
use pitlane_shared::envelope::Envelope;
use pitlane_shared::identity::{DeviceKey, Signature};
use pitlane_shared::topics::{self, UpKind};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::devices_support::{FORD_VIN, VW_VIN, call};
use crate::helpers::TestApp;
use crate::mqtt_support::{DeviceConn, TestDevice, eventually, scalar};
use crate::mqtt_test;
use crate::registry::{Device, Wallet, claim, minted, payload, sign, wallet};

/// 2024-05-01T08:00:00.750Z: a report much older than the pairing.
const OLD_REPORT_MS: u64 = 1_714_550_400_750;

fn at_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    u64::try_from(since.expect("clock after 1970").as_millis()).expect("ms")
}

/// A registered device, connected, and the same device as the registry helpers see it.
async fn connected_device(app: &TestApp) -> (TestDevice, DeviceConn, Device) {
    let device = TestDevice::register(app).await;
    let conn = device.connect(app).await;
    let registry = Device {
        key: device.key.clone(),
        serial: device.serial.clone(),
        token_id: device.token_id,
        mqtt_password: device.password.clone(),
    };
    (device, conn, registry)
}

/// Publishes a signed report of `kind` taken at `ms`.
async fn report(conn: &DeviceConn, device: &TestDevice, kind: UpKind, data: Value, ms: u64) {
    let envelope = Envelope::new(
        kind.event_type(),
        uuid::Uuid::new_v4().to_string(),
        topics::device_source(device.address),
        device.lower(),
        at_ms(ms),
        data,
    )
    .sign(&device.key)
    .expect("sign")
    .to_vec()
    .expect("bytes");
    conn.publish(kind, envelope).await;
}

/// Reports trouble codes taken at `ms` and waits until the cloud stored them.
async fn report_dtcs(conn: &DeviceConn, device: &TestDevice, app: &TestApp, data: Value, ms: u64) {
    report(conn, device, UpKind::Dtc, data, ms).await;
    let want = i64::try_from(ms).expect("ms");
    eventually("the trouble-code report stored", || async {
        let state = pitlane_cloud::telemetry::state::get(&app.state.db, &device.address)
            .await
            .expect("state");
        (state.and_then(|s| s.dtcs_ms) == Some(want)).then_some(())
    })
    .await;
}

/// Reports a VIN read at `ms` and waits until the cloud stored it.
async fn report_vin(conn: &DeviceConn, device: &TestDevice, app: &TestApp, vin: &str, ms: u64) {
    let data = json!({"vin": vin, "query": "functional0902", "check_digit_valid": true});
    report(conn, device, UpKind::Vin, data, ms).await;
    let sql = "SELECT COUNT(*) FROM device_vin_reports WHERE device_address = $1";
    eventually("the VIN report stored", || async {
        (scalar(app, sql, &device.lower()).await > 0).then_some(())
    })
    .await;
}

/// A valid signature over `payload` other than the deterministic (RFC 6979) one, as a
/// wallet drawing random nonces makes: the ledger takes each signature once, so this is
/// how the same pairing can be asked for again.
fn fresh_signature(key: &DeviceKey, payload: &Value) -> String {
    let hash = TypedData::from_value(payload)
        .expect("valid payload")
        .signing_hash();
    let secret = hex::decode(key.to_hex().trim_start_matches("0x")).expect("hex key");
    let signing = k256::ecdsa::SigningKey::from_slice(&secret).expect("key");
    let signature: k256::ecdsa::Signature = signing
        .sign_prehash_with_rng(&mut k256::elliptic_curve::rand_core::OsRng, hash.as_slice())
        .expect("sign");
    let signature = signature.normalize_s().unwrap_or(signature);
    for v in [27_u8, 28] {
        let mut bytes = signature.to_bytes().to_vec();
        bytes.push(v);
        let candidate = Signature::from_bytes(&bytes).expect("65 bytes");
        if candidate.recover(&hash).ok() == Some(key.address()) {
            let hex = candidate.to_hex();
            assert_ne!(hex, sign(key, payload), "a second, different signature");
            return hex;
        }
    }
    panic!("neither recovery id gives the signer")
}

/// Pairs (or unpairs: `action`) the vehicle and the device over HTTP, the owner signing with
/// a fresh signature; asserts 200.
async fn pairing(app: &TestApp, owner: &Wallet, id: &str, device: &Device, action: &str) {
    let path = format!("/v1/user/devices/{id}/aftermarket/commands/{action}");
    let query = match action {
        "pair" => format!("{path}?externalId={}", device.serial),
        _ => path.clone(),
    };
    let p = payload(app, &owner.token, &query).await;
    let body = json!({ "externalId": device.serial, "signature": fresh_signature(&owner.key, &p) });
    let (status, answer) = call(app, Method::POST, &path, &owner.token, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{action}: {answer}");
}

/// One error-code query as the API shows it: (source, codes, requestedAt).
type Query = (String, Vec<String>, String);

/// No query at all.
const NONE: &[Query] = &[];

/// The vehicle's error-code queries, newest first.
async fn history(app: &TestApp, owner: &Wallet, id: &str) -> Vec<Query> {
    let path = format!("/v1/user/devices/{id}/error-codes");
    let (status, body) = call(app, Method::GET, &path, &owner.token, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let text = |v: &Value| v.as_str().expect("a string").to_owned();
    body["queries"]
        .as_array()
        .expect("queries")
        .iter()
        .map(|q| {
            let codes = q["errorCodes"].as_array().expect("errorCodes");
            (
                text(&q["source"]),
                codes.iter().map(|c| text(&c["code"])).collect(),
                text(&q["requestedAt"]),
            )
        })
        .collect()
}

fn query(codes: &[&str], requested_at: &str) -> Query {
    (
        "device".to_owned(),
        codes.iter().map(|c| (*c).to_owned()).collect(),
        requested_at.to_owned(),
    )
}

async fn codes_reported_before_pairing_reach_the_vehicle(app: &mut TestApp) {
    let owner = wallet(app).await;
    let (device, conn, d) = connected_device(app).await;
    // The car's VIN, read a minute before the codes; an invalid code and a code both stored
    // and pending are in the report.
    report_vin(&conn, &device, app, FORD_VIN, OLD_REPORT_MS - 60_000).await;
    let codes = json!({
        "stored": {"7E8": ["P0301", "NOTACODE", "P0420"]},
        "pending": {"7E8": ["P0420"]},
        "permanent": {},
    });
    report_dtcs(&conn, &device, app, codes, OLD_REPORT_MS).await;

    claim(app, &owner, &d).await;
    let (id, _) = minted(app, &owner, FORD_VIN).await;
    assert_eq!(history(app, &owner, &id).await, NONE);
    pairing(app, &owner, &id, &d, "pair").await;
    let copied = query(&["P0301", "P0420"], "2024-05-01T08:00:00Z");
    assert_eq!(
        history(app, &owner, &id).await,
        std::slice::from_ref(&copied)
    );

    // Paired again after an unpair: the same report is not copied twice.
    pairing(app, &owner, &id, &d, "unpair").await;
    pairing(app, &owner, &id, &d, "pair").await;
    assert_eq!(
        history(app, &owner, &id).await,
        std::slice::from_ref(&copied)
    );

    // A report while paired goes straight to the vehicle; pairing again copies it no more.
    let later = now_ms();
    let fresh = json!({"stored": {"7E8": ["P0171"]}, "pending": {}, "permanent": {}});
    report_dtcs(&conn, &device, app, fresh, later).await;
    let newest = eventually("the report in the vehicle's history", || async {
        let h = history(app, &owner, &id).await;
        (h.len() == 2).then_some(h)
    })
    .await;
    assert_eq!(newest[1], copied);
    assert_eq!(
        (newest[0].0.as_str(), newest[0].1.as_slice()),
        ("device", ["P0171".to_owned()].as_slice())
    );
    pairing(app, &owner, &id, &d, "unpair").await;
    pairing(app, &owner, &id, &d, "pair").await;
    assert_eq!(history(app, &owner, &id).await, newest);
}
mqtt_test!(
    pairing_copies_the_latest_report_once,
    codes_reported_before_pairing_reach_the_vehicle
);

async fn reports_without_a_valid_code_or_of_another_car_are_not_copied(app: &mut TestApp) {
    // Only invalid codes: nothing to copy.
    let owner = wallet(app).await;
    let (device, conn, d) = connected_device(app).await;
    let junk =
        json!({"stored": {"7E8": ["XYZ", "P03"]}, "pending": {"7E9": ["Q0301"]}, "permanent": {}});
    report_dtcs(&conn, &device, app, junk, OLD_REPORT_MS).await;
    claim(app, &owner, &d).await;
    let (id, _) = minted(app, &owner, FORD_VIN).await;
    pairing(app, &owner, &id, &d, "pair").await;
    assert_eq!(history(app, &owner, &id).await, NONE);

    // Valid codes, but read in a car whose VIN is not this vehicle's.
    let owner = wallet(app).await;
    let (device, conn, d) = connected_device(app).await;
    report_vin(&conn, &device, app, VW_VIN, OLD_REPORT_MS - 60_000).await;
    let codes = json!({"stored": {"7E8": ["P0301"]}, "pending": {}, "permanent": {}});
    report_dtcs(&conn, &device, app, codes, OLD_REPORT_MS).await;
    claim(app, &owner, &d).await;
    let (id, _) = minted(app, &owner, FORD_VIN).await;
    pairing(app, &owner, &id, &d, "pair").await;
    assert_eq!(history(app, &owner, &id).await, NONE);
    let sql = "SELECT COUNT(*) FROM device_dtc_reports WHERE device_address = $1";
    assert_eq!(
        scalar(app, sql, &device.lower()).await,
        1,
        "the raw report kept"
    );
}
mqtt_test!(
    pairing_copies_no_invalid_or_foreign_report,
    reports_without_a_valid_code_or_of_another_car_are_not_copied
);
