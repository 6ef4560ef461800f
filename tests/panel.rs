//! The web panel in headless Chromium (WebDriver): registration and email verification,
//! keyboard use, API key creation, a bulk VIN decode to the CSV, a geofence created and edited
//! (a cell toggled on the drawing), linking and logging in with a browser wallet, a wallet
//! account's first password set with the wallet button, a pending command's status followed
//! on the vehicle page, the phone layout, and (on the whole system of `pitlane up`) unlocking
//! the demo car with the command's status turning to executed, and clearing its trouble codes
//! with the car, the status following by itself.
//! Each failing step leaves a screenshot in `target/panel-screenshots/`. Without chromedriver
//! and Chromium the tests say so and pass.

#[path = "panel/cloud.rs"]
mod cloud;
#[path = "panel/command_follow.rs"]
mod command_follow;
#[path = "panel/driver.rs"]
mod driver;
#[path = "panel/first_password.rs"]
mod first_password;
#[path = "panel/steps.rs"]
mod steps;

use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use fantoccini::key::Key;
use pitlane::fleet::Intervals;
use pitlane::up::UpOptions;
use pitlane_shared::identity::DeviceKey;

use cloud::Cloud;
use steps::Browser;

const EMAIL: &str = "fleet.ops@example.com";
const PASSWORD: &str = "gravel-lantern-58";
/// Valid VINs from the cloud's test fixtures, with their decoded make.
const VINS: [(&str, &str); 3] = [
    ("1HGCM82633A004352", "Honda"),
    ("JH4DC4340RS003205", "Acura"),
    ("KNAE55HD7R6000001", "Kia"),
];

fn browser_or_skip() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    match driver::find() {
        Ok(found) => Some(found),
        Err(why) => {
            eprintln!("SKIPPED: the panel's browser tests need chromedriver and Chromium: {why}");
            None
        }
    }
}

