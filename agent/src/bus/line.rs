//! A cancel-safe reader of delimited records (SLCAN lines, socketcand `< … >` tokens, ELM327
//! answers up to the `>` prompt) from any byte stream, with a bound on record length so a
//! line full of garbage cannot grow memory without end.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Why no record could be read.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("{transport}: read failed: {source}")]
    Io {
        transport: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{transport}: the adapter went away (end of stream)")]
    Closed { transport: &'static str },
    #[error(
        "{transport}: {len} bytes without a record delimiter (limit {limit}); first bytes {head:02X?}"
    )]
    TooLong {
        transport: &'static str,
        len: usize,
        limit: usize,
        head: Vec<u8>,
    },
}

/// Buffers bytes from `R` and hands out whole records.
///
/// Bytes stay in the buffer between calls, so dropping a `next_record` future (on a timeout)
/// loses nothing: the next call picks up where the last one stopped.
pub struct RecordReader<R> {
    inner: R,
    buf: Vec<u8>,
    limit: usize,
    transport: &'static str,
}

impl<R: AsyncRead + Unpin> RecordReader<R> {
    /// A reader that refuses records longer than `limit` bytes.
    pub fn new(inner: R, limit: usize, transport: &'static str) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(256),
            limit,
            transport,
        }
    }

    /// The next record, delimiter included; `end` returns the length of the record if `buf`
    /// starts with a complete one.
    pub async fn next_record(
        &mut self,
        mut end: impl FnMut(&[u8]) -> Option<usize>,
    ) -> Result<Vec<u8>, LineError> {
        loop {
            if let Some(n) = end(&self.buf) {
                let n = n.min(self.buf.len());
                return Ok(self.buf.drain(..n).collect());
            }
            if self.buf.len() > self.limit {
                let head = self.buf.iter().take(16).copied().collect();
                let len = self.buf.len();
                self.buf.clear();
                return Err(LineError::TooLong {
                    transport: self.transport,
                    len,
                    limit: self.limit,
                    head,
                });
            }
            let mut chunk = [0u8; 512];
            let n = self
                .inner
                .read(&mut chunk)
                .await
                .map_err(|source| LineError::Io {
                    transport: self.transport,
                    source,
                })?;
            if n == 0 {
                return Err(LineError::Closed {
                    transport: self.transport,
                });
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Drops every buffered byte (after a reset, to resynchronise).
    pub fn discard_buffered(&mut self) {
        self.buf.clear();
    }

    /// The underlying stream, for writing.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

/// Record end for "up to and including the first byte in `delims`".
pub fn until_any(delims: &'static [u8]) -> impl FnMut(&[u8]) -> Option<usize> {
    move |buf| buf.iter().position(|b| delims.contains(b)).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_split_across_reads_and_survive_cancellation() {
        let (mut tx, rx) = tokio::io::duplex(64);
        let mut r = RecordReader::new(rx, 64, "test");
        use tokio::io::AsyncWriteExt;
        tx.write_all(b"t7E8").await.unwrap();
        // A timed-out read must not lose the partial line.
        let timed_out = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            r.next_record(until_any(b"\r\x07")),
        )
        .await;
        assert!(timed_out.is_err());
        tx.write_all(b"1AA\r\x07z\r").await.unwrap();
        assert_eq!(
            r.next_record(until_any(b"\r\x07")).await.unwrap(),
            b"t7E81AA\r"
        );
        assert_eq!(r.next_record(until_any(b"\r\x07")).await.unwrap(), b"\x07");
        assert_eq!(r.next_record(until_any(b"\r\x07")).await.unwrap(), b"z\r");
        drop(tx);
        assert!(matches!(
            r.next_record(until_any(b"\r")).await,
            Err(LineError::Closed { .. })
        ));
    }

    #[tokio::test]
    async fn endless_garbage_is_cut_off() {
        let (mut tx, rx) = tokio::io::duplex(4096);
        let mut r = RecordReader::new(rx, 32, "test");
        use tokio::io::AsyncWriteExt;
        tx.write_all(&[0x55; 100]).await.unwrap();
        let err = r.next_record(until_any(b"\r")).await.unwrap_err();
        assert!(matches!(err, LineError::TooLong { limit: 32, .. }), "{err}");
    }
}
