//! `pitlane-agent identity init|show` and `sign-typed-data`, run as the real binary.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

/// keccak256("cow"): the EIP-712 specification's example key.
const COW_SECRET: &str = "0xc85ef7d79691fe79573b1a7064c19c1a9819ebdbd1faaab1a8ec92344438aaf4";
const COW_ADDRESS: &str = "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826";
const MAIL_DIGEST: &str = "0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2";
const MAIL_SIGNATURE: &str = "0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b915621c";
const REGISTRY: &str = "0x5eAA326fB2fc97fAcCe6A79A304876daD0F2e96c";

fn agent(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitlane-agent"))
        .args(args)
        .current_dir(dir)
        .env_remove("PITLANE_AGENT_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr_of_failure(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "unexpectedly succeeded: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn write_key(dir: &Path, name: &str, secret: &str, mode: u32) {
    let path = dir.join(name);
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mail() -> Value {
    json!({
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}
            ],
            "Person": [{"name": "name", "type": "string"}, {"name": "wallet", "type": "address"}],
            "Mail": [
                {"name": "from", "type": "Person"}, {"name": "to", "type": "Person"},
                {"name": "contents", "type": "string"}
            ]
        },
        "primaryType": "Mail",
        "domain": {
            "name": "Ether Mail", "version": "1", "chainId": 1,
            "verifyingContract": "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC"
        },
        "message": {
            "from": {"name": "Cow", "wallet": "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"},
            "to": {"name": "Bob", "wallet": "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"},
            "contents": "Hello, Bob!"
        }
    })
}

fn claim(chain_id: u64, node: u64) -> Value {
    json!({
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}
            ],
            "ClaimAftermarketDeviceSign": [
                {"name": "aftermarketDeviceNode", "type": "uint256"}, {"name": "owner", "type": "address"}
            ]
        },
        "primaryType": "ClaimAftermarketDeviceSign",
        "domain": {"name": "DIMO", "version": "1", "chainId": chain_id, "verifyingContract": REGISTRY},
        "message": {"aftermarketDeviceNode": node, "owner": COW_ADDRESS}
    })
}

#[test]
fn init_creates_once_and_show_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let created = agent(
        dir.path(),
        &["identity", "init", "--key", "device.key"],
        None,
    );
    let first = stdout(&created);
    assert!(String::from_utf8_lossy(&created.stderr).contains("created key file device.key"));
    let key_path = dir.path().join("device.key");
    assert_eq!(
        std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let secret = std::fs::read_to_string(&key_path).unwrap();

    let again = agent(
        dir.path(),
        &["identity", "init", "--key", "device.key"],
        None,
    );
    assert_eq!(stdout(&again), first, "second init shows the same identity");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists; left unchanged"));
    assert_eq!(
        std::fs::read_to_string(&key_path).unwrap(),
        secret,
        "never overwritten"
    );

    let shown = stdout(&agent(
        dir.path(),
        &["identity", "show", "--key", "device.key"],
        None,
    ));
    assert_eq!(shown, first);
    let address = first
        .lines()
        .next()
        .unwrap()
        .strip_prefix("address: 0x")
        .unwrap();
    assert_eq!(address.len(), 40);
    assert!(
        first
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("public key: 0x04")
    );
}

#[test]
fn default_and_environment_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&agent(dir.path(), &["identity", "init"], None));
    assert!(
        dir.path().join("pitlane-agent.key").exists(),
        "default ./pitlane-agent.key"
    );

    write_key(dir.path(), "cow.key", COW_SECRET, 0o600);
    let output = Command::new(env!("CARGO_BIN_EXE_pitlane-agent"))
        .args(["identity", "show", "--json"])
        .current_dir(dir.path())
        .env("PITLANE_AGENT_KEY", "cow.key")
        .output()
        .unwrap();
    let shown: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(shown["address"], COW_ADDRESS);
    assert_eq!(shown["address_lowercase"], COW_ADDRESS.to_lowercase());
    assert!(shown["public_key"].as_str().unwrap().starts_with("0x04"));
}

#[test]
fn bad_key_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    write_key(dir.path(), "open.key", COW_SECRET, 0o644);
    let err = stderr_of_failure(&agent(
        dir.path(),
        &["identity", "show", "--key", "open.key"],
        None,
    ));
    assert!(
        err.contains("accessible by group or others (mode 0644)") && err.contains("chmod 600"),
        "{err}"
    );
    // init does not paper over an insecure existing key either.
    let err = stderr_of_failure(&agent(
        dir.path(),
        &["identity", "init", "--key", "open.key"],
        None,
    ));
    assert!(err.contains("chmod 600"), "{err}");

    let err = stderr_of_failure(&agent(
        dir.path(),
        &["identity", "show", "--key", "absent.key"],
        None,
    ));
    assert!(
        err.contains("does not exist") && err.contains("identity init --key absent.key"),
        "{err}"
    );

    write_key(dir.path(), "short.key", "0x1234", 0o600);
    let err = stderr_of_failure(&agent(
        dir.path(),
        &["identity", "show", "--key", "short.key"],
        None,
    ));
    assert!(err.contains("64 hex digits"), "{err}");
}

