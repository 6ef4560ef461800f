//! Outbox bound, order and the command ledger.

use pitlane_shared::command::SeenCommands;

use super::*;

fn topics(store: &Store) -> Vec<String> {
    store
        .pending(0, 100)
        .unwrap()
        .into_iter()
        .map(|r| r.topic)
        .collect()
}

/// Pushes `(name, priority)` messages of 10 bytes each into an outbox bounded at `max` bytes
/// and checks what is left, oldest first.
fn check(max: u64, pushes: &[(&str, Priority)], expected: &[&str]) {
    let mut store = Store::in_memory(max).unwrap();
    for (name, priority) in pushes {
        store.push(name, &[0u8; 10], false, *priority).unwrap();
    }
    assert_eq!(topics(&store), expected, "max {max}");
}

#[test]
fn outbox_drops_telemetry_first_and_never_results_or_dtcs() {
    use Priority::*;
    check(100, &[("t1", Telemetry), ("r1", Kept)], &["t1", "r1"]);
    check(
        30,
        &[
            ("t1", Telemetry),
            ("s1", Droppable),
            ("r1", Kept),
            ("t2", Telemetry),
        ],
        &["s1", "r1", "t2"],
    );
    check(
        20,
        &[
            ("t1", Telemetry),
            ("s1", Droppable),
            ("r1", Kept),
            ("t2", Telemetry),
        ],
        // the new telemetry goes before the older status
        &["s1", "r1"],
    );
    check(
        10,
        &[("s1", Droppable), ("t1", Telemetry), ("d1", Kept)],
        &["d1"],
    );
    // kept rows stay even when they alone exceed the bound
    check(
        15,
        &[("d1", Kept), ("t1", Telemetry), ("r1", Kept), ("d2", Kept)],
        &["d1", "r1", "d2"],
    );
}

#[test]
fn pending_is_in_order_and_acknowledge_removes() {
    let mut store = Store::in_memory(1 << 20).unwrap();
    for i in 0..5 {
        store
            .push(&format!("m{i}"), b"x", false, Priority::Kept)
            .unwrap();
    }
    let rows = store.pending(0, 3).unwrap();
    assert_eq!(
        rows.iter().map(|r| r.topic.as_str()).collect::<Vec<_>>(),
        ["m0", "m1", "m2"]
    );
    store.acknowledge(rows[1].id).unwrap();
    let after = store.pending(rows[0].id, 10).unwrap();
    assert_eq!(
        after.iter().map(|r| r.topic.as_str()).collect::<Vec<_>>(),
        ["m2", "m3", "m4"]
    );
    assert_eq!(store.outbox_depth().unwrap(), (4, 4));
}

#[test]
fn command_ledger_is_at_most_once_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    {
        let store = Store::open(&path, 1 << 20).unwrap();
        assert_eq!(store.highest_seq(), None);
        assert!(store.begin_command("a", 3, "doors.lock").unwrap());
        assert!(!store.begin_command("a", 3, "doors.lock").unwrap());
        assert!(store.begin_command("b", 4, "doors.unlock").unwrap());
        store.finish_command("a", "res", b"{}").unwrap();
        store.set_fact("vin", "1HGCM82633A004352").unwrap();
    }
    let store = Store::open(&path, 1 << 20).unwrap();
    assert!(store.seen("a") && store.seen("b") && !store.seen("c"));
    assert_eq!(store.highest_seq(), Some(4));
    assert_eq!(
        store.interrupted_commands().unwrap(),
        [("b".to_owned(), 4, "doors.unlock".to_owned())]
    );
    assert_eq!(topics(&store), ["res"]);
    assert_eq!(
        store.fact("vin").unwrap().as_deref(),
        Some("1HGCM82633A004352")
    );
    assert_eq!(store.fact("nothing").unwrap(), None);
}
