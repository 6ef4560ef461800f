//! Provisioning: the admin devices API (provisioning key or an admin's Users-API token) and
//! the `pitlane-cloud device register` command, both writing a complete agent
//! configuration whose MQTT credentials the broker's login check accepts.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use pitlane_cloud::accounts::secrets::sha256_hex;
use pitlane_cloud::commands::key::load_or_create;
use pitlane_cloud::config::Config;
use pitlane_cloud::db::Db;
use pitlane_cloud::registry::check_mqtt_login;
use pitlane_shared::identity::DeviceKey;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_test;
use crate::helpers::TestApp;

const KEY: &str = "factory-provisioning-key-0123456789";
const PATH: &str = "/v1/admin/aftermarket/devices";
const PASSWORD: &str = "violet-kestrel-42";

fn with_key(c: &mut Config) {
    c.provisioning_api_key_sha256 = Some(sha256_hex(KEY));
}

async fn post(
    app: &TestApp,
    key: Option<&str>,
    bearer: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = app.client.post(app.url(PATH)).json(&body);
    if let Some(key) = key {
        req = req.header("x-provisioning-key", key);
    }
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let r = req.send().await.expect("send");
    (r.status(), r.json().await.expect("json"))
}

/// Checks an agent configuration against what was registered and the app's settings.
fn check_agent_config(
    app: &TestApp,
    text: &str,
    address: &DeviceKey,
    token_id: u64,
    password: &str,
) {
    let config: toml::Table = text.parse().expect("agent config is TOML");
    let mqtt = config["mqtt"].as_table().expect("[mqtt]");
    let signing = config["signing"].as_table().expect("[signing]");
    let mut mqtt_keys: Vec<&str> = mqtt.keys().map(String::as_str).collect();
    mqtt_keys.sort_unstable();
    assert_eq!(
        mqtt_keys,
        ["cloud_command_address", "password", "url", "username"]
    );
    assert_eq!(
        mqtt["username"].as_str(),
        Some(address.address().to_lowercase_hex().as_str())
    );
    assert_eq!(mqtt["password"].as_str(), Some(password));
    assert_eq!(
        mqtt["url"].as_str(),
        Some(format!("mqtt://{}", app.state.config.mqtt_addr).as_str())
    );
    let command = load_or_create(&app.state.config.command_key_path()).expect("command key");
    assert_eq!(
        mqtt["cloud_command_address"].as_str(),
        Some(command.address().to_checksum().as_str())
    );
    assert_eq!(
        signing["chain_id"].as_str(),
        Some(app.state.config.registry_chain_id.to_string().as_str())
    );
    assert_eq!(
        signing["verifying_contract"]
            .as_str()
            .map(str::to_lowercase),
        Some(app.state.config.registry_address.to_lowercase())
    );
    assert_eq!(
        signing["device_node"].as_str(),
        Some(token_id.to_string().as_str())
    );
}

