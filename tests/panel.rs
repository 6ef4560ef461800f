//! The web panel in headless Chromium (WebDriver): registration and email verification,
//! keyboard use, API key creation, a bulk VIN decode to the CSV, linking and logging in with
//! a browser wallet, and the phone layout. Each failing step leaves a screenshot in
//! `target/panel-screenshots/`. Without chromedriver and Chromium the tests say so and pass.

#[path = "panel/cloud.rs"]
mod cloud;
#[path = "panel/driver.rs"]
mod driver;
#[path = "panel/steps.rs"]
mod steps;

use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use fantoccini::key::Key;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_in_a_browser() {
    let (driver_path, browser_path) = match driver::find() {
        Ok(found) => found,
        Err(why) => {
            eprintln!("SKIPPED: the panel's browser tests need chromedriver and Chromium: {why}");
            return;
        }
    };
    let cloud = Cloud::start().await.expect("cloud");
    let chromedriver = driver::Driver::start(&driver_path, &browser_path)
        .await
        .expect("chromedriver");
    let mut b = Browser::new(
        chromedriver.session(1280, 900).await.expect("browser"),
        cloud.url(""),
    );
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
