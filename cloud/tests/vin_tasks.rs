//! Bulk decode tasks in storage: pause, resume, and resuming again after an instance stopped
//! with tasks claimed (SQLite; the API tests also run these paths on PostgreSQL).

use pitlane_cloud::accounts::users::{self, NewUser};
use pitlane_cloud::db::Db;
use pitlane_cloud::vin::Decoder;
use pitlane_cloud::vin::store::{self, StoreError};
use pitlane_cloud::vin::worker::{self, WorkerConfig};

async fn db_with_user(dir: &tempfile::TempDir) -> (Db, String) {
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("tasks.db").display()
    );
    let db = Db::connect(&url).await.expect("connect");
    let user = users::create(
        &db,
        NewUser {
            email: Some("fleet@company.com".into()),
            username: None,
            name: "Fleet".into(),
            password_hash: None,
            admin: false,
            email_verified: true,
            wallet_address: None,
        },
    )
    .await
    .expect("user");
    (db, user.id)
}

async fn states(db: &Db, user: &str, tasks: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(store::task(db, user, t).await.expect("task").state);
    }
    out
}

#[tokio::test]
async fn pause_resume_and_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, user) = db_with_user(&dir).await;
    let decoder = Decoder::new().expect("decoder");
    let vins: Vec<String> = [
        "5YJ3A1E12HF000001",
        "WVWZZZAUZFW000002",
        "1FTFW1RT0PW000001",
    ]
    .map(String::from)
    .into();
    let (bulk, tasks) = store::create_bulk(&db, &user, &vins, Some("b.csv"), None)
        .await
        .expect("bulk");

    // Paused: nothing to claim.
    assert_eq!(
        store::set_paused(&db, &user, &bulk, true)
            .await
            .expect("pause"),
        3
    );
    assert!(store::claim(&db, "a", 10).await.expect("claim").is_empty());
    // Resumed: instance "a" claims two, then stops before finishing them.
    assert_eq!(
        store::set_paused(&db, &user, &bulk, false)
            .await
            .expect("resume"),
        3
    );
    let claimed = store::claim(&db, "a", 2).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    assert_eq!(
        states(&db, &user, &tasks).await,
        ["running", "running", "pending"]
    );
    // While "a" might still be alive (fresh claims), a second instance takes only the rest.
    assert_eq!(store::release_stale(&db, 3600).await.expect("release"), 0);
    let rest = store::claim(&db, "b", 10).await.expect("claim");
    assert_eq!(rest.len(), 1);
    store::complete(&db, &decoder, &rest[0])
        .await
        .expect("complete");

    // After the restart the stale claims return to pending (a negative age makes every claim
    // stale without waiting), and the workers finish them.
    assert_eq!(store::release_stale(&db, -1).await.expect("release"), 2);
    assert_eq!(
        states(&db, &user, &tasks).await,
        ["pending", "pending", "completed"]
    );
    let config = WorkerConfig {
        stale_after_secs: 3600,
        ..WorkerConfig::default()
    };
    assert_eq!(
        worker::step(&db, &decoder, &config, "c")
            .await
            .expect("step"),
        2
    );
    assert_eq!(
        states(&db, &user, &tasks).await,
        ["completed", "completed", "completed"]
    );
    let golf = store::task(&db, &user, &tasks[1]).await.expect("task");
    assert_eq!(
        golf.result.as_ref().map(|r| r["model"].clone()),
        Some("Golf (Mk7)".into())
    );
    assert_eq!((golf.bulk_done, golf.bulk_total), (3, 3));

    // Cross-user access reads as not found.
    assert!(matches!(
        store::task(&db, "usr_other", &tasks[0]).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store::set_paused(&db, "usr_other", &bulk, true).await,
        Err(StoreError::NotFound)
    ));
}
