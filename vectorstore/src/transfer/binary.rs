//! The compact binary encoding of entries.
//!
//! After the magic `DNVSTORE` and a little-endian `u32` version (2) come frames:
//!
//! | frame | layout |
//! |---|---|
//! | kind | `b'K'`, `u8` kind length, kind bytes, `u32` dim, `u8` metric (0 l2, 1 cosine, 2 dot) |
//! | record | `b'R'`, `u8` kind length, kind bytes, `u16` id length, id bytes, `u32` extractor version, `u64` written at (ms since the Unix epoch), `u32` dim, `dim` × `f32` |
//! | end | `b'E'`, `u64` number of records |
//!
//! Version 1, which this build still reads, had no write time in record frames (its records are
//! imported as written at the import). All integers and floats are little-endian. The end frame makes a truncated file an error
//! instead of a silent partial import. Lengths are checked against the contract's limits before
//! anything is allocated, so a hostile file cannot make the reader allocate without bound.

use std::io::{BufRead, Write};

use vectorstore_core::limits::{MAX_DIM, MAX_ID_BYTES};
use vectorstore_core::validate::shown;
use vectorstore_core::{Error, ErrorKind, KindInfo, Metric, NewVector, Result, VectorRecord};

use super::entry::{Decoder, Encoder, Entry, io_error};

/// The first bytes of a binary export.
pub const MAGIC: &[u8; 8] = b"DNVSTORE";
/// The binary format's version (written); version 1 (no write times) is still read.
pub const VERSION: u32 = 2;

fn metric_code(metric: Metric) -> u8 {
    match metric {
        Metric::L2 => 0,
        Metric::Cosine => 1,
        Metric::Dot => 2,
    }
}

pub(crate) struct BinaryEncoder<'w> {
    out: &'w mut dyn Write,
    records: u64,
    buffer: Vec<u8>,
}

impl<'w> BinaryEncoder<'w> {
    pub(crate) fn new(out: &'w mut dyn Write) -> Result<Self> {
        out.write_all(MAGIC).map_err(io_error)?;
        out.write_all(&VERSION.to_le_bytes()).map_err(io_error)?;
        Ok(BinaryEncoder { out, records: 0, buffer: Vec::new() })
    }
}

/// A length as its frame field `T`; one that does not fit is a `LimitExceeded` error naming
/// the field and the value it belongs to (escaped and shortened).
fn field_len<T: TryFrom<usize>>(field: &str, owner: &str, len: usize) -> Result<T> {
    T::try_from(len).map_err(|_| {
        Error::new(
            ErrorKind::LimitExceeded,
            format!("{field} of {len} for {:?} does not fit the binary format's length field", shown(owner)),
        )
    })
}

impl Encoder for BinaryEncoder<'_> {
    fn kind(&mut self, info: &KindInfo) -> Result<()> {
        self.buffer.clear();
        self.buffer.push(b'K');
        self.buffer.push(field_len::<u8>("kind", &info.kind, info.kind.len())?);
        self.buffer.extend_from_slice(info.kind.as_bytes());
        self.buffer.extend_from_slice(&field_len::<u32>("dimension", &info.kind, info.dim)?.to_le_bytes());
        self.buffer.push(metric_code(info.metric));
        self.out.write_all(&self.buffer).map_err(io_error)
    }

    fn record(&mut self, record: &VectorRecord) -> Result<()> {
        // Kinds are at most 48 bytes and ids at most 512 when validated on the way in; a store
        // (or a server) that hands back more must not misframe the file.
        self.buffer.clear();
        self.buffer.push(b'R');
        self.buffer.push(field_len::<u8>("kind", &record.kind, record.kind.len())?);
        self.buffer.extend_from_slice(record.kind.as_bytes());
        self.buffer.extend_from_slice(&field_len::<u16>("id", &record.id, record.id.len())?.to_le_bytes());
        self.buffer.extend_from_slice(record.id.as_bytes());
        self.buffer.extend_from_slice(&record.extractor_version.to_le_bytes());
        self.buffer.extend_from_slice(&record.written_at_ms.to_le_bytes());
        let dim = field_len::<u32>("vector", &record.id, record.vector.len())?;
        self.buffer.extend_from_slice(&dim.to_le_bytes());
        for value in &record.vector {
            self.buffer.extend_from_slice(&value.to_le_bytes());
        }
        self.records += 1;
        self.out.write_all(&self.buffer).map_err(io_error)
    }

    fn finish(&mut self) -> Result<()> {
        self.out.write_all(b"E").map_err(io_error)?;
        self.out.write_all(&self.records.to_le_bytes()).map_err(io_error)?;
        self.out.flush().map_err(io_error)
    }
}

pub(crate) struct BinaryDecoder<'r> {
    input: &'r mut dyn BufRead,
    offset: u64,
    frame_start: u64,
    frames: u64,
    records: u64,
    ended: bool,
    /// The file's format version (1 or 2).
    version: u32,
}

