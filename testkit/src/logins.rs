//! Broker logins for [`crate::MosquittoConfig::logins`]: `mosquitto_passwd` found beside the
//! broker (or on `PATH`) and the password file it writes in Mosquitto's hashed format.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The password file's name in the broker's directory.
pub(crate) const PASSWORD_FILE: &str = "passwords";

/// `mosquitto_passwd` beside the broker's binary, else on `PATH`.
pub(crate) fn mosquitto_passwd(bin: &Path) -> Option<PathBuf> {
    let beside = bin.with_file_name("mosquitto_passwd");
    let on_path: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("mosquitto_passwd"))
                .collect()
        })
        .unwrap_or_default();
    std::iter::once(beside)
        .chain(["/usr/bin/mosquitto_passwd".into()])
        .chain(on_path)
        .find(|p| p.is_file())
}

/// Writes `logins` into `file` in Mosquitto's hashed format (`mosquitto_passwd -b`, the first
/// with `-c` to create the file).
pub(crate) fn write_password_file(passwd: &Path, file: &Path, logins: &[(String, String)]) {
    for (i, (user, password)) in logins.iter().enumerate() {
        let mut cmd = Command::new(passwd);
        cmd.arg("-b");
        if i == 0 {
            cmd.arg("-c");
        }
        let output = cmd
            .arg(file)
            .arg(user)
            .arg(password)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", passwd.display()));
        assert!(
            output.status.success(),
            "mosquitto_passwd for {user:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
