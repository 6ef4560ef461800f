//! The SocketCAN bridge: runs against vcan0 where the kernel has it, and otherwise checks that
//! the failure is immediate and says what is missing (this CI kernel has no SocketCAN).

use pitlane_sim::{Endpoint, Options, Scenario, ServeError, Simulator};

#[tokio::test]
async fn socketcan_bridge_opens_vcan0_or_says_why_not() {
    let options = Options {
        scenario: Scenario::default_car(),
        slcan_pty: None,
        elm327_pty: None,
        elm327_tcp: None,
        socketcand: None,
        socketcan: Some("vcan0".into()),
    };
    match Simulator::start(options).await {
        Ok(sim) => {
            assert_eq!(sim.endpoints(), [Endpoint::SocketCan("vcan0".into())]);
            assert_eq!(sim.endpoints()[0].to_string(), "socketcan vcan0");
            sim.shutdown().await;
        }
        Err(ServeError::SocketCan(e)) => {
            let text = e.to_string();
            assert!(text.contains("vcan0"), "{text}");
            eprintln!("skipped: SocketCAN is not available here ({text})");
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}