fn corrupt(message: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

impl<'r> BinaryDecoder<'r> {
    pub(crate) fn new(input: &'r mut dyn BufRead) -> Result<Self> {
        let mut decoder =
            BinaryDecoder { input, offset: 0, frame_start: 0, frames: 0, records: 0, ended: false, version: VERSION };
        let mut magic = [0u8; 8];
        decoder.read_exact(&mut magic).map_err(|_| corrupt("not a binary vector-store export (too short)".into()))?;
        if &magic != MAGIC {
            return Err(corrupt("not a binary vector-store export (wrong magic)".into()));
        }
        let version = decoder.u32()?;
        if !(1..=VERSION).contains(&version) {
            return Err(Error::new(
                ErrorKind::IncompatibleSchema,
                format!("binary export version {version}; this build reads versions 1 to {VERSION}"),
            ));
        }
        decoder.version = version;
        Ok(decoder)
    }

    fn read_exact(&mut self, buffer: &mut [u8]) -> Result<()> {
        self.input.read_exact(buffer).map_err(|err| match err.kind() {
            std::io::ErrorKind::UnexpectedEof => corrupt("the file ends inside a frame (truncated)".into()),
            _ => io_error(err),
        })?;
        self.offset += buffer.len() as u64;
        Ok(())
    }

    fn u8(&mut self) -> Result<u8> {
        let mut b = [0u8; 1];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    fn u16(&mut self) -> Result<u16> {
        let mut b = [0u8; 2];
        self.read_exact(&mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn text(&mut self, len: usize, what: &str) -> Result<String> {
        let mut bytes = vec![0u8; len];
        self.read_exact(&mut bytes)?;
        String::from_utf8(bytes).map_err(|_| corrupt(format!("the {what} is not UTF-8")))
    }

    fn frame(&mut self) -> Result<Option<Entry>> {
        let mut tag = [0u8; 1];
        let read = self.input.read(&mut tag).map_err(io_error)?;
        if read == 0 {
            return Err(corrupt("the file ends without its end frame (truncated)".into()));
        }
        self.offset += 1;
        match tag[0] {
            b'K' => {
                let len = self.u8()? as usize;
                let kind = self.text(len, "kind")?;
                let dim = self.u32()? as usize;
                let metric = match self.u8()? {
                    0 => Metric::L2,
                    1 => Metric::Cosine,
                    2 => Metric::Dot,
                    other => return Err(corrupt(format!("unknown metric code {other}"))),
                };
                Ok(Some(Entry::Kind { kind, dim, metric }))
            }
            b'R' => {
                let len = self.u8()? as usize;
                let kind = self.text(len, "kind")?;
                let id_len = self.u16()? as usize;
                if id_len > MAX_ID_BYTES {
                    return Err(Error::new(
                        ErrorKind::InvalidId,
                        format!("id of {id_len} bytes, the limit is {MAX_ID_BYTES}"),
                    ));
                }
                let id = self.text(id_len, "id")?;
                let extractor_version = self.u32()?;
                let written_at_ms = if self.version >= 2 { Some(self.u64()?) } else { None };
                let dim = self.u32()? as usize;
                if dim > MAX_DIM {
                    return Err(Error::new(
                        ErrorKind::InvalidVector,
                        format!("vector of {dim} components, the limit is {MAX_DIM}"),
                    ));
                }
                let mut raw = vec![0u8; dim * 4];
                self.read_exact(&mut raw)?;
                let vector = raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                self.records += 1;
                Ok(Some(Entry::Record { kind, item: NewVector { id, vector, extractor_version, written_at_ms } }))
            }
            b'E' => {
                let declared = self.u64()?;
                if declared != self.records {
                    return Err(corrupt(format!(
                        "the end frame counts {declared} records, the file holds {}",
                        self.records
                    )));
                }
                self.ended = true;
                Ok(None)
            }
            other => Err(corrupt(format!("unknown frame tag 0x{other:02x}"))),
        }
    }
}

impl Decoder for BinaryDecoder<'_> {
    fn next_entry(&mut self) -> Option<Result<Entry>> {
        if self.ended {
            return None;
        }
        self.frame_start = self.offset;
        self.frames += 1;
        self.frame().transpose()
    }

    fn location(&self) -> String {
        format!("frame {} at byte {}", self.frames, self.frame_start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &str, id: &str) -> VectorRecord {
        VectorRecord {
            kind: kind.to_owned(),
            id: id.to_owned(),
            vector: vec![1.0],
            dim: 1,
            extractor_version: 1,
            written_at_ms: 0,
        }
    }

    /// A record longer than its frame's length fields (a store or a server handing back what
    /// the contract would refuse) is refused, never written misframed.
    #[test]
    fn lengths_that_overflow_their_field_are_refused() {
        let mut out = Vec::new();
        let mut encoder = BinaryEncoder::new(&mut out).unwrap();
        encoder.record(&record("ja3", "fine")).expect("a normal record");
        for bad in [record("ja3", &"x".repeat(70_000)), record(&"k".repeat(300), "a")] {
            let err = encoder.record(&bad).expect_err("too long for its field");
            assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
        }
    }
}
