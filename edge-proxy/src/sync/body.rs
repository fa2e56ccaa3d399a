//! What upstream sends, bounded, so a hostile or broken upstream cannot exhaust an
//! edge's memory: snapshot bodies (gzipped JSON, or JSON) before and after
//! decompression, and each event of the change stream.

use std::io::Read;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// A decompressed snapshot larger than this is refused rather than allowed to exhaust
/// memory.
const MAX_SNAPSHOT_BYTES: u64 = 1 << 30;

/// A snapshot body (as sent, usually gzipped) larger than this is refused.
pub const MAX_DOWNLOAD_BYTES: usize = 256 << 20;

/// One change-stream event larger than this ends the stream. Deltas carry single
/// entities; the largest are segments with long member lists.
pub const MAX_EVENT_BYTES: usize = 32 << 20;

/// Reads a whole body of at most `limit` bytes.
pub async fn read_limited<E>(
    body: impl Stream<Item = Result<Bytes, E>>,
    limit: usize,
) -> Result<Vec<u8>, String>
where
    E: std::fmt::Display,
{
    let mut body = std::pin::pin!(body);
    let mut read = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| format!("the download broke off: {e}"))?;
        if read.len() + chunk.len() > limit {
            return Err(format!("upstream sent more than {limit} bytes"));
        }
        read.extend_from_slice(&chunk);
    }
    Ok(read)
}

/// Passes an event stream's bytes through, failing once `limit` bytes come without an
/// event ending (a blank line), before the event parser would buffer them.
pub fn events_limited<E>(
    body: impl Stream<Item = Result<Bytes, E>>,
    limit: usize,
) -> impl Stream<Item = Result<Bytes, String>>
where
    E: std::fmt::Display,
{
    // Bytes since the last blank line, and the line-end bytes just before them (an
    // event end, "\n\n" or "\r\n\r\n", may straddle two chunks).
    let mut pending = 0usize;
    let mut tail: [u8; 3] = [0; 3];
    body.map(move |chunk| {
        let chunk = chunk.map_err(|e| e.to_string())?;
        for &byte in chunk.iter() {
            pending += 1;
            let ended = byte == b'\n' && (tail[2] == b'\n' || tail[1..] == *b"\n\r");
            tail = [tail[1], tail[2], byte];
            if ended {
                pending = 0;
            } else if pending > limit {
                return Err(format!("an event of more than {limit} bytes"));
            }
        }
        Ok(chunk)
    })
}

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
    use std::convert::Infallible;
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

    async fn through(chunks: &[&'static [u8]], limit: usize) -> Result<Vec<u8>, String> {
        let stream = futures_util::stream::iter(
            chunks
                .iter()
                .map(|c| Ok::<_, Infallible>(Bytes::from_static(c))),
        );
        let mut out = Vec::new();
        let mut limited = std::pin::pin!(events_limited(stream, limit));
        while let Some(chunk) = limited.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn events_pass_until_one_grows_past_the_limit() {
        let fine: &[&[u8]] = &[
            b"event: a\ndata: 1234",
            b"5\n",
            b"\nevent: b\r\ndata: 6789\r\n\r\n",
        ];
        assert_eq!(
            through(fine, 30).await.unwrap(),
            b"event: a\ndata: 12345\n\nevent: b\r\ndata: 6789\r\n\r\n"
        );
        // Many small events pass however long the stream; one long event does not.
        let many: Vec<&[u8]> = std::iter::repeat_n(&b": heartbeat\n\n"[..], 1000).collect();
        assert!(through(&many, 20).await.is_ok());
        let endless: Vec<&[u8]> = std::iter::repeat_n(&b"data: xxxxxxxx\n"[..], 10).collect();
        let error = through(&endless, 100).await.unwrap_err();
        assert!(error.contains("100 bytes"), "{error}");
    }

    #[tokio::test]
    async fn bodies_are_read_up_to_their_limit() {
        let body = || {
            futures_util::stream::iter(
                [b"abc", b"def"].map(|c| Ok::<_, Infallible>(Bytes::from_static(c))),
            )
        };
        assert_eq!(read_limited(body(), 6).await.unwrap(), b"abcdef");
        assert!(
            read_limited(body(), 5)
                .await
                .unwrap_err()
                .contains("5 bytes")
        );
    }
}
