//! Data-driven tests of ELM327 reply parsing across header, space and framing modes.

use super::*;
use crate::can::CanId;

fn std(id: u16) -> Option<CanId> {
    Some(CanId::Standard(id))
}

fn ext(id: u32) -> Option<CanId> {
    Some(CanId::Extended(id))
}

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| *b != b' ').collect();
    crate::wire::hex::parse_bytes(&digits).expect("test hex")
}

fn msg(from: Option<CanId>, payload: &str) -> EcuMessage {
    EcuMessage {
        from,
        payload: hex(payload),
    }
}

fn check(command: &str, reply: &str, headers: bool, expected: Result<Vec<EcuMessage>, &str>) {
    let got = parse_obd_reply(command, reply.as_bytes(), headers);
    match expected {
        Ok(messages) => assert_eq!(got, Ok(messages), "{reply:?}"),
        Err(fragment) => {
            let err = got.expect_err(reply).to_string();
            assert!(err.contains(fragment), "{reply:?}: {err}");
        }
    }
}

const VIN: &str = "49 02 01 31 44 34 47 50 30 30 52 35 35 42 31 32 33 34 35 36";

#[test]
fn single_frames_without_headers() {
    let pids = "41 00 BE 3F A8 13";
    check(
        "0100",
        "41 00 BE 3F A8 13 \r\r",
        false,
        Ok(vec![msg(None, pids)]),
    );
    check("0100", "4100BE3FA813\r", false, Ok(vec![msg(None, pids)]));
    check(
        "0100",
        "0100\rSEARCHING...\r41 00 BE 3F A8 13\r41 00 98 18 80 13\r",
        false,
        Ok(vec![msg(None, pids), msg(None, "41 00 98 18 80 13")]),
    );
}

#[test]
fn single_frames_with_headers() {
    check(
        "0100",
        "7E8 06 41 00 BE 3F A8 13\r7E9 06 41 00 98 18 80 13\r",
        true,
        Ok(vec![
            msg(std(0x7E8), "41 00 BE 3F A8 13"),
            msg(std(0x7E9), "41 00 98 18 80 13"),
        ]),
    );
    check(
        "0100",
        "7E8064100BE3FA813\r",
        true,
        Ok(vec![msg(std(0x7E8), "41 00 BE 3F A8 13")]),
    );
    // Padding after the single frame's data is ignored.
    check(
        "010D",
        "7E8 03 41 0D 32 AA AA AA AA\r",
        true,
        Ok(vec![msg(std(0x7E8), "41 0D 32")]),
    );
    check(
        "010D",
        "18 DA F1 10 03 41 0D 32\r",
        true,
        Ok(vec![msg(ext(0x18DA_F110), "41 0D 32")]),
    );
    check(
        "010D",
        "18DAF11003410D32CCCCCCCC\r",
        true,
        Ok(vec![msg(ext(0x18DA_F110), "41 0D 32")]),
    );
}

#[test]
fn multi_frame_with_headers() {
    let frames =
        "7E8 10 14 49 02 01 31 44 34\r7E8 21 47 50 30 30 52 35 35\r7E8 22 42 31 32 33 34 35 36\r";
    check("0902", frames, true, Ok(vec![msg(std(0x7E8), VIN)]));
    check(
        "0902",
        &format!("0902\rSEARCHING...\r{frames}\r"),
        true,
        Ok(vec![msg(std(0x7E8), VIN)]),
    );
    check(
        "0902",
        &frames.replace(' ', ""),
        true,
        Ok(vec![msg(std(0x7E8), VIN)]),
    );
    let extended = "18DAF110 10 14 49 02 01 31 44 34\r18DAF110 21 47 50 30 30 52 35 35\r18DAF110 22 42 31 32 33 34 35 36\r";
    check("0902", extended, true, Ok(vec![msg(ext(0x18DA_F110), VIN)]));
    // Two ECUs interleaved; padding in the last frame.
    let two =
        "7E8 10 0C 43 05 01 33 03 01\r7E9 04 43 01 07 00 00 00 00\r7E8 21 04 20 C1 00 11 23 AA\r";
    check(
        "03",
        two,
        true,
        Ok(vec![
            msg(std(0x7E9), "43 01 07 00"),
            msg(std(0x7E8), "43 05 01 33 03 01 04 20 C1 00 11 23"),
        ]),
    );
}

