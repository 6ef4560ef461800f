//! `pitlane-agent sign-typed-data --key FILE [--config FILE] [PAYLOAD|-]`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context as _;
use pitlane_shared::eip712::TypedData;

use crate::config::Config;

/// Payloads larger than this are refused (a DIMO payload is well under 2 KiB).
const MAX_PAYLOAD_BYTES: u64 = 1 << 20;

#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// Key file (0x-hex secret on one line, mode 0600). Default: $PITLANE_AGENT_KEY, then
    /// `[identity] key` of --config, then ./pitlane-agent.key.
    #[arg(long, env = "PITLANE_AGENT_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Agent configuration file (TOML). With it, its `[signing]` policy is enforced: only the
    /// configured chainId, verifying contract, allowed primary types and own device node are
    /// signed, and a refusal names the rule. A config without `[signing]` signs nothing.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The eth_signTypedData_v4 JSON itself (starting with `{`), a file holding it, or `-`
    /// (the default) to read it from standard input.
    pub payload: Option<String>,
}

pub fn run(args: SignArgs) -> anyhow::Result<()> {
    let config = args.config.as_deref().map(Config::load).transpose()?;
    let key_path = Config::key_path(config.as_ref(), args.key);
    let key = super::identity::load(&key_path)?;
    let text = read_payload(args.payload.as_deref())?;
    let typed = TypedData::from_json(&text).context("invalid typed data")?;
    if let Some(config) = &config {
        let Some(signing) = &config.signing else {
            anyhow::bail!("the config has no [signing] section, so this device signs nothing");
        };
        signing.policy().check(&typed)?;
    }
    let signed = typed.sign(&key);
    println!("{}", serde_json::to_string(&signed)?);
    Ok(())
}

fn read_payload(payload: Option<&str>) -> anyhow::Result<String> {
    let (source, reader): (String, Box<dyn Read>) = match payload {
        None | Some("-") => ("standard input".to_owned(), Box::new(std::io::stdin())),
        Some(text) if text.trim_start().starts_with('{') => return Ok(text.to_owned()),
        Some(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open payload file {path}"))?;
            (format!("payload file {path}"), Box::new(file))
        }
    };
    let mut text = String::new();
    reader
        .take(MAX_PAYLOAD_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read the payload from {source}"))?;
    anyhow::ensure!(
        text.len() as u64 <= MAX_PAYLOAD_BYTES,
        "the payload from {source} is larger than {MAX_PAYLOAD_BYTES} bytes"
    );
    Ok(text)
}