#[test]
fn sign_typed_data_reproduces_the_specification() {
    let dir = tempfile::tempdir().unwrap();
    write_key(dir.path(), "cow.key", COW_SECRET, 0o600);
    let expected = format!(
        r#"{{"hash":"{MAIL_DIGEST}","signature":"{MAIL_SIGNATURE}","address":"{COW_ADDRESS}"}}"#
    );
    let payload = mail().to_string();
    std::fs::write(dir.path().join("mail.json"), &payload).unwrap();

    let check = |args: &[&str], stdin: Option<&str>| {
        let out = stdout(&agent(dir.path(), args, stdin));
        assert_eq!(out.trim_end(), expected, "{args:?}");
    };
    check(&["sign-typed-data", "--key", "cow.key"], Some(&payload));
    check(
        &["sign-typed-data", "--key", "cow.key", "-"],
        Some(&payload),
    );
    check(&["sign-typed-data", "--key", "cow.key", &payload], None);
    check(&["sign-typed-data", "--key", "cow.key", "mail.json"], None);
}

#[test]
fn sign_typed_data_rejects_bad_input_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    write_key(dir.path(), "cow.key", COW_SECRET, 0o600);
    let check = |payload: &str, expected: &str| {
        let err = stderr_of_failure(&agent(
            dir.path(),
            &["sign-typed-data", "--key", "cow.key"],
            Some(payload),
        ));
        assert!(err.contains(expected), "{err}");
    };
    check("{\"types\":", "malformed JSON");
    let mut bad = mail();
    bad["message"]["to"]["wallet"] = json!("0x1234");
    check(&bad.to_string(), "message.to.wallet: invalid address");
    let mut cyclic = mail();
    cyclic["types"]["Person"][1] = json!({"name": "friend", "type": "Person"});
    check(
        &cyclic.to_string(),
        "cyclic type definition: Person -> Person",
    );
    let mut unknown = mail();
    unknown["types"]["Mail"][0]["type"] = json!("Persona");
    check(
        &unknown.to_string(),
        "types.Mail[0].type: unknown type `Persona`",
    );
    let mut range = mail();
    range["domain"]["chainId"] = json!(-5);
    check(
        &range.to_string(),
        "domain.chainId: -5 is out of range for uint256",
    );
}

#[test]
fn sign_typed_data_applies_the_policy_from_config() {
    let dir = tempfile::tempdir().unwrap();
    write_key(dir.path(), "cow.key", COW_SECRET, 0o600);
    std::fs::write(
        dir.path().join("agent.toml"),
        format!("[identity]\nkey = \"cow.key\"\n\n[signing]\nchain_id = 80002\nverifying_contract = \"{REGISTRY}\"\ndevice_node = 42\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("nosigning.toml"),
        "[identity]\nkey = \"cow.key\"\n",
    )
    .unwrap();
    let sign = |config: &str, payload: &Value| {
        agent(
            dir.path(),
            &["sign-typed-data", "--config", config],
            Some(&payload.to_string()),
        )
    };

    let accepted: Value =
        serde_json::from_str(&stdout(&sign("agent.toml", &claim(80002, 42)))).unwrap();
    assert_eq!(accepted["address"], COW_ADDRESS);

    let check = |config: &str, payload: Value, expected: &str| {
        let err = stderr_of_failure(&sign(config, &payload));
        assert!(err.contains(expected), "{err}");
    };
    check(
        "agent.toml",
        claim(1, 42),
        "refused by rule `domain.chainId`: expected chain 80002, payload has 1",
    );
    check(
        "agent.toml",
        claim(80002, 43),
        "refused by rule `deviceNode`",
    );
    check("agent.toml", mail(), "refused by rule `domain.name`");
    check("nosigning.toml", claim(80002, 42), "no [signing] section");
    check(
        "absent.toml",
        claim(80002, 42),
        "cannot read config file absent.toml",
    );
    // Without --config there is no policy: the same claim for another node is signed.
    write_key(dir.path(), "pitlane-agent.key", COW_SECRET, 0o600);
    stdout(&agent(
        dir.path(),
        &["sign-typed-data"],
        Some(&claim(1, 43).to_string()),
    ));
}
