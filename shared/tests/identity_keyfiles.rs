//! Key files: created atomically with mode 0600, never overwritten, refused when readable by
//! group or others, and malformed content reported without revealing it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use pitlane_shared::identity::{DeviceKey, KeyError, KeyFileError};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn create_writes_one_hex_line_with_mode_0600_and_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.key");
    let key = DeviceKey::create(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, format!("{}\n", *key.to_hex()));
    assert!(text.starts_with("0x") && text.len() == 67);
    assert_eq!(DeviceKey::load(&path).unwrap().address(), key.address());
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn create_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.key");
    let first = DeviceKey::create(&path).unwrap();
    let err = DeviceKey::create(&path).unwrap_err();
    assert!(matches!(err, KeyFileError::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(DeviceKey::load(&path).unwrap().address(), first.address());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn group_or_other_access_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.key");
    DeviceKey::create(&path).unwrap();
    for bad in [0o644, 0o640, 0o604, 0o660, 0o601, 0o620] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bad)).unwrap();
        let err = DeviceKey::load(&path).unwrap_err();
        match &err {
            KeyFileError::InsecurePermissions { mode, .. } => assert_eq!(*mode, bad),
            other => panic!("mode {bad:o}: unexpected {other}"),
        }
        let message = err.to_string();
        assert!(
            message.contains(&format!("{bad:04o}")) && message.contains("chmod 600"),
            "{message}"
        );
    }
    for fine in [0o600, 0o400] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(fine)).unwrap();
        DeviceKey::load(&path).unwrap();
    }
}

#[test]
fn malformed_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let check = |content: &str, expected: KeyError| {
        let path = dir.path().join("k");
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        match DeviceKey::load(&path).unwrap_err() {
            KeyFileError::Malformed { source, .. } => assert_eq!(source, expected, "{content:?}"),
            other => panic!("{content:?}: unexpected {other}"),
        }
    };
    check("", KeyError::Length { got: 0 });
    check("0x1234\n", KeyError::Length { got: 4 });
    check(&format!("0x{}\n", "x".repeat(64)), KeyError::NotHex);
    check(&format!("0x{}\n", "0".repeat(64)), KeyError::OutOfRange);
    check(
        &format!("0x{0}\n0x{0}\n", "1".repeat(64)),
        KeyError::Length { got: 131 },
    );

    // Surrounding whitespace and a missing 0x are tolerated.
    let path = dir.path().join("k2");
    std::fs::write(&path, format!("  {}\r\n", "11".repeat(32))).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    DeviceKey::load(&path).unwrap();

    let secret = format!("0x{}", "ab".repeat(32));
    let path = dir.path().join("k3");
    std::fs::write(&path, format!("{secret}zz")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let message = DeviceKey::load(&path).unwrap_err().to_string();
    assert!(
        !message.contains(&secret[2..]),
        "error must not reveal the secret: {message}"
    );

    let missing = dir.path().join("absent.key");
    assert!(matches!(
        DeviceKey::load(&missing).unwrap_err(),
        KeyFileError::NotFound { .. }
    ));
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'0'; 4096]).unwrap();
    std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(matches!(
        DeviceKey::load(&big).unwrap_err(),
        KeyFileError::TooLarge { .. }
    ));
}

#[test]
fn key_in_a_missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/device.key");
    let err = DeviceKey::create(&path).unwrap_err();
    assert!(
        matches!(err, KeyFileError::NotFound { .. } | KeyFileError::Io { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("device.key"), "{err}");
}

#[test]
fn debug_output_hides_the_secret() {
    let key = DeviceKey::generate();
    let debug = format!("{key:?}");
    assert!(!debug.contains(&key.to_hex()[2..]), "{debug}");
    assert!(debug.contains(&key.address().to_checksum()), "{debug}");
}