async fn register_with_key(app: &mut TestApp) {
    let key = DeviceKey::generate();
    let body = json!({ "serial": "FAC-1", "address": key.address().to_checksum(), "manufacturer": "Acme" });
    let (status, answer) = post(app, Some(KEY), None, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["serial"], "FAC-1");
    assert_eq!(answer["manufacturer"], "Acme");
    assert_eq!(answer["mqttUsername"], key.address().to_lowercase_hex());
    let password = answer["mqttPassword"].as_str().expect("password");
    let token_id = answer["tokenId"].as_u64().expect("token");
    check_agent_config(
        app,
        answer["agentConfig"].as_str().expect("config"),
        &key,
        token_id,
        password,
    );
    let username = key.address().to_lowercase_hex();
    assert!(
        check_mqtt_login(&app.state.db, &username, password)
            .await
            .expect("q")
    );

    for (key_header, body, status, needle) in [
        (
            Some(KEY),
            body.clone(),
            StatusCode::CONFLICT,
            "serial: FAC-1 is already registered",
        ),
        (
            Some(KEY),
            json!({ "serial": "FAC-2", "address": key.address().to_checksum() }),
            StatusCode::CONFLICT,
            "address",
        ),
        (
            Some(KEY),
            json!({ "serial": "FAC 3", "address": DeviceKey::generate().address().to_checksum() }),
            StatusCode::BAD_REQUEST,
            "serial",
        ),
        (
            Some(KEY),
            json!({ "serial": "FAC-4", "address": "0x12" }),
            StatusCode::BAD_REQUEST,
            "address",
        ),
        (
            Some(KEY),
            json!({ "serial": "FAC-5" }),
            StatusCode::BAD_REQUEST,
            "address",
        ),
        (
            Some("wrong-key"),
            body.clone(),
            StatusCode::UNAUTHORIZED,
            "provisioning key",
        ),
        (None, body.clone(), StatusCode::UNAUTHORIZED, ""),
    ] {
        let (got, answer) = post(app, key_header, None, body).await;
        assert_eq!(got, status, "{answer}");
        assert_eq!(answer["code"], status.as_u16(), "{answer}");
        assert!(
            answer["message"].as_str().expect("m").contains(needle),
            "{answer}"
        );
    }
    // The default manufacturer, and the listing with paging.
    let second = DeviceKey::generate();
    let (status, answer) = post(
        app,
        Some(KEY),
        None,
        json!({ "serial": "FAC-6", "address": second.address().to_lowercase_hex() }),
    )
    .await;
    assert_eq!(
        (status, &answer["manufacturer"]),
        (StatusCode::CREATED, &json!("Pitlane"))
    );
    let list = |query: &'static str| {
        let app = &*app;
        async move {
            let r = app
                .client
                .get(app.url(&format!("{PATH}{query}")))
                .header("x-provisioning-key", KEY)
                .send()
                .await
                .expect("send");
            (r.status(), r.json::<Value>().await.expect("json"))
        }
    };
    let (status, all) = list("").await;
    assert_eq!(status, StatusCode::OK);
    let serials: Vec<&Value> = all["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .map(|d| &d["serial"])
        .collect();
    assert_eq!(serials, [&json!("FAC-1"), &json!("FAC-6")]);
    assert!(
        all["devices"][0].get("mqttPassword").is_none(),
        "the password is shown once"
    );
    let (_, page) = list("?limit=1").await;
    assert_eq!(page["devices"].as_array().map(Vec::len), Some(1));
    let after = format!("?after={token_id}");
    let (_, rest) = list(Box::leak(after.into_boxed_str())).await;
    assert_eq!(rest["devices"][0]["serial"], "FAC-6");
    let (status, _) = list("?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
api_test!(
    provisioning_key_registers_devices,
    register_with_key,
    with_key
);

async fn users_signin(app: &TestApp, email: &str) -> String {
    let r = app
        .post_json(
            "/api/v1/users/signin",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.expect("json");
    body["token"].as_str().expect("token").to_owned()
}

async fn register_as_admin(app: &mut TestApp) {
    app.user("admin@fleet.example", PASSWORD, true).await;
    app.user("client@fleet.example", PASSWORD, false).await;
    let admin = users_signin(app, "admin@fleet.example").await;
    let client = users_signin(app, "client@fleet.example").await;
    let body = |serial: &str| json!({ "serial": serial, "address": DeviceKey::generate().address().to_checksum() });
    let (status, answer) = post(app, None, Some(&admin), body("ADM-1")).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, answer) = post(app, None, Some(&client), body("ADM-2")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    // Without a configured digest, no provisioning key is accepted.
    let (status, _) = post(app, Some(KEY), None, body("ADM-3")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let r = app
        .client
        .get(app.url(PATH))
        .bearer_auth(&client)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .client
        .get(app.url(PATH))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("send");
    let list: Value = r.json().await.expect("json");
    assert_eq!(list["devices"].as_array().map(Vec::len), Some(1));
}
api_test!(admins_register_devices_clients_do_not, register_as_admin);

fn cloud(args: &[&str], config: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pitlane-cloud"))
        .args(["device", "register", "--config"])
        .arg(config)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("PITLANE_DATABASE_URL")
        .output()
        .expect("run pitlane-cloud")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_register_command_writes_the_agent_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = dir.path().join("cloud.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\nmqtt_url = \"mqtt://broker.example:1883\"\n",
            data.display().to_string()
        ),
    )
    .expect("write config");
    let key = DeviceKey::generate();
    let address = key.address().to_checksum();
    let out_file = dir.path().join("agent.toml");
    let out = cloud(
        &[
            "--serial",
            "CLI-1",
            "--address",
            &address,
            "--manufacturer",
            "Acme",
            "--agent-config",
            out_file.to_str().expect("utf8"),
        ],
        &config,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(printed["serial"], "CLI-1");
    assert!(printed.get("mqttPassword").is_none(), "{printed}");
    let mode = std::fs::metadata(&out_file)
        .expect("written")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let agent: toml::Table = std::fs::read_to_string(&out_file)
        .expect("read")
        .parse()
        .expect("toml");
    assert_eq!(
        agent["mqtt"]["url"].as_str(),
        Some("mqtt://broker.example:1883")
    );
    assert_eq!(
        agent["signing"]["device_node"].as_str(),
        Some(printed["tokenId"].to_string().as_str())
    );
    let password = agent["mqtt"]["password"]
        .as_str()
        .expect("password")
        .to_owned();
    let command = DeviceKey::load(&data.join("command.key")).expect("command key created");
    assert_eq!(
        agent["mqtt"]["cloud_command_address"].as_str(),
        Some(command.address().to_checksum().as_str())
    );

    // An existing file is never replaced; a known serial is refused; no file: password printed.
    let again = cloud(
        &[
            "--serial",
            "CLI-2",
            "--address",
            &DeviceKey::generate().address().to_checksum(),
            "--agent-config",
            out_file.to_str().expect("utf8"),
        ],
        &config,
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    let dup = cloud(
        &[
            "--serial",
            "CLI-1",
            "--address",
            &DeviceKey::generate().address().to_checksum(),
        ],
        &config,
    );
    assert!(!dup.status.success());
    assert!(
        String::from_utf8_lossy(&dup.stderr).contains("already registered"),
        "{}",
        String::from_utf8_lossy(&dup.stderr)
    );
    let bad = cloud(&["--serial", "CLI-3", "--address", "0xnope"], &config);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--address"));
    let plain = cloud(
        &[
            "--serial",
            "CLI-4",
            "--address",
            &DeviceKey::generate().address().to_checksum(),
        ],
        &config,
    );
    assert!(
        plain.status.success(),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let printed_plain: Value = serde_json::from_slice(&plain.stdout).expect("json");
    let db = Db::connect(&format!(
        "sqlite://{}?mode=rwc",
        data.join("pitlane.db").display()
    ))
    .await
    .expect("db");
    let username = key.address().to_lowercase_hex();
    assert!(
        check_mqtt_login(&db, &username, &password)
            .await
            .expect("q")
    );
    let plain_user = printed_plain["mqttUsername"].as_str().expect("user");
    let plain_password = printed_plain["mqttPassword"].as_str().expect("password");
    assert!(
        check_mqtt_login(&db, plain_user, plain_password)
            .await
            .expect("q")
    );
    db.close().await;
}

async fn ledger_view(app: &mut TestApp) {
    let owner = crate::registry::wallet(app).await;
    let d = crate::registry::device(app, "LED-1").await;
    crate::registry::claim(app, &owner, &d).await;
    let get = |query: &'static str, key: Option<&'static str>| {
        let app = &*app;
        async move {
            let mut req = app
                .client
                .get(app.url(&format!("/v1/admin/registry/calls{query}")));
            if let Some(key) = key {
                req = req.header("x-provisioning-key", key);
            }
            let r = req.send().await.expect("send");
            (r.status(), r.json::<Value>().await.expect("json"))
        }
    };
    let (status, body) = get("", Some(KEY)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let calls = body["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (&calls[0]["kind"], &calls[0]["status"]),
        (&json!("claim"), &json!("confirmed"))
    );
    assert!(
        calls[0]["confirmedAt"].is_string() && calls[0]["txHash"].is_null(),
        "{body}"
    );
    assert!(calls[0]["signatures"]["aftermarketDevice"].is_string());
    let (status, _) = get("?limit=0", Some(KEY)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get("", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let r = app
        .client
        .get(app.url("/v1/admin/registry/calls"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .expect("send");
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a wallet token is not an admin's"
    );
}
api_test!(admins_see_the_registry_ledger, ledger_view, with_key);