#[test]
fn multi_frame_without_headers() {
    let lines = "014\r0: 49 02 01 31 44 34\r1: 47 50 30 30 52 35 35\r2: 42 31 32 33 34 35 36\r";
    check("0902", lines, false, Ok(vec![msg(None, VIN)]));
    check(
        "0902",
        &lines.replace(' ', ""),
        false,
        Ok(vec![msg(None, VIN)]),
    );
    check(
        "0902",
        "0902\r014\r0:490201314434\r1:47503030523535\r2:42313233343536\r\r",
        false,
        Ok(vec![msg(None, VIN)]),
    );
    // Without the length line the frames run to the end of the reply.
    check(
        "0902",
        "0: 49 02 01 31 44 34\r1: 47 50 30 30 52 35 35\r",
        false,
        Ok(vec![msg(None, "49 02 01 31 44 34 47 50 30 30 52 35 35")]),
    );
}

#[test]
fn broken_answers_are_typed_errors() {
    check(
        "0902",
        "7E8 10 14 49 02 01 31 44 34\r7E8 22 42 31 32 33 34 35 36\r",
        true,
        Err("from 7E8 in reply to \"0902\" is broken: consecutive frame 2, expected 1"),
    );
    check(
        "0902",
        "7E8 10 14 49 02 01 31 44 34\r7E8 21 47 50 30 30 52 35 35\r",
        true,
        Err("13 of 20 bytes before the prompt"),
    );
    check(
        "0902",
        "7E8 21 47 50 30 30 52 35 35\r",
        true,
        Err("without a first frame"),
    );
    check(
        "0902",
        "7E8 10 14 49 02 01 31 44 34\r7E8 10 14 49 02 01 31 44 34\r",
        true,
        Err("new first frame"),
    );
    check(
        "0902",
        "014\r0: 49 02 01 31 44 34\r2: 42 31 32 33 34 35 36\r",
        false,
        Err("frame 2, expected 1"),
    );
    check(
        "0902",
        "014\r0: 49 02 01 31 44 34\r",
        false,
        Err("6 of 20 bytes"),
    );
    check(
        "0902",
        "1: 49 02 01 31 44 34\r",
        false,
        Err("frame 1 without frame 0"),
    );
    check("0902", "12: 49 02\r", false, Err("bad frame index"));
    check(
        "0100",
        "41 00 BE 3F A8 1\r",
        false,
        Err("not hex byte pairs"),
    );
    check("0100", "HELLO WORLD\r", false, Err("not hex byte pairs"));
    check("0100", "7E8\r", true, Err("too short"));
    check("0100", "7E8 G6 41 00\r", true, Err("data is not hex"));
    check("0100", "ZZZ 06 41 00\r", true, Err("header is not hex"));
    check("0100", "7E8 46 41 00\r", true, Err("not an ISO-TP frame"));
    check("0100", "NO DATA\r", true, Err("NO DATA"));
    check("0100", "CAN ERROR\r", false, Err("CAN ERROR"));
}

#[test]
fn decoder_splits_at_prompts() {
    let mut dec = Decoder::default();
    dec.push(b"ATZ\r\rELM327 v1.5\r\r>>OK\r>");
    assert_eq!(
        dec.next_reply(),
        Some(Ok(b"ATZ\r\rELM327 v1.5\r\r".to_vec()))
    );
    assert_eq!(dec.next_reply(), Some(Ok(Vec::new())));
    assert_eq!(dec.next_reply(), Some(Ok(b"OK\r".to_vec())));
    assert_eq!(dec.next_reply(), None);
    dec.push(&vec![b'4'; MAX_REPLY + 1]);
    assert!(matches!(
        dec.next_reply(),
        Some(Err(Elm327Error::TooLong { .. }))
    ));
    assert_eq!(dec.buffered(), 0);
}

#[test]
fn formats_requests() {
    assert_eq!(format_obd_request(&[0x01, 0x00], None), b"0100\r");
    assert_eq!(format_obd_request(&[0x09, 0x02], Some(1)), b"09021\r");
    assert_eq!(format_obd_request(&[0x03], Some(15)), b"03F\r");
    assert_eq!(format_obd_request(&[0x03], Some(16)), b"03\r");
    assert_eq!(format_obd_request(&[0x22, 0xF1, 0x90], None), b"22F190\r");
}
