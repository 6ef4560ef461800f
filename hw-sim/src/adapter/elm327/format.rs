//! How an ELM327 prints CAN frames: with or without headers, spaces and DLC, and with CAN
//! auto formatting the single-frame payload, or a multi-frame answer as its length line
//! followed by `0:`, `1:`, … lines.

use pitlane_shared::can::{CanFrame, CanId};

use super::settings::Settings;

/// `7E8` or `18DAF110` (`18 DA F1 10` with spaces).
pub fn hex_id(id: CanId, spaces: bool) -> String {
    match id {
        CanId::Standard(id) => format!("{id:03X}"),
        CanId::Extended(id) if spaces => {
            let b = id.to_be_bytes();
            format!("{:02X} {:02X} {:02X} {:02X}", b[0], b[1], b[2], b[3])
        }
        CanId::Extended(id) => format!("{id:08X}"),
    }
}

/// Bytes as hex, space-separated or not.
pub fn hex_bytes(bytes: &[u8], spaces: bool) -> String {
    let sep = if spaces { " " } else { "" };
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// The lines an ELM327 prints for one received frame.
pub fn frame_lines(frame: &CanFrame, s: &Settings) -> Vec<String> {
    let data = frame.data();
    let with_header = |shown: &[u8]| {
        let mut parts = vec![hex_id(frame.id(), s.spaces)];
        if s.dlc {
            parts.push(frame.dlc().to_string());
        }
        if !shown.is_empty() {
            parts.push(hex_bytes(shown, s.spaces));
        }
        parts.join(if s.spaces { " " } else { "" })
    };
    if !s.caf {
        return vec![if s.headers {
            with_header(data)
        } else {
            hex_bytes(data, s.spaces)
        }];
    }
    let Some(&pci) = data.first() else {
        return vec![with_header(&[])];
    };
    match pci >> 4 {
        // Single frame: the PCI length says how many bytes are payload; padding is not shown.
        0 => {
            let end = (1 + usize::from(pci & 0x0F)).min(data.len());
            if s.headers {
                vec![with_header(&data[..end])]
            } else {
                vec![hex_bytes(&data[1..end], s.spaces)]
            }
        }
        // First frame: the total length on a line of its own, then line 0.
        1 if !s.headers && data.len() >= 2 => {
            let len = (u16::from(pci & 0x0F) << 8) | u16::from(data[1]);
            let sep = if s.spaces { " " } else { "" };
            vec![
                format!("{len:03X}"),
                format!("0:{sep}{}", hex_bytes(&data[2..], s.spaces)),
            ]
        }
        // Consecutive frame: its sequence number as the line number.
        2 if !s.headers => {
            let sep = if s.spaces { " " } else { "" };
            vec![format!(
                "{:X}:{sep}{}",
                pci & 0x0F,
                hex_bytes(&data[1..], s.spaces)
            )]
        }
        _ if s.headers => vec![with_header(data)],
        _ => vec![hex_bytes(data, s.spaces)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: CanId, data: &str) -> CanFrame {
        CanFrame::new(id, &hex::decode(data).unwrap()).unwrap()
    }

    fn check(settings: &str, f: CanFrame, expected: &[&str]) {
        let mut s = Settings::default();
        for cmd in settings.split(',').filter(|c| !c.is_empty()) {
            s.handle(cmd);
        }
        assert_eq!(frame_lines(&f, &s), expected, "{settings} {f}");
    }

    #[test]
    fn frames_print_as_an_elm327_prints_them() {
        let sf = frame(CanId::Standard(0x7E8), "04410C1AF8AAAAAA");
        check("", sf, &["41 0C 1A F8"]);
        check("ATS0", sf, &["410C1AF8"]);
        check("ATH1", sf, &["7E8 04 41 0C 1A F8"]);
        check("ATH1,ATS0", sf, &["7E804410C1AF8"]);
        check("ATH1,ATD1", sf, &["7E8 8 04 41 0C 1A F8"]);
        check("ATCAF0", sf, &["04 41 0C 1A F8 AA AA AA"]);
        check("ATCAF0,ATH1", sf, &["7E8 04 41 0C 1A F8 AA AA AA"]);

        let ff = frame(CanId::Standard(0x7E8), "1014490201354E50");
        check("", ff, &["014", "0: 49 02 01 35 4E 50"]);
        check("ATS0", ff, &["014", "0:490201354E50"]);
        check("ATH1", ff, &["7E8 10 14 49 02 01 35 4E 50"]);
        let cf = frame(CanId::Standard(0x7E8), "2245423441433944");
        check("", cf, &["2: 45 42 34 41 43 39 44"]);
        check("ATH1", cf, &["7E8 22 45 42 34 41 43 39 44"]);

        let x = frame(CanId::Extended(0x18DA_F110), "06410098180013AA");
        check("ATH1", x, &["18 DA F1 10 06 41 00 98 18 00 13"]);
        check("ATH1,ATS0", x, &["18DAF11006410098180013"]);
        check("", x, &["41 00 98 18 00 13"]);
    }
}
