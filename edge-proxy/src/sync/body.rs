//! Snapshot bodies as upstream sends them: gzipped JSON, or JSON. Decompression is
//! bounded, so a hostile or broken upstream cannot exhaust memory.

use std::io::Read;

/// A decompressed snapshot larger than this is refused rather than allowed to exhaust
/// memory.
const MAX_SNAPSHOT_BYTES: u64 = 1 << 30;

/// gzip streams start with these two bytes; JSON never does.
fn is_gzip(body: &[u8]) -> bool {
    body.starts_with(&[0x1f, 0x8b])
}

/// The JSON of a body, gzipped or not.
pub fn decompress(body: &[u8]) -> Result<Vec<u8>, String> {
    if !is_gzip(body) {
        return Ok(body.to_vec());
    }
    // The trailer's last four bytes hold the size modulo 2^32: a hint, trusted only up
    // to a plausible compression ratio for JSON; past that the buffer grows as usual.
    let hint = body
        .last_chunk::<4>()
        .map_or(0, |size| u64::from(u32::from_le_bytes(*size)));
    let plausible = (body.len() as u64)
        .saturating_mul(64)
        .min(MAX_SNAPSHOT_BYTES);
    let mut json = Vec::with_capacity(hint.min(plausible) as usize);
    flate2::read::GzDecoder::new(body)
        .take(MAX_SNAPSHOT_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("malformed gzip body: {e}"))?;
    if json.len() as u64 > MAX_SNAPSHOT_BYTES {
        return Err(format!(
            "the snapshot exceeds {MAX_SNAPSHOT_BYTES} bytes decompressed"
        ));
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzipped(body: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(body).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_and_plain_bodies_give_the_same_json() {
        let json = br#"{"project": "shop"}"#;
        assert_eq!(decompress(json).unwrap(), json);
        assert_eq!(decompress(&gzipped(json)).unwrap(), json);
    }

    #[test]
    fn a_corrupt_or_lying_gzip_body_is_refused() {
        let mut corrupt = gzipped(&[b'x'; 4096]);
        corrupt.truncate(corrupt.len() / 2);
        let error = decompress(&corrupt).unwrap_err();
        assert!(error.contains("gzip"), "{error}");

        // A lying size trailer is caught by the gzip checks, and sized no buffer.
        let mut lying = gzipped(b"{}");
        let end = lying.len();
        lying[end - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decompress(&lying).is_err());
    }
}
