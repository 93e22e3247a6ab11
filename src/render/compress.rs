//! Precompression: every rendered body is compressed once, when it is
//! rendered, so serving a gzip or brotli response is a lookup, never work
//! per request.

use std::io::Write;

/// brotli quality: 9 is within a few percent of 11 on feeds at a fraction of
/// the time, and rendering happens on every topic change.
const BROTLI_QUALITY: u32 = 9;
const BROTLI_WINDOW: u32 = 22;

/// Bodies below this size are not worth a compressed copy.
pub const MIN_COMPRESS: usize = 256;

pub fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::best(),
    );
    enc.write_all(body).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

pub fn brotli(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() / 3);
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, BROTLI_WINDOW);
        w.write_all(body).expect("writing to a Vec cannot fail");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn round_trips() {
        let body = "<rss>".repeat(1000);
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gzip(body.as_bytes())[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, body);
        let mut back = String::new();
        brotli::Decompressor::new(&brotli(body.as_bytes())[..], 4096)
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, body);
    }
}
