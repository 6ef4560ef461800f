//! Identicons: a 5×5 mirrored pattern in one colour, both taken from keccak256 of a seed
//! (a device address, a DCN node), rendered as a PNG. Same seed, same picture.

use pitlane_shared::identity::keccak256;

/// Cells per side.
pub const GRID: usize = 5;
/// Pixels per cell.
pub const CELL: u32 = 40;
/// Blank border, pixels.
pub const MARGIN: u32 = 20;
/// Width and height of the image, pixels.
pub const SIZE: u32 = GRID as u32 * CELL + 2 * MARGIN;
/// The background colour.
pub const BACKGROUND: [u8; 3] = [240, 240, 240];

/// The pattern and colour derived from a seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identicon {
    /// `cells[row][column]`: filled or not; symmetric left to right.
    pub cells: [[bool; GRID]; GRID],
    pub color: [u8; 3],
}

impl Identicon {
    /// The identicon of `seed`.
    pub fn new(seed: &[u8]) -> Self {
        let hash = keccak256(seed);
        let mut cells = [[false; GRID]; GRID];
        for (row, cells_row) in cells.iter_mut().enumerate() {
            for column in 0..GRID.div_ceil(2) {
                let on = hash[row * 3 + column] & 1 == 1;
                cells_row[column] = on;
                cells_row[GRID - 1 - column] = on;
            }
        }
        // A saturated, mid-light colour: hue from the hash, so it never fades into the
        // background.
        let hue = u16::from_be_bytes([hash[28], hash[29]]) % 360;
        Identicon {
            cells,
            color: hsl_to_rgb(hue, 0.65, 0.5),
        }
    }

    /// The colour of pixel (`x`, `y`).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let inside = |v: u32| (MARGIN..SIZE - MARGIN).contains(&v);
        if !inside(x) || !inside(y) {
            return BACKGROUND;
        }
        let (column, row) = (
            ((x - MARGIN) / CELL) as usize,
            ((y - MARGIN) / CELL) as usize,
        );
        if self.cells[row][column] {
            self.color
        } else {
            BACKGROUND
        }
    }

    /// The image as an 8-bit RGB PNG of [`SIZE`]×[`SIZE`] pixels.
    pub fn to_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut pixels = Vec::with_capacity((SIZE * SIZE * 3) as usize);
        for y in 0..SIZE {
            for x in 0..SIZE {
                pixels.extend_from_slice(&self.pixel(x, y));
            }
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, SIZE, SIZE);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
        Ok(out)
    }
}

fn hsl_to_rgb(hue: u16, saturation: f32, lightness: f32) -> [u8; 3] {
    let c = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let h = f32::from(hue) / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match hue / 60 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = lightness - c / 2.0;
    // Each channel is within 0..=1 by construction, so the cast cannot overflow.
    let channel = |v: f32| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    [channel(r), channel(g), channel(b)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_mirrored_and_seed_dependent() {
        let a = Identicon::new(b"0xaaaa");
        let b = Identicon::new(b"0xbbbb");
        assert_ne!(a, b);
        assert_eq!(a, Identicon::new(b"0xaaaa"));
        for row in a.cells {
            for column in 0..GRID {
                assert_eq!(row[column], row[GRID - 1 - column]);
            }
        }
        assert_ne!(a.color, BACKGROUND);
    }

    #[test]
    fn colours_follow_the_hue_wheel() {
        assert_eq!(hsl_to_rgb(0, 1.0, 0.5), [255, 0, 0]);
        assert_eq!(hsl_to_rgb(120, 1.0, 0.5), [0, 255, 0]);
        assert_eq!(hsl_to_rgb(240, 1.0, 0.5), [0, 0, 255]);
    }

    #[test]
    fn png_decodes_to_the_pattern() {
        let icon = Identicon::new(b"seed");
        let bytes = icon.to_png().expect("encode");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("header");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("frame");
        assert_eq!((info.width, info.height), (SIZE, SIZE));
        for row in 0..GRID as u32 {
            for column in 0..GRID as u32 {
                let (x, y) = (
                    MARGIN + column * CELL + CELL / 2,
                    MARGIN + row * CELL + CELL / 2,
                );
                let at = ((y * SIZE + x) * 3) as usize;
                let want = if icon.cells[row as usize][column as usize] {
                    icon.color
                } else {
                    BACKGROUND
                };
                assert_eq!(buf[at..at + 3], want, "cell {row},{column}");
            }
        }
        assert_eq!(buf[..3], BACKGROUND, "margin");
    }
}