/// A fresh cloud and a browser session on it; None (the test is skipped) without a browser.
async fn cloud_and_browser() -> Option<(Cloud, driver::Driver, Browser)> {
    let (driver_path, browser_path) = browser_or_skip()?;
    let cloud = Cloud::start().await.expect("cloud");
    let chromedriver = driver::Driver::start(&driver_path, &browser_path)
        .await
        .expect("chromedriver");
    let b = Browser::new(
        chromedriver.session(1280, 900).await.expect("browser"),
        cloud.url(""),
    );
    Some((cloud, chromedriver, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_in_a_browser() {
    let Some((cloud, _chromedriver, mut b)) = cloud_and_browser().await else {
        return;
    };
    let outcome = journey(&mut b, &cloud).await;
    b.finish(outcome).await;
    cloud.stop().await;
}

async fn journey(b: &mut Browser, cloud: &Cloud) -> Result<()> {
    b.step("register");
    b.open("/panel/register").await?;
    b.fill("#f-name", "Fleet Ops").await?;
    b.fill("#f-email", EMAIL).await?;
    b.fill("#f-password", PASSWORD).await?;
    b.fill("#f-confirm", PASSWORD).await?;
    b.click("main form button[type=submit]").await?;
    b.wait_text("h1", "Check your email").await?;

    b.step("verify-email");
    let link = cloud
        .link_in_mail(EMAIL, &cloud.url("/panel/verify?token="))
        .await?;
    b.client.goto(&link).await?;
    b.click("main form button[type=submit]").await?;
    b.wait_text("h1", "Vehicles").await?;
    b.wait_text("main", "your account is active").await?;

    b.step("keyboard");
    b.open("/panel/keys").await?;
    b.client
        .find(Locator::Css("body"))
        .await?
        .send_keys(&Key::Tab.to_string())
        .await?;
    let first = b.client.active_element().await?;
    ensure!(
        first.text().await? == "Skip to content",
        "the first Tab stop is the skip link"
    );
    first.send_keys(&Key::Enter.to_string()).await?;
    let focused = b.client.active_element().await?;
    ensure!(
        focused.attr("id").await?.as_deref() == Some("main"),
        "Enter on the skip link moves focus to the content"
    );

    b.step("create-key");
    // Keyboard only: type the name and press Enter.
    let name = b.client.find(Locator::Css("#f-name")).await?;
    name.send_keys(&format!("telematics export{}", Key::Enter))
        .await?;
    let shown = b
        .client
        .wait()
        .at_most(driver::WAIT)
        .for_element(Locator::Css("[data-new-key]"))
        .await?;
    let key = shown.prop("value").await?.unwrap_or_default();
    ensure!(key.starts_with("ak_live_"), "the new key is shown: {key:?}");
    b.open("/panel/keys").await?;
    let source = b.client.source().await?;
    ensure!(!source.contains(&key), "the key is shown only once");
    ensure!(
        source.contains("telematics export") && source.contains("never"),
        "the key is listed, never used yet"
    );

    b.step("bulk-decode");
    b.open("/panel/decode").await?;
    let vins: Vec<&str> = VINS.iter().map(|(v, _)| *v).collect();
    b.fill("#f-vins", &vins.join("\n")).await?;
    b.click("main form button[type=submit]").await?;
    b.wait_url("/panel/decode/bulks/").await?;
    b.wait_text("#bulk-progress-text", "3 of 3 decoded: done.")
        .await?;
    for (vin, make) in VINS {
        b.wait_text("table.results", vin).await?;
        b.wait_text("table.results", make).await?;
    }
    let csv_link = b.client.find(Locator::Css("a[download]")).await?;
    let href = csv_link.attr("href").await?.context("CSV link")?;
    let csv = b.fetch_text(&href).await?;
    let lines: Vec<&str> = csv.lines().collect();
    ensure!(lines.len() == 4, "header and three VINs: {csv}");
    for ((vin, make), line) in VINS.iter().zip(&lines[1..]) {
        ensure!(
            line.starts_with(&format!("{vin},completed,true,{make},")),
            "{line}"
        );
    }

    b.step("geofence-edit");
    b.open("/panel/geofences").await?;
    b.fill("#f-name", "Depot").await?;
    b.fill("#f-lat", "52.52").await?;
    b.fill("#f-lng", "13.405").await?;
    b.fill("#f-rings", "1").await?;
    b.click("button[value=create]").await?;
    b.wait_text("main", "7 cells").await?;
    b.click("a[aria-label='Edit geofence Depot']").await?;
    b.wait_text("h1", "Edit geofence").await?;
    // A click on a drawn cell leaves it out of the form's list (the page's script).
    b.click("polygon[data-cell]").await?;
    b.fill("#f-name", "Depot east").await?;
    b.click("button[value=save]").await?;
    b.wait_text("main", "Geofence saved.").await?;
    b.wait_text("main", "Depot east").await?;
    b.wait_text("main", "6 cells").await?;

    b.step("link-wallet");
    let wallet = DeviceKey::generate();
    b.open("/panel/account").await?;
    b.install_wallet(&wallet).await?;
    b.click("[data-action=wallet-link]").await?;
    b.sign_pending(&wallet).await?;
    b.wait_url("done=wallet-linked").await?;
    b.wait_text("main", &wallet.address().to_lowercase_hex())
        .await?;

    b.step("phone-layout");
    b.client.set_window_size(390, 844).await?;
    for page in ["/panel/keys", "/panel/geofences", "/panel/decode"] {
        b.open(page).await?;
        let overflow = b
            .client
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await?;
        ensure!(
            overflow.as_i64().unwrap_or(1) <= 0,
            "{page} overflows a phone screen sideways by {overflow} px"
        );
    }
    driver::screenshot(&b.client, "phone-decode").await?;
    b.client.set_window_size(1280, 900).await?;

    b.step("logout");
    b.open("/panel/").await?;
    b.click("form.logout button").await?;
    b.wait_text("h1", "Log in to Pitlane").await?;

    b.step("wallet-login");
    b.install_wallet(&wallet).await?;
    b.click("[data-action=wallet-login]").await?;
    b.sign_pending(&wallet).await?;
    b.wait_text("h1", "Vehicles").await?;

    b.step("password-login");
    b.click("form.logout button").await?;
    b.wait_text("h1", "Log in to Pitlane").await?;
    b.fill("#f-email", EMAIL).await?;
    b.fill("#f-password", PASSWORD).await?;
    b.click("main form button[type=submit]").await?;
    b.wait_text("h1", "Vehicles").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_account_sets_its_first_password_with_the_browser_wallet() {
    let Some((cloud, _chromedriver, mut b)) = cloud_and_browser().await else {
        return;
    };
    let outcome = first_password::journey(&mut b).await;
    b.finish(outcome).await;
    cloud.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_command_on_the_vehicle_page_follows_by_itself() {
    let Some((cloud, _chromedriver, mut b)) = cloud_and_browser().await else {
        return;
    };
    let outcome = command_follow::journey(&mut b, &cloud).await;
    b.finish(outcome).await;
    cloud.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlocking_the_demo_car_from_the_panel() {
    let Some((driver_path, browser_path)) = browser_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = UpOptions {
        data_dir: Some(dir.path().to_owned()),
        http_addr: Some("127.0.0.1:0".parse().expect("addr")),
        mqtt_addr: Some("127.0.0.1:0".parse().expect("addr")),
        intervals: Intervals {
            dtc_secs: 600.0,
            telemetry_secs: 1.0,
            vin_secs: 600.0,
        },
        ..UpOptions::new(1)
    };
    let running = pitlane::up::start(opts, &|line| eprintln!("up: {line}"))
        .await
        .expect("pitlane up starts");
    let demo = running.demo.as_ref().expect("the demo account");
    let (email, password) = (demo.account.email.clone(), demo.account.password.clone());
    let vin = demo.vin.clone();
    report_codes(&running, &email)
        .await
        .expect("the demo car's codes reported");
    let chromedriver = driver::Driver::start(&driver_path, &browser_path)
        .await
        .expect("chromedriver");
    let mut b = Browser::new(
        chromedriver.session(1280, 900).await.expect("browser"),
        format!("http://{}", running.http_addr),
    );
    let outcome = unlock(&mut b, &email, &password, &vin).await;
    b.finish(outcome).await;
    running.stop().await;
}

async fn unlock(b: &mut Browser, email: &str, password: &str, vin: &str) -> Result<()> {
    b.step("demo-login");
    b.open("/panel/login").await?;
    b.fill("#f-email", email).await?;
    b.fill("#f-password", password).await?;
    b.click("main form button[type=submit]").await?;
    b.wait_text("h1", "Vehicles").await?;
    b.wait_text("table.vehicles", vin).await?;

    b.step("vehicle-page");
    b.click("table.vehicles a").await?;
    b.wait_text("#status-title", "Live status").await?;
    b.wait_text("dl.facts", vin).await?;
    b.wait_text("#registry-title + dl", "#").await?;

    b.step("unlock");
    b.click("button[data-command='doors.unlock']").await?;
    b.wait_text("#command-status", "Unlock: executed").await?;

    b.step("lock");
    b.click("button[data-command='doors.lock']").await?;
    b.wait_text("#command-status", "Lock: executed").await?;

    b.step("clear-codes-with-the-car");
    reload_until(b, "a[href$='/clear-codes']", "no Clear codes link").await?;
    b.click("a[href$='/clear-codes']").await?;
    b.wait_text("h1", "Clear trouble codes").await?;
    b.wait_text("ul.codes", "P0301").await?;
    b.click("input[name=on_vehicle]").await?;
    b.click("main form button.danger").await?;
    b.wait_url("done=codes-cleared&command=").await?;
    // The status follows by itself: the same document (no reload) ends up executed.
    b.client
        .execute("window.__pitlaneSamePage = true;", vec![])
        .await?;
    b.wait_text("#command-status", "Clear trouble codes: executed")
        .await?;
    let same = b
        .client
        .execute(
            "return [window.__pitlaneSamePage === true, \
                     document.getElementById('command-status').hasAttribute('data-follow')];",
            vec![],
        )
        .await?;
    ensure!(
        same == serde_json::json!([true, false]),
        "no reload, no more following: {same}"
    );
    b.wait_text("#dtc-title + p", ", cleared ").await?;

    b.step("telemetry-chart");
    // The agent reports every second: reloading soon shows the chart.
    reload_until(
        b,
        "figure.chart svg polyline, figure.chart svg circle",
        "no telemetry chart appeared",
    )
    .await?;

    driver::screenshot(&b.client, "desktop-vehicle").await?;
    let chart = b
        .client
        .find(Locator::Css("#telemetry-title + figure"))
        .await?;
    std::fs::write(
        driver::screenshot_dir().join("telemetry-chart.png"),
        chart.screenshot().await?,
    )?;

    b.step("vehicle-on-a-phone");
    b.client.set_window_size(390, 844).await?;
    b.client.refresh().await?;
    let overflow = b
        .client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await?;
    ensure!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "the vehicle page overflows a phone by {overflow} px"
    );
    driver::screenshot(&b.client, "phone-vehicle").await?;
    Ok(())
}

/// The demo car's stored codes as a trouble-code report on its vehicle, so that its page
/// offers to clear them without waiting for the agent's own report (which reaches the vehicle
/// through ingest or, when it came before pairing, through the pairing itself).
async fn report_codes(running: &pitlane::up::Running, email: &str) -> Result<()> {
    use pitlane_cloud::accounts::users;
    use pitlane_cloud::devices::{error_codes, vehicles};
    let db = &running.state.db;
    let user = users::by_login(db, email)
        .await?
        .context("the demo account")?;
    let car = vehicles::list(db, &user.id)
        .await?
        .into_iter()
        .next()
        .context("the demo vehicle")?;
    let codes = error_codes::parse_codes(&["P0301".into(), "P0420".into()])?;
    error_codes::submit(db, &car, &codes, error_codes::Source::Device).await?;
    Ok(())
}

/// Reloads the page until `css` finds something, at most [`driver::WAIT`].
async fn reload_until(b: &Browser, css: &str, otherwise: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + driver::WAIT;
    loop {
        b.client.refresh().await?;
        if b.client.find(Locator::Css(css)).await.is_ok() {
            return Ok(());
        }
        ensure!(tokio::time::Instant::now() < deadline, "{otherwise}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}
